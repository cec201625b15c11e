/** `waymark start --rate-limit KEY=LIMIT/PERIOD --rate-burst N --rate-unit UNIT` becomes the spec's rateLimit. */
import { Command } from 'commander';
import { addStartCommand, specFromFlags, type StartFlags } from '../../src/cli/commands/start';
import { parseBatchSpec } from '../../src/contract/batch-spec';

/** The flags as commander parses them for `waymark start ARGS`, without running the command. */
function parsedFlags(args: string[]): StartFlags {
  const program = new Command('waymark').exitOverride();
  addStartCommand(program);
  const start = program.commands.find((c) => c.name() === 'start')!;
  start.action(() => {});
  program.parse(['node', 'waymark', 'start', ...args]);
  return start.opts<StartFlags>();
}

describe('waymark start --rate-limit', () => {
  it('puts the key, the limit per period and the burst into the spec', () => {
    const flags = parsedFlags(['items.jsonl', '--processor', 'http', '--rate-limit', 'openai=60/minute', '--rate-burst', '5']);
    const spec = parseBatchSpec(specFromFlags('items.jsonl', flags, []));
    expect(spec.rateLimit).toEqual({ key: 'openai', limit: 60, per: 'minute', burst: 5, unit: 'items' });
  });

  it('counts a usage unit with --rate-unit, and refuses --rate-unit without --rate-limit', () => {
    const flags = parsedFlags(['items.jsonl', '--processor', 'http', '--rate-limit', 'openai=90000/minute', '--rate-unit', 'tokens']);
    expect(parseBatchSpec(specFromFlags('items.jsonl', flags, [])).rateLimit).toEqual({
      key: 'openai',
      limit: 90000,
      per: 'minute',
      burst: 0,
      unit: 'tokens',
    });
    expect(() => specFromFlags('items.jsonl', parsedFlags(['items.jsonl', '--processor', 'http', '--rate-unit', 'tokens']), [])).toThrow(
      '--rate-unit belongs to a rate limit; add --rate-limit KEY=LIMIT/PERIOD (e.g. openai=60/minute), or drop it',
    );
  });

  it('leaves the burst at 0 when not given, and the spec without a rate limit when neither is', () => {
    const paced = parseBatchSpec(
      specFromFlags('items.jsonl', parsedFlags(['items.jsonl', '--processor', 'noop', '--rate-limit', 'geo=3/second']), []),
    );
    expect(paced.rateLimit).toEqual({ key: 'geo', limit: 3, per: 'second', burst: 0, unit: 'items' });
    const free = parseBatchSpec(specFromFlags('items.jsonl', parsedFlags(['items.jsonl', '--processor', 'noop']), []));
    expect('rateLimit' in free).toBe(false);
  });
});

/**
 * Usage through ItemRunner: what a processor reports with ctx.reportUsage goes with the item's
 * outcome, summed over its reports and its attempts; a bad report is a warning, never a lost item.
 */
import { ItemRunner } from '../../src/activities/run-item';
import { parseBatchSpec } from '../../src/contract/batch-spec';
import { defineBatchProcessor, defineProcessor, type ItemLogger, type Processor } from '../../src/processors/processor';

function runnerFor(processor: Processor, log: ItemLogger = { info() {}, warn() {}, error() {} }, itemAttempts = 3): ItemRunner {
  const spec = parseBatchSpec({
    source: { kind: 'jsonl', path: '/unused.jsonl' },
    processor: { name: 'noop' },
    itemAttempts,
    itemBackoffMs: 1,
  });
  return new ItemRunner({ batchId: 'b', spec, processor, log, sliceSignal: new AbortController().signal });
}

describe('usage through ItemRunner', () => {
  it('sums the reports of every attempt, a failed one included, into the outcome', async () => {
    const processor = defineProcessor(async (_item, ctx) => {
      ctx.reportUsage({ tokens: 10, costUsd: 0.01 });
      ctx.reportUsage({ tokens: 5 });
      if (ctx.attempt === 1) throw new Error('flaky');
      return 'ok';
    });
    const runner = runnerFor(processor);
    const run = await runner.run({ index: 7, value: 'x' });
    runner.close();
    expect(run).toMatchObject({ kind: 'outcome', outcome: { status: 'succeeded', attempts: 2, usage: { tokens: 30, costUsd: 0.02 } } });
  });

  it('keeps the usage of an item that fails for good, and leaves it off one that reported none', async () => {
    const runner = runnerFor(
      defineProcessor(async (item, ctx) => {
        if (item === 'spends') ctx.reportUsage({ requests: 1 });
        throw new Error('down');
      }),
      undefined,
      2,
    );
    const spent = await runner.run({ index: 0, value: 'spends' });
    const none = await runner.run({ index: 1, value: 'quiet' });
    runner.close();
    expect(spent).toMatchObject({ kind: 'outcome', outcome: { status: 'failed', usage: { requests: 2 } } });
    expect(none.kind === 'outcome' && 'usage' in none.outcome).toBe(false);
  });

  it.each([
    [{ tokens: -1 }, /usage "tokens" must be a finite number, 0 or more, got -1/],
    [{ tokens: '12' }, /usage "tokens" must be a finite number, 0 or more, got "12"/],
    [{ 'total tokens': 3 }, /usage unit "total tokens" is not a unit name/],
    [[1, 2], /usage must be an object of numbers by unit name/],
  ])('a bad report %j is a warning that says what is wrong; the item still succeeds', async (bad, message) => {
    const warnings: string[] = [];
    const runner = runnerFor(
      defineProcessor(async (_item, ctx) => {
        ctx.reportUsage(bad as unknown as Record<string, number>);
        ctx.reportUsage({ tokens: 2 });
        return 'ok';
      }),
      { info() {}, error() {}, warn: (m) => void warnings.push(m) },
    );
    const run = await runner.run({ index: 3, value: 'x' });
    runner.close();
    expect(run).toMatchObject({ kind: 'outcome', outcome: { status: 'succeeded', usage: { tokens: 2 } } });
    expect(warnings).toEqual([expect.stringMatching(message)]);
    expect(warnings[0]).toMatch(/^item 3: /);
  });

  it('a call of many items gives each item the usage of its own outcome', async () => {
    const processor = defineBatchProcessor(async (items) => items.map((c) => ({ result: c.index, usage: { tokens: c.index + 1 } })));
    const runner = runnerFor(processor);
    const call = await runner.runCall([
      { index: 0, value: 'a' },
      { index: 1, value: 'b' },
    ]);
    runner.close();
    expect(call.outcomes.map((o) => o.usage)).toEqual([{ tokens: 1 }, { tokens: 2 }]);
  });
});

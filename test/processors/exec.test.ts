import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXEC_STDERR_TAIL_BYTES, EXEC_STDOUT_CAP_BYTES, execProcessor } from '../../src/processors/exec';
import { RetryableItemError } from '../../src/processors/errors';
import {
  NonRetryableItemError,
  ProcessorCannotStartError,
  ProcessorOptionsError,
  QuotaExhaustedError,
  type ProcessorContext,
} from '../../src/processors/processor';
import { abortAfter, abortedSignal, makeContext } from './context';
import { rejectionOf } from '../helpers/rejection';

function run(item: unknown, options: Record<string, unknown>, ctx: Partial<ProcessorContext> = {}): Promise<string> {
  return execProcessor.process(item, makeContext({ options, ...ctx }));
}

/** Runs a /bin/sh script as the command; item data never reaches that shell's parser. */
const sh = (script: string) => ['sh', '-c', script, 'sh'];

const failure = (promise: Promise<unknown>) => rejectionOf(promise, 'the processor to fail');

function rejectionOfSync(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the check to throw');
}

describe('exec', () => {
  let dir: string;
  let marker: string;
  let victim: string;
  /** Shell syntax that, if any shell parsed it, would create `marker` and delete `victim`. */
  let hostile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'waymark-exec-'));
    marker = join(dir, 'pwned');
    victim = join(dir, 'victim');
    mkdirSync(victim);
    hostile = `$(touch ${marker}); rm -rf ${victim}; \`touch ${marker}\` | touch ${marker} && touch ${marker} > ${marker} "'`;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(victim)).toBe(true);
  });

  describe('input', () => {
    it("writes the item's JSON text and a newline to stdin by default", async () => {
      const item = { text: hostile, n: 1 };
      await expect(run(item, { command: ['cat'] })).resolves.toBe(JSON.stringify(item));
      await expect(run(item, { command: sh('read -r line; printf "%s|" "$line"') })).resolves.toBe(`${JSON.stringify(item)}|`);
    });

    it('sends a string item as JSON too, so stdin always parses the same way', async () => {
      await expect(run(`two\nlines ${hostile}`, { command: ['cat'] })).resolves.toBe(JSON.stringify(`two\nlines ${hostile}`));
    });

    it("with input 'arg', appends a string item as is as the last argument", async () => {
      await expect(run(hostile, { command: sh('printf "%s" "$1"'), input: 'arg' })).resolves.toBe(hostile);
    });

    it("with input 'arg', appends any other item as its JSON text, with an empty stdin", async () => {
      const item = { text: hostile };
      await expect(run(item, { command: sh('printf "%s" "$1"; cat'), input: 'arg' })).resolves.toBe(JSON.stringify(item));
    });

    it('refuses an item with a NUL character as an argument, for good', async () => {
      const err = await failure(run('a\0b', { command: ['echo'], input: 'arg' }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'exec-bad-argument' });
    });

    it('refuses an item too large for an argument, for good, pointing to stdin', async () => {
      const err = await failure(run('x'.repeat(512 * 1024), { command: ['echo'], input: 'arg' }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'exec-argument-too-long' });
      expect(err.message).toContain('"input": "stdin"');
    });

    it('succeeds when the program exits without reading a large stdin', async () => {
      await expect(run({ blob: 'x'.repeat(4 * 1024 * 1024) }, { command: ['true'] })).resolves.toBe('');
    });

    it('passes the item identity in the environment', async () => {
      const ctx = { batchId: 'b-7', index: 12, attempt: 2, idempotencyKey: 'b-7:12', file: '/data/in/12.txt' };
      const script =
        'printf "%s %s %s %s %s" "$WAYMARK_BATCH_ID" "$WAYMARK_ITEM_INDEX" "$WAYMARK_ATTEMPT" "$WAYMARK_IDEMPOTENCY_KEY" "$WAYMARK_ITEM_FILE"';
      await expect(run({}, { command: sh(script) }, ctx)).resolves.toBe('b-7 12 2 b-7:12 /data/in/12.txt');
    });
  });

  describe('outcome by exit status', () => {
    it('0: the result is stdout, trimmed', async () => {
      await expect(run(1, { command: sh('echo; echo "  scored 0.93  "; echo') })).resolves.toBe('scored 0.93');
    });

    it('0: stdout over 64 KiB is a non-retryable exec-output-too-large failure, never a result cut short', async () => {
      // Also shows the program is not blocked on a full pipe: it writes all of its output and exits.
      const err = await failure(run(1, { command: sh('head -c 1000000 /dev/zero | tr "\\000" a; echo done >&2') }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'exec-output-too-large' });
      expect(err.message).toContain('wrote 1000000 bytes to stdout');
      expect(err.message).toContain(`over the ${EXEC_STDOUT_CAP_BYTES}-byte (64 KiB) cap`);
      expect(err.message).toContain('Write large results to a file and print its path');
    });

    it('0: one byte over the cap is already too large', async () => {
      const err = await failure(run(1, { command: sh(`head -c ${EXEC_STDOUT_CAP_BYTES + 1} /dev/zero | tr "\\000" a`) }));
      expect(err).toMatchObject({ type: 'exec-output-too-large' });
      expect(err.message).toContain(`wrote ${EXEC_STDOUT_CAP_BYTES + 1} bytes`);
    });

    it('0: exactly 64 KiB is kept whole, multi-byte characters and trailing newlines included', async () => {
      // One ASCII byte, then 2-byte "é" up to the cap; trailing whitespace past the cap is trimmed anyway.
      const script = `printf a; i=1; while [ $i -lt ${EXEC_STDOUT_CAP_BYTES / 2} ]; do printf 'é'; i=$((i+1)); done; printf 'b\n\n'`;
      const result = await run(1, { command: sh(script) });
      expect(Buffer.byteLength(result)).toBe(EXEC_STDOUT_CAP_BYTES);
      expect(result).toBe(`a${'é'.repeat(EXEC_STDOUT_CAP_BYTES / 2 - 1)}b`);
    });

    it('65 (EX_DATAERR): a NonRetryableItemError of type exec-data-error, with stderr', async () => {
      const err = await failure(run({ id: 1 }, { command: sh('echo "field id must be a string" >&2; exit 65') }));
      expect(err).toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'exec-data-error' });
      expect(err.message).toContain('exit status 65');
      expect(err.message).toContain('field id must be a string');
    });

    it('75 (EX_TEMPFAIL): a retryable error of type exec-tempfail', async () => {
      const err = await failure(run(1, { command: sh('echo "upstream busy" >&2; exit 75') }));
      expect(err).toBeInstanceOf(RetryableItemError);
      expect(err).not.toBeInstanceOf(NonRetryableItemError);
      expect(err).toMatchObject({ type: 'exec-tempfail' });
      expect(err.message).toMatch(/^exec-tempfail: /);
      expect(err.message).toContain('upstream busy');
    });

    it('75 with retry-after=SECONDS as the last stderr line: a quota wait of that long', async () => {
      const err = await failure(run(1, { command: sh('echo "rate limited" >&2; echo "retry-after=7" >&2; echo >&2; exit 75') }));
      expect(err).toBeInstanceOf(QuotaExhaustedError);
      expect((err as QuotaExhaustedError).retryAfterMs).toBe(7000);
      // The cause status gives a cut of adaptive lanes.
      expect((err as QuotaExhaustedError).signal).toBe('exit 75');
    });

    it('75 with retry-after on an earlier line only: still a plain temporary failure', async () => {
      const err = await failure(run(1, { command: sh('echo "retry-after=7" >&2; echo "then crashed" >&2; exit 75') }));
      expect(err).toMatchObject({ type: 'exec-tempfail' });
    });

    it('75 with retry-after on stdout: not a quota wait, only stderr counts', async () => {
      const err = await failure(run(1, { command: sh('echo "retry-after=7"; exit 75') }));
      expect(err).toMatchObject({ type: 'exec-tempfail' });
    });

    it('any other status: a retryable error naming the status and keeping the stderr tail', async () => {
      const script = 'i=0; while [ $i -lt 2000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "Traceback: KeyError" >&2; exit 3';
      const err = await failure(run(1, { command: sh(script) }));
      expect(err).toBeInstanceOf(RetryableItemError);
      expect(err).toMatchObject({ type: 'exec-exit-status' });
      expect(err.message).toContain('exited with status 3');
      expect(err.message).toContain('Traceback: KeyError');
      expect(err.message).not.toContain('noise line 0\n');
      expect(err.message.length).toBeLessThan(EXEC_STDERR_TAIL_BYTES + 500);
    });

    it('killed by a signal: a retryable error naming the signal', async () => {
      const err = await failure(run(1, { command: sh('kill -TERM $$') }));
      expect(err).toMatchObject({ type: 'exec-signal' });
      expect(err.message).toContain('SIGTERM');
    });

    it('a program that does not exist: ProcessorCannotStartError naming it and what to do, not an item failure', async () => {
      const err = await failure(run(1, { command: ['/nonexistent/waymark-tool'] }));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err).not.toBeInstanceOf(RetryableItemError);
      expect(err.message).toContain('processor "exec" cannot start "/nonexistent/waymark-tool"');
      expect(err.message).toContain('/nonexistent/waymark-tool does not exist (ENOENT)');
      expect(err.message).toContain('Fix command[0] in processor.options');
    });

    it('a name not on PATH: ProcessorCannotStartError saying so', async () => {
      const err = await failure(run(1, { command: ['waymark-no-such-tool-x7'] }));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err.message).toContain('there is no "waymark-no-such-tool-x7" on the worker\'s PATH (ENOENT');
    });

    it('a file that is not executable: ProcessorCannotStartError saying chmod +x', async () => {
      const script = join(dir, 'not-executable.sh');
      writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
      const err = await failure(run(1, { command: [script] }));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err.message).toContain(`${script} is not executable (EACCES); make it executable with chmod +x ${script}`);
    });
  });

  describe('usage', () => {
    it('reports the last usage= line of stderr, whatever the exit status', async () => {
      const reports: unknown[] = [];
      const reportUsage = (usage: unknown) => void reports.push(usage);
      const ok = sh('echo \'usage={"tokens":1}\' >&2; echo \'usage={"tokens":12,"costUsd":0.5}\' >&2; echo "done" >&2; echo out');
      await expect(run(1, { command: ok }, { reportUsage })).resolves.toBe('out');
      await failure(run(1, { command: sh('echo \'usage={"tokens":4}\' >&2; exit 1') }, { reportUsage }));
      expect(reports).toEqual([{ tokens: 12, costUsd: 0.5 }, { tokens: 4 }]);
    });

    it('a usage line that is not JSON is a warning naming the line; the item still succeeds', async () => {
      const warnings: string[] = [];
      const log = { info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
      const reportUsage = jest.fn();
      await expect(run(1, { command: sh('echo "usage=tokens:12" >&2; echo out') }, { reportUsage, log })).resolves.toBe('out');
      expect(reportUsage).not.toHaveBeenCalled();
      expect(warnings).toEqual([expect.stringMatching(/usage line that is not JSON, left out: usage=tokens:12/)]);
    });
  });

  describe('stopping', () => {
    it('kills a program that runs past timeoutMs and counts a failed attempt', async () => {
      const started = Date.now();
      const err = await failure(run(1, { command: sh('echo working >&2; exec sleep 30'), timeoutMs: 200 }));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toBeInstanceOf(RetryableItemError);
      expect(err).toMatchObject({ type: 'exec-timeout' });
      expect(err.message).toContain('timeoutMs (200 ms)');
      expect(err.message).toContain('working');
    });

    it('times out even when a grandchild keeps the output pipes open', async () => {
      const started = Date.now();
      const err = await failure(run(1, { command: sh('sleep 30 & wait'), timeoutMs: 200 }));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toMatchObject({ type: 'exec-timeout' });
    });

    it('kills the program and rejects with the reason when the signal aborts', async () => {
      const reason = new Error('slice cancelled');
      const started = Date.now();
      await expect(run(1, { command: ['sleep', '30'] }, { signal: abortAfter(100, reason) })).rejects.toBe(reason);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('does not start the program when the signal is already aborted', async () => {
      const reason = new Error('timed out');
      await expect(run(1, { command: ['touch', marker] }, { signal: abortedSignal(reason) })).rejects.toBe(reason);
    });
  });

  describe('validateOptions', () => {
    const validate = (options: Record<string, unknown>) => () => execProcessor.validateOptions?.(options);

    it('accepts good options', () => {
      expect(validate({ command: ['python3', 'score.py'] })).not.toThrow();
      expect(validate({ command: ['wc'], input: 'arg', timeoutMs: 1 })).not.toThrow();
    });

    it.each([
      [{}, 'option "command" must be a non-empty array of strings', 'got nothing'],
      [{ command: [] }, 'option "command" must be a non-empty array of strings', 'got []'],
      [{ command: ['wc', 3] }, 'option "command" must be a non-empty array of strings', 'got ["wc",3]'],
      [{ command: 'python3 score.py' }, 'option "command" must be an array', 'split it yourself'],
      [{ command: [''] }, 'option "command" starts with an empty string', 'must name the program'],
      [{ command: ['a\0b'] }, 'option "command" element 0 contains a NUL', 'remove it'],
      [{ command: ['wc'], input: 'file' }, 'option "input" must be "stdin"', 'got "file"'],
      [{ command: ['wc'], timeoutMs: 0 }, 'option "timeoutMs" must be a whole number of milliseconds, at least 1', 'got 0'],
      [{ command: ['wc'], timeoutMs: 2.5 }, 'option "timeoutMs"', 'got 2.5'],
      [{ command: ['wc'], timeout: 100 }, 'has no option "timeout"', 'known options: command, input, timeoutMs'],
    ])('refuses %j naming the option', (options, problem, detail) => {
      expect(validate(options)).toThrow(ProcessorOptionsError);
      expect(validate(options)).toThrow(problem);
      expect(validate(options)).toThrow(detail);
    });

    it('refuses bad options in process too, before starting anything', async () => {
      await expect(run(1, { command: ['touch', marker], input: 'file' })).rejects.toThrow(ProcessorOptionsError);
    });
  });

  describe('checkCanStart (on the worker, before the first item)', () => {
    const check = (command: string[]) => () => execProcessor.checkCanStart?.({ command });

    it('accepts a program on PATH and an executable file given by path', () => {
      expect(check(['sh', '-c', 'true'])).not.toThrow();
      expect(check(['/bin/sh'])).not.toThrow();
    });

    it('refuses a program given by a path that does not exist, as a matter of that path', () => {
      const err = rejectionOfSync(check(['/nonexistent/waymark-tool', '--flag']));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err).toMatchObject({ lookedUpOnPath: false });
      expect(err.message).toMatch(
        /^processor "exec" cannot start "\/nonexistent\/waymark-tool" on .+: \/nonexistent\/waymark-tool does not exist \(ENOENT\)\. Every item would fail the same way, so the batch stops here\. Fix command\[0\] in processor\.options/,
      );
    });

    it('refuses a name not on PATH, saying it looked on PATH', () => {
      const err = rejectionOfSync(check(['pyhton3', 'score.py']));
      expect(err).toBeInstanceOf(ProcessorCannotStartError);
      expect(err).toMatchObject({ lookedUpOnPath: true });
      expect(err.message).toContain('there is no "pyhton3" on the worker\'s PATH (ENOENT; PATH=');
    });

    it('refuses a file that is not executable and a directory', () => {
      const script = join(dir, 'plain.sh');
      writeFileSync(script, '#!/bin/sh\n', { mode: 0o644 });
      expect(check([script])).toThrow(`${script} is not executable (EACCES); make it executable with chmod +x ${script}`);
      expect(check([dir])).toThrow(`${dir} is a directory, not a program (EACCES)`);
    });
  });
});

/**
 * `exec`: runs a program once per item, without a shell, and maps its exit status to
 * waymark's outcomes, following sysexits.h so existing tools fit without wrappers:
 *
 * | exit status           | outcome                                                        |
 * | --------------------- | -------------------------------------------------------------- |
 * | 0                     | success; the result is stdout, trimmed. Over 64 KiB (trailing  |
 * |                       | whitespace aside): NonRetryableItemError exec-output-too-large |
 * | 65 (EX_DATAERR)       | bad item: NonRetryableItemError, straight to the failure rows  |
 * | 75 (EX_TEMPFAIL)      | retryable failure; if the last stderr line is                  |
 * |                       | `retry-after=SECONDS`, a quota wait (QuotaExhaustedError)       |
 * | anything else, signal | retryable failure                                              |
 *
 * Usage: a stderr line `usage={"tokens":12,"costUsd":0.01}` reports what the item used
 * (ProcessorContext.reportUsage), whatever the exit status: a failed attempt's tokens are spent
 * too. The last such line in the stderr tail counts; one that is not a usage object is logged as
 * a warning and left out, and the item's outcome stands.
 *
 * Options: `command` (argv array: program, then arguments), `input` ('stdin', the default:
 * the item's JSON text and a newline on stdin; 'arg': the item appended as the last
 * argument, a string item as is and anything else as JSON, with an empty stdin),
 * `timeoutMs` (kill the program and count a failed attempt).
 *
 * stdin always carries JSON, even for a string item, so the program parses stdin one way
 * whatever the source, and a multi-line string still arrives as one line.
 *
 * The program also gets WAYMARK_BATCH_ID, WAYMARK_ITEM_INDEX, WAYMARK_ATTEMPT,
 * WAYMARK_IDEMPOTENCY_KEY and, for folder sources, WAYMARK_ITEM_FILE in its environment.
 *
 * A program that cannot start at all (ENOENT, EACCES) is no item's fault: checkCanStart refuses
 * it on the worker before the first item, and a spawn that fails so mid-batch throws
 * ProcessorCannotStartError, which fails the batch instead of spending every item's attempts.
 *
 * Over 400 lines: the exit statuses, usage lines, input modes and start checks above are one
 * program's contract with waymark, kept beside the code that keeps it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import {
  defineProcessor,
  NonRetryableItemError,
  ProcessorOptionsError,
  QuotaExhaustedError,
  type ProcessorCannotStartError,
  type ProcessorContext,
} from './processor';
import { RetryableItemError } from './errors';
import { describeValue, integerOption, rejectUnknownOptions } from './options';
import { itemJson, itemText } from './item-text';
import { checkProgramCanStart, programCannotStart, programStartProblem } from './program';

/** The most stdout a result may hold; more is a failure, never a result cut short. */
export const EXEC_STDOUT_CAP_BYTES = 64 * 1024;
/** Enough stderr for a traceback's last frames, small enough for a failure row. */
export const EXEC_STDERR_TAIL_BYTES = 4 * 1024;

const EX_DATAERR = 65;
const EX_TEMPFAIL = 75;
const RETRY_AFTER_LINE = /^retry-after=(\d+(?:\.\d+)?)$/;
const USAGE_LINE = /^usage=(.*)$/;

const INPUT_MODES = ['stdin', 'arg'] as const;
type InputMode = (typeof INPUT_MODES)[number];

interface ExecOptions {
  command: string[];
  input: InputMode;
  timeoutMs?: number;
}

function parseExecOptions(options: Record<string, unknown>): ExecOptions {
  rejectUnknownOptions('exec', options, ['command', 'input', 'timeoutMs']);
  return {
    command: commandOption(options.command),
    input: inputOption(options.input),
    timeoutMs: integerOption('exec', options, 'timeoutMs', 1, 'milliseconds'),
  };
}

/** The `command` option of a processor that runs a program: an argv array. */
export function commandOption(command: unknown, processor = 'exec'): string[] {
  const example = 'e.g. "command": ["python3", "score.py"]';
  if (typeof command === 'string') {
    throw new ProcessorOptionsError(
      `processor "${processor}" option "command" must be an array (program, then its arguments), got the string ${describeValue(command)}; no shell splits it, so split it yourself, ${example}`,
    );
  }
  if (!Array.isArray(command) || command.length === 0 || !command.every((arg) => typeof arg === 'string')) {
    throw new ProcessorOptionsError(
      `processor "${processor}" option "command" must be a non-empty array of strings (program, then its arguments), got ${describeValue(command)}; ${example}`,
    );
  }
  if (command[0] === '') {
    throw new ProcessorOptionsError(
      `processor "${processor}" option "command" starts with an empty string; its first element must name the program to run, ${example}`,
    );
  }
  const withNul = command.findIndex((arg) => arg.includes('\0'));
  if (withNul !== -1) {
    throw new ProcessorOptionsError(
      `processor "${processor}" option "command" element ${withNul} contains a NUL character, which no program argument can hold; remove it`,
    );
  }
  return command;
}

function inputOption(input: unknown): InputMode {
  if (input === undefined) return 'stdin';
  if (INPUT_MODES.includes(input as InputMode)) return input as InputMode;
  throw new ProcessorOptionsError(
    `processor "exec" option "input" must be "stdin" (the item's JSON text on stdin) or "arg" (the item as the last argument), got ${describeValue(input)}`,
  );
}

/** The item as the program's last argument. */
function itemArgument(item: unknown): string {
  const text = itemText(item);
  if (text.includes('\0')) {
    throw new NonRetryableItemError(
      'the item contains a NUL character, which a program argument cannot hold; use "input": "stdin" for such items',
      'exec-bad-argument',
    );
  }
  return text;
}

interface ChildRun {
  program: string;
  args: string[];
  /** Written to stdin, which is then closed, so a program that reads stdin never waits. */
  stdin: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal: AbortSignal;
}

interface ChildOutcome {
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  /** Every byte the program wrote to stdout, kept or not. */
  stdoutBytes: number;
  /** stdout held more than the cap, trailing whitespace aside. */
  stdoutOverCap: boolean;
  stderrTail: string;
}

/**
 * Runs the program to its end, or kills it and what it started (SIGKILL to its process group) on
 * timeout or abort. Settles only once the program has exited, so it never outlives the attempt
 * that started it. Rejects with the signal's reason on abort.
 *
 * The program runs in a process group of its own: a signal to the worker's group (Ctrl-C, or
 * SIGTERM from a shell script, npx or a container runtime to the whole group) must stop the
 * worker gracefully, letting the item in flight finish, not kill that item's program under it.
 */
function runChild(run: ChildRun): Promise<ChildOutcome> {
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(run.program, run.args, { shell: false, env: run.env, stdio: 'pipe', detached: true });
  } catch (err) {
    return Promise.reject(spawnFailure(run.program, err));
  }
  return new Promise((resolve, reject) => {
    const stdout = new CappedBuffer(EXEC_STDOUT_CAP_BYTES);
    const stderr = new TailBuffer(EXEC_STDERR_TAIL_BYTES);
    // Keep reading past the cap: a program blocked on a full pipe would never exit.
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    let killedFor: 'timeout' | 'abort' | undefined;
    const kill = (reason: 'timeout' | 'abort') => {
      killedFor ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already (the program exited): nothing left to kill.
      }
      // A grandchild may still hold the pipes open; closing our ends lets 'close' fire on exit.
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const onAbort = () => kill('abort');
    const timer = run.timeoutMs === undefined ? undefined : setTimeout(() => kill('timeout'), run.timeoutMs);
    run.signal.addEventListener('abort', onAbort, { once: true });

    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      if (settled) return;
      settle();
      reject(spawnFailure(run.program, err));
    });
    child.on('close', (exitCode, exitSignal) => {
      if (settled) return;
      settle();
      if (killedFor === 'abort') {
        reject(run.signal.reason as Error);
        return;
      }
      resolve({
        exitCode,
        exitSignal,
        timedOut: killedFor === 'timeout',
        stdout: stdout.text(),
        stdoutBytes: stdout.seen,
        stdoutOverCap: stdout.overCap,
        stderrTail: stderr.text(),
      });
    });

    // A program may exit without reading its stdin (EPIPE); its exit status tells the outcome.
    child.stdin.on('error', () => {});
    child.stdin.end(run.stdin);
  });
}

function spawnFailure(program: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES') return cannotStart(program, err as Error);
  // The command itself is capped by the spec's options size, so only an item appended as an
  // argument can make the command line too long.
  if (code === 'E2BIG') {
    return new NonRetryableItemError(
      `cannot start "${program}": the item is too large to pass as an argument (E2BIG); use "input": "stdin" for large items`,
      'exec-argument-too-long',
    );
  }
  return new RetryableItemError(
    `cannot start "${program}": ${(err as Error).message}; check that command[0] is an executable on the worker's PATH (or an absolute path) that the worker may run`,
    'exec-spawn',
  );
}

/**
 * The program is missing or not executable here: the same for every item, so not an item's
 * failure. The reason comes from looking the program up as spawn does; if that finds nothing
 * wrong, the file is there but the system still cannot run it (say, a missing #! interpreter).
 */
function cannotStart(program: string, err: Error): ProcessorCannotStartError {
  const reason =
    programStartProblem(program) ?? `${err.message}; the file is there and executable, so check the interpreter named on its #! line`;
  return programCannotStart('exec', program, reason, !program.includes('/'));
}

/** Keeps the first `cap` bytes, and counts all of them. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Bytes pushed, kept or not. */
  seen = 0;
  /** A byte other than whitespace came after the cap; whitespace there is trimmed off anyway. */
  overCap = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = Math.max(this.cap - this.size, 0);
    if (chunk.length > room) this.overCap ||= !isAllWhitespace(chunk.subarray(room));
    if (room === 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  /** The kept bytes as UTF-8, without a character the cap cut in half. */
  text(): string {
    return new StringDecoder('utf8').write(Buffer.concat(this.chunks));
  }
}

/** The ASCII whitespace that String.prototype.trim removes: no UTF-8 multi-byte sequence holds these bytes. */
function isAllWhitespace(bytes: Buffer): boolean {
  return bytes.every((byte) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d));
}

/** Keeps the last `cap` bytes. */
export class TailBuffer {
  private tail = Buffer.alloc(0);
  private truncated = false;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.tail, chunk]);
    if (joined.length <= this.cap) {
      this.tail = joined;
      return;
    }
    this.truncated = true;
    let start = joined.length - this.cap;
    // Skip UTF-8 continuation bytes so the tail starts on a whole character.
    while (start < joined.length && (joined[start] & 0xc0) === 0x80) start++;
    this.tail = joined.subarray(start);
  }

  text(): string {
    return (this.truncated ? '…' : '') + this.tail.toString('utf8');
  }
}

/** Reports the last `usage=JSON` line of stderr, if there is one. */
function reportUsageLine(program: string, stderrTail: string, ctx: ProcessorContext): void {
  const line = stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => USAGE_LINE.test(l))
    .at(-1);
  if (line === undefined) return;
  let usage: unknown;
  try {
    usage = JSON.parse(USAGE_LINE.exec(line)![1]);
  } catch {
    ctx.log.warn(
      `item ${ctx.index}: "${program}" printed a usage line that is not JSON, left out: ${line.slice(0, 200)}. Print usage={"tokens":12} on one line of stderr`,
      { batchId: ctx.batchId, index: ctx.index },
    );
    return;
  }
  ctx.reportUsage(usage as Record<string, number>);
}

function retryAfterSeconds(stderrTail: string): number | undefined {
  const lastLine = stderrTail
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
  const match = lastLine === undefined ? null : RETRY_AFTER_LINE.exec(lastLine);
  return match === null ? undefined : Number(match[1]);
}

/** The result on exit status 0; otherwise throws the error that steers what waymark does next. */
function outcomeResult(program: string, timeoutMs: number | undefined, outcome: ChildOutcome): string {
  const stderr = outcome.stderrTail.trim();
  const stderrNote = stderr === '' ? '; stderr was empty' : `; stderr: ${stderr}`;
  if (outcome.timedOut) {
    throw new RetryableItemError(
      `"${program}" ran longer than timeoutMs (${timeoutMs} ms) and was killed; counted as a failed attempt. Raise processor.options.timeoutMs if items need longer${stderrNote}`,
      'exec-timeout',
    );
  }
  if (outcome.exitSignal !== null) {
    throw new RetryableItemError(
      `"${program}" was killed by signal ${outcome.exitSignal}; counted as a failed attempt${stderrNote}`,
      'exec-signal',
    );
  }
  switch (outcome.exitCode) {
    case 0:
      if (outcome.stdoutOverCap) throw outputTooLarge(program, outcome.stdoutBytes);
      return outcome.stdout.trim();
    case EX_DATAERR:
      throw new NonRetryableItemError(
        `"${program}" rejected the item as bad data (exit status ${EX_DATAERR}, EX_DATAERR); it goes to the failure rows without further attempts${stderrNote}`,
        'exec-data-error',
      );
    case EX_TEMPFAIL: {
      const seconds = retryAfterSeconds(outcome.stderrTail);
      if (seconds !== undefined) {
        throw new QuotaExhaustedError(
          Math.round(seconds * 1000),
          `"${program}" asked to retry after ${seconds} s (exit status ${EX_TEMPFAIL} with retry-after=${seconds} on stderr); the batch waits, then retries the item without charging an attempt`,
          `exit ${EX_TEMPFAIL}`,
        );
      }
      throw new RetryableItemError(
        `exec-tempfail: "${program}" reported a temporary failure (exit status ${EX_TEMPFAIL}, EX_TEMPFAIL); counted as a failed attempt. To make the batch wait instead, print retry-after=SECONDS as the last stderr line${stderrNote}`,
        'exec-tempfail',
      );
    }
    default:
      throw new RetryableItemError(
        `"${program}" exited with status ${outcome.exitCode}; counted as a failed attempt (exit ${EX_DATAERR} marks a bad item that is not retried, ${EX_TEMPFAIL} a temporary failure)${stderrNote}`,
        'exec-exit-status',
      );
  }
}

function outputTooLarge(program: string, bytes: number): NonRetryableItemError {
  return new NonRetryableItemError(
    `"${program}" exited 0 but wrote ${bytes} bytes to stdout, over the ${EXEC_STDOUT_CAP_BYTES}-byte (64 KiB) cap on an exec result, ` +
      'so nothing was stored; the same command would print the same for this item, so it is not retried. ' +
      'Write large results to a file and print its path instead (WAYMARK_IDEMPOTENCY_KEY makes a unique name), or print less',
    'exec-output-too-large',
  );
}

function childEnv(ctx: ProcessorContext): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WAYMARK_BATCH_ID: ctx.batchId,
    WAYMARK_ITEM_INDEX: String(ctx.index),
    WAYMARK_ATTEMPT: String(ctx.attempt),
    WAYMARK_IDEMPOTENCY_KEY: ctx.idempotencyKey,
    ...(ctx.file === undefined ? {} : { WAYMARK_ITEM_FILE: ctx.file }),
  };
}

export const execProcessor = defineProcessor(
  async (item, ctx): Promise<string> => {
    const { command, input, timeoutMs } = parseExecOptions(ctx.options);
    ctx.signal.throwIfAborted();
    const [program, ...args] = command;
    const outcome = await runChild({
      program,
      args: input === 'arg' ? [...args, itemArgument(item)] : args,
      stdin: input === 'stdin' ? `${itemJson(item)}\n` : '',
      env: childEnv(ctx),
      timeoutMs,
      signal: ctx.signal,
    });
    reportUsageLine(program, outcome.stderrTail, ctx);
    return outcomeResult(program, timeoutMs, outcome);
  },
  {
    validateOptions: (options) => void parseExecOptions(options),
    checkCanStart: (options) => checkProgramCanStart('exec', parseExecOptions(options).command[0]),
  },
);

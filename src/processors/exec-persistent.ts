/**
 * `exec-persistent`: one long-lived program per lane that pays its start-up once, talked to in
 * JSON lines. For each call waymark writes one request line on the program's stdin and reads one
 * response line from its stdout; one call is in flight per program, so the resume-cost bound is
 * the same as for any processor. The protocol is in docs/processors.md ("Persistent processes").
 *
 * Request:  {"index":3,"idempotencyKey":"b:3","attempt":1,"item":...}  (plus "file" for folders)
 *           {"items":[<request>, ...]}                                  (a call of many items)
 * Response: {"result":...} | {"error":{"message":"...","type":"...","retryable":false}}
 *           | {"retryAfterSeconds":30}, each with an optional "usage":{"tokens":12,"costUsd":0.01}
 *           {"outcomes":[<response>, ...]}                              (one per item, in order)
 *
 * Programs are kept per batch and command on each worker and reused by later slices; an idle one
 * is closed (stdin EOF, then SIGKILL) after a minute. A program that dies mid-call, runs past the
 * call's timeout, or writes a line that is not a response fails the call's attempt and is
 * replaced for the next one.
 *
 * No program outlives its worker, even one that never reads stdin again: each is started under
 * a tiny sh supervisor in a process group of its own, holding the read end of a socket to the
 * worker (fd 3). When the worker dies, however it dies, the kernel closes the worker's end, the
 * supervisor's `read` returns, and it SIGKILLs its group. A timeout kills the group the same way.
 *
 * Over 400 lines: the pool, the supervisor and the protocol share one program's life (start,
 * calls, replacement, idle close), which reads best in one place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import {
  defineBatchProcessor,
  NonRetryableItemError,
  QuotaExhaustedError,
  type CallContext,
  type CallItem,
  type ItemLogger,
  type ItemOutcome,
} from './processor';
import { RetryableItemError } from './errors';
import type { Usage } from '../contract/usage';
import { commandOption, EXEC_STDERR_TAIL_BYTES, TailBuffer } from './exec';
import { rejectUnknownOptions } from './options';
import { checkProgramCanStart, programCannotStart, programStartProblem } from './program';

const NAME = 'exec-persistent';
/** A response line longer than this is no response; the program is replaced. */
export const PERSISTENT_RESPONSE_CAP_BYTES = 16 * 1024 * 1024;
/** An idle program is closed after this long. */
const IDLE_CLOSE_MS = 60_000;
/** A closed program that has not exited on stdin EOF after this long is killed. */
const CLOSE_GRACE_MS = 5_000;
/** How much of a line that is not a response a failure row quotes. */
const QUOTE_CHARS = 300;

/**
 * The supervisor: starts the program ("$@") with the worker's stdin pipe, and a watcher that
 * blocks reading fd 3 (a socket whose other end only the worker holds) and kills the whole
 * group at EOF: when the worker dies. It exits with the program's status.
 */
const SUPERVISOR = [
  'exec 4<&0',
  '"$@" <&4 3<&- 4<&- &',
  'program=$!',
  'exec 0</dev/null 4<&-',
  '{ read -r _ <&3; kill -KILL 0; } &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$program"',
  'status=$?',
  'kill -KILL "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

function parseOptions(options: Record<string, unknown>): { command: string[] } {
  rejectUnknownOptions(NAME, options, ['command']);
  return { command: commandOption(options.command, NAME) };
}

interface Waiter {
  resolve(line: string): void;
  reject(err: Error): void;
  /** What the failure messages call the call: `item 3` or `the call of items 3-7`. */
  what: string;
}

/** One program under its supervisor. */
class PersistentChild {
  readonly proc: ChildProcess;
  private readonly stdin: Writable;
  private readonly stdout: Readable;
  private readonly stderr: Readable;
  private readonly watchdog: Readable;
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private stderrTail = new TailBuffer(EXEC_STDERR_TAIL_BYTES);
  private stderrLine = '';
  private waiter: Waiter | undefined;
  private log: ItemLogger | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Set once the program is gone or is being killed: it is never given another call. */
  dead = false;

  constructor(
    readonly key: string,
    private readonly command: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = spawn('/bin/sh', ['-c', SUPERVISOR, `waymark-${NAME}`, ...command], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      // A group of its own: a timeout kills the program and anything it started, and a signal
      // to the worker's group (Ctrl-C, SIGTERM) does not cut the item in flight short.
      detached: true,
      env,
    });
    const [stdin, stdout, stderr, watchdog] = this.proc.stdio as unknown as [Writable, Readable, Readable, Readable];
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    this.watchdog = watchdog;
    stdin.on('error', () => {}); // a program that exits without reading: 'close' tells the outcome
    stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    stderr.on('data', (chunk: Buffer) => this.onStderr(chunk));
    watchdog.on('error', () => {});
    this.proc.on('error', (err) => this.fail(new RetryableItemError(`cannot start "${command[0]}": ${err.message}`, 'persistent-spawn')));
    this.proc.on('close', (code, signal) => {
      const status = signal === null ? `exit status ${code}` : `signal ${signal}`;
      this.fail(
        new RetryableItemError(
          `the program "${command[0]}" exited (${status}) while ${this.waiter?.what ?? 'idle'} was in flight; it is started again for the next call${this.stderrSuffix()}`,
          'persistent-child-died',
        ),
      );
    });
    live.add(this);
  }

  /** Sends one request line and resolves with the next line the program writes. */
  request(line: string, what: string, signal: AbortSignal, log: ItemLogger): Promise<string> {
    this.log = log;
    this.stderrTail = new TailBuffer(EXEC_STDERR_TAIL_BYTES);
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        this.kill();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        what,
        resolve: (l) => {
          signal.removeEventListener('abort', onAbort);
          resolve(l);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.stdin.write(`${line}\n`);
    });
  }

  /** What the program wrote to stderr since the current request, for a failure row. */
  stderrSuffix(): string {
    const tail = this.stderrTail.text().trim();
    return tail === '' ? '' : `; stderr: ${tail}`;
  }

  /** Back in the pool: it must not keep the worker's event loop alive, and is closed when idle too long. */
  idle(onIdleTooLong: () => void): void {
    this.setRef(false);
    this.idleTimer = setTimeout(onIdleTooLong, IDLE_CLOSE_MS);
    this.idleTimer.unref();
  }

  busy(): void {
    clearTimeout(this.idleTimer);
    this.setRef(true);
  }

  /** Ends stdin (the reference clients exit on EOF), and kills the group if it lingers. */
  close(): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    this.stdin.end();
    setTimeout(() => this.killGroup(), CLOSE_GRACE_MS).unref();
  }

  /** SIGKILLs the program's whole group; the supervisor's exit then settles anything in flight. */
  kill(): void {
    this.dead = true;
    clearTimeout(this.idleTimer);
    this.killGroup();
  }

  killGroup(): void {
    try {
      if (this.proc.pid !== undefined) process.kill(-this.proc.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  private setRef(ref: boolean): void {
    for (const handle of [this.proc, this.stdin, this.stdout, this.stderr, this.watchdog] as Array<{ ref?(): void; unref?(): void }>) {
      if (ref) handle.ref?.();
      else handle.unref?.();
    }
  }

  private onStdout(chunk: Buffer): void {
    this.partial += this.decoder.write(chunk);
    let newline: number;
    while ((newline = this.partial.indexOf('\n')) !== -1) {
      const line = this.partial.slice(0, newline).replace(/\r$/, '');
      this.partial = this.partial.slice(newline + 1);
      const waiter = this.waiter;
      if (waiter === undefined) {
        // Nobody asked: the program is out of step with its requests, so it cannot be trusted with the next one.
        this.log?.warn(`${NAME}: the program wrote a line while no call was in flight; it is replaced`, { line: quote(line) });
        this.kill();
        return;
      }
      this.waiter = undefined;
      waiter.resolve(line);
    }
    if (Buffer.byteLength(this.partial) > PERSISTENT_RESPONSE_CAP_BYTES) {
      const what = this.waiter?.what ?? 'a call';
      this.fail(
        new NonRetryableItemError(
          `the program wrote a line over ${PERSISTENT_RESPONSE_CAP_BYTES} bytes for ${what}; write large results to a file and respond with its path`,
          'persistent-response-too-large',
        ),
      );
      this.kill();
    }
  }

  private onStderr(chunk: Buffer): void {
    this.stderrTail.push(chunk);
    // Whole lines to the worker's log, so a program's own logging reads like the worker's.
    const text = this.stderrLine + chunk.toString('utf8');
    const lines = text.split('\n');
    this.stderrLine = lines.pop()!.slice(-EXEC_STDERR_TAIL_BYTES);
    for (const line of lines) if (line !== '') this.log?.info(`${NAME} stderr: ${line}`, { program: this.command[0], pid: this.proc.pid });
  }

  private fail(err: Error): void {
    this.dead = true;
    live.delete(this);
    clearTimeout(this.idleTimer);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
  }
}

/** Idle programs by batch and command, most recently used last. */
const idle = new Map<string, PersistentChild[]>();
/** Every program started and not yet gone, killed when the worker exits. */
const live = new Set<PersistentChild>();
process.once('exit', () => {
  for (const child of live) child.killGroup();
});

function takeChild(ctx: CallContext, command: string[]): PersistentChild {
  const key = `${ctx.batchId}\0${JSON.stringify(command)}`;
  const children = idle.get(key);
  let child: PersistentChild | undefined;
  while (children && children.length > 0 && (child === undefined || child.dead)) child = children.pop();
  if (child === undefined || child.dead) {
    // The program may have gone since the batch's first check (removed, or this worker lacks it).
    const problem = programStartProblem(command[0]);
    if (problem !== undefined) throw programCannotStart(NAME, command[0], problem, !command[0].includes('/'));
    child = new PersistentChild(key, command, { ...process.env, WAYMARK_BATCH_ID: ctx.batchId });
  }
  child.busy();
  return child;
}

function giveBack(child: PersistentChild): void {
  if (child.dead) return;
  const children = idle.get(child.key) ?? [];
  idle.set(child.key, children);
  children.push(child);
  child.idle(() => {
    const at = children.indexOf(child);
    if (at !== -1) children.splice(at, 1);
    if (children.length === 0 && idle.get(child.key) === children) idle.delete(child.key);
    child.close();
  });
}

function requestOf(call: CallItem): Record<string, unknown> {
  const request: Record<string, unknown> = {
    index: call.index,
    idempotencyKey: call.idempotencyKey,
    attempt: call.attempt,
    item: call.item,
  };
  if (call.file !== undefined) request.file = call.file;
  return request;
}

function quote(line: string): string {
  return JSON.stringify(line.length > QUOTE_CHARS ? `${line.slice(0, QUOTE_CHARS)}…` : line);
}

class NotAResponse extends Error {}

/** One response object as an item's outcome; throws NotAResponse for anything else. */
function outcomeOf(response: unknown, index: number, stderr: string): ItemOutcome {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) throw new NotAResponse('not a JSON object');
  const r = response as Record<string, unknown>;
  if (r.index !== undefined && r.index !== index)
    throw new NotAResponse(`its "index" ${JSON.stringify(r.index)} is not the item's, ${index}`);
  if (r.usage !== undefined && !isUsage(r.usage))
    throw new NotAResponse('its "usage" is not an object of numbers, e.g. {"tokens": 12, "costUsd": 0.01}');
  const usage = r.usage === undefined ? {} : { usage: r.usage as Usage };
  if ('result' in r) return { result: r.result, ...usage };
  if (r.retryAfterSeconds !== undefined) {
    const seconds = r.retryAfterSeconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
      throw new NotAResponse('its "retryAfterSeconds" is not a number of seconds, 0 or more');
    return {
      error: new QuotaExhaustedError(
        Math.ceil(seconds * 1000),
        `the program's quota is exhausted; retry after ${seconds} s`,
        'retryAfterSeconds',
      ),
      ...usage,
    };
  }
  if (r.error !== undefined) {
    const e = typeof r.error === 'string' ? { message: r.error } : (r.error as Record<string, unknown>);
    if (typeof e !== 'object' || e === null || typeof e.message !== 'string') throw new NotAResponse('its "error" has no "message" string');
    if (e.type !== undefined && typeof e.type !== 'string') throw new NotAResponse('its "error.type" is not a string');
    const message = e.message + stderr;
    return {
      error:
        e.retryable === false
          ? new NonRetryableItemError(message, e.type ?? 'non-retryable')
          : new RetryableItemError(message, e.type ?? 'persistent-error'),
      ...usage,
    };
  }
  throw new NotAResponse('it has none of "result", "error", "retryAfterSeconds"');
}

function isUsage(usage: unknown): boolean {
  return (
    typeof usage === 'object' &&
    usage !== null &&
    !Array.isArray(usage) &&
    Object.values(usage).every((v) => typeof v === 'number' && Number.isFinite(v))
  );
}

/** The outcomes a response line gives a call of `calls`; NotAResponse when the line is not one. */
function outcomesOf(line: string, calls: CallItem[], stderr: string): ItemOutcome[] {
  let response: unknown;
  try {
    response = JSON.parse(line);
  } catch {
    throw new NotAResponse('not JSON');
  }
  if (calls.length === 1) return [outcomeOf(response, calls[0].index, stderr)];
  const r = response as Record<string, unknown> | null;
  if (typeof r === 'object' && r !== null && Array.isArray(r.outcomes)) {
    if (r.outcomes.length !== calls.length) throw new NotAResponse(`it has ${r.outcomes.length} "outcomes" for ${calls.length} items`);
    return r.outcomes.map((o, i) => outcomeOf(o, calls[i].index, stderr));
  }
  // A call can fail, or run out of quota, as a whole.
  const whole = outcomeOf(response, calls[0].index, stderr);
  if ('result' in whole) throw new NotAResponse(`a call of ${calls.length} items needs "outcomes", one per item`);
  throw whole.error;
}

export const execPersistentProcessor = defineBatchProcessor(
  async (calls, ctx) => {
    const { command } = parseOptions(ctx.options);
    ctx.signal.throwIfAborted();
    const child = takeChild(ctx, command);
    const what = calls.length === 1 ? `item ${calls[0].index}` : `the call of items ${calls[0].index}-${calls[calls.length - 1].index}`;
    const line = calls.length === 1 ? JSON.stringify(requestOf(calls[0])) : JSON.stringify({ items: calls.map(requestOf) });
    let response: string;
    try {
      response = await child.request(line, what, ctx.signal, ctx.log);
    } catch (err) {
      child.kill();
      throw err;
    }
    try {
      const outcomes = outcomesOf(response, calls, child.stderrSuffix());
      giveBack(child);
      return outcomes;
    } catch (err) {
      if (!(err instanceof NotAResponse)) {
        giveBack(child);
        throw err;
      }
      // Out of step with its requests: its next line may answer this one. Start afresh.
      child.kill();
      throw new RetryableItemError(
        `the program "${command[0]}" wrote a line that is not a response for ${what} (${err.message}): ${quote(response)}. ` +
          `A response is one JSON object per line with "result", "error" or "retryAfterSeconds"; write logs to stderr${child.stderrSuffix()}`,
        'persistent-bad-response',
      );
    }
  },
  {
    validateOptions: (options) => void parseOptions(options),
    checkCanStart: (options) => checkProgramCanStart(NAME, parseOptions(options).command[0]),
  },
);

/** Closes every idle program (stdin EOF, SIGKILL after a grace period); programs in flight finish their call first. */
export function closeIdlePrograms(): void {
  for (const children of idle.values()) for (const child of children.splice(0)) child.close();
  idle.clear();
}

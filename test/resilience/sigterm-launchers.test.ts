/**
 * A worker stops gracefully however it was started: by a shell script or by npx (npm, then sh),
 * with SIGTERM sent to the whole process group as systemd, a container runtime or a terminal
 * does, and when the process that started it dies. Each time the item in flight finishes and is
 * committed by that worker, once, nothing is redone, and the worker's process ends well within
 * its shutdown time. A second worker, started plainly, finishes each batch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LOCAL_ONLY_TEMPORAL_ENV } from '../../src/connection/connect';
import { createDevServerEnv } from '../helpers/temporal-env';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { BUILT_CLI, startWorkerProcess, stopLeftWorkers, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { loadProcessorModule } from '../../src/processors/registry';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { allOutcomes } from '../helpers/ledger-rows';
import { readLog, type LogLine } from '../helpers/execution-log';

const PROCESSOR_MODULE = path.resolve(__dirname, '../fixtures/paced-processor.js');
const ITEMS = 12;
// Longer than the second or so a worker takes to notice that its parent is gone, which once killed it mid-item.
const ITEM_MS = 1500;
const SHUTDOWN_LIMIT_MS = 15_000;

interface Launched {
  /** The process the test signals: the head of the process group, or the worker's parent. */
  launcher: ChildProcess;
  output: () => string;
}

/** How a user starts a worker, each in a process group of its own as a login shell or a service manager would. */
const LAUNCHERS: Record<string, { start: (env: Record<string, string>) => Launched; stop: (launched: Launched) => void }> = {
  'a shell script, SIGTERM to its process group': {
    start: (env) => launch('sh', ['-c', `"${process.execPath}" "${BUILT_CLI}" worker; true`], env),
    stop: ({ launcher }) => process.kill(-launcher.pid!, 'SIGTERM'),
  },
  'npx (npm, then sh), SIGTERM to its process group': {
    // npm exec runs `sh -c "waymark worker"`; a node process stands in for npm, as npm would die of SIGTERM.
    start: (env) =>
      launch(
        process.execPath,
        [
          '-e',
          `require('node:child_process').spawn('sh', ['-c', '"${process.execPath}" "${BUILT_CLI}" worker; true'], { stdio: 'inherit' }); setInterval(() => {}, 1000);`,
        ],
        { ...env, npm_command: 'exec' },
      ),
    stop: ({ launcher }) => process.kill(-launcher.pid!, 'SIGTERM'),
  },
  'a shell script whose shell is killed (SIGKILL), the worker left without its parent': {
    start: (env) => launch('sh', ['-c', `"${process.execPath}" "${BUILT_CLI}" worker; true`], env),
    stop: ({ launcher }) => launcher.kill('SIGKILL'),
  },
};

/**
 * What the items run: the paced processor in the worker, or a program per item (`exec`), which a
 * signal to the worker's process group must not reach. Both log "index workerPid" as an item
 * starts and "index workerPid done" as it ends.
 */
const PROCESSORS: Record<string, { name: string; options: Record<string, unknown> }> = {
  paced: { name: 'paced', options: { ms: ITEM_MS } },
  exec: {
    name: 'exec',
    options: {
      command: [
        'sh',
        '-c',
        `i=$(tr -d '"'); echo "$i $PPID" >> "$WAYMARK_TEST_EXECUTION_LOG"; sleep ${ITEM_MS / 1000}; echo "$i $PPID done" >> "$WAYMARK_TEST_EXECUTION_LOG"; echo "$i"`,
      ],
    },
  },
};

const CASES: [launcher: string, processor: string][] = [
  ...Object.keys(LAUNCHERS).map((launcher): [string, string] => [launcher, 'paced']),
  ['a shell script, SIGTERM to its process group', 'exec'],
];

function launch(command: string, args: string[], env: Record<string, string>): Launched {
  const launcher = spawn(command, args, {
    env: { ...process.env, ...LOCAL_ONLY_TEMPORAL_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  launcher.stdout.on('data', (d: Buffer) => (output += d.toString()));
  launcher.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return { launcher, output: () => output };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a worker stopped mid-item, however it was started', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let ledger: SqliteLedger;
  const plainWorkers: WorkerProcess[] = [];
  const launched: Launched[] = [];

  beforeAll(async () => {
    env = await createDevServerEnv();
    loadProcessorModule(PROCESSOR_MODULE);
    dir = makeTempDir('waymark-sigterm-launchers-');
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    for (const { launcher } of launched) {
      try {
        process.kill(-launcher.pid!, 'SIGKILL');
      } catch {
        // The group is gone.
      }
    }
    await stopLeftWorkers(plainWorkers);
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  it.each(CASES)('%s, %s items: the item in flight finishes and is committed, nothing is redone', async (name, processor) => {
    const { start, stop } = LAUNCHERS[name];
    const taskQueue = `launch-${CASES.findIndex(([l, p]) => l === name && p === processor)}`;
    const batchId = taskQueue;
    const file = path.join(dir, `${batchId}.txt`);
    fs.writeFileSync(file, Array.from({ length: ITEMS }, (_, i) => String(i)).join('\n'));
    const executionLog = path.join(dir, `${batchId}.log`);
    fs.writeFileSync(executionLog, '');
    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      WAYMARK_DATA_DIR: dir,
      WAYMARK_TASK_QUEUE: taskQueue,
      WAYMARK_PROCESSORS: PROCESSOR_MODULE,
      WAYMARK_TEST_EXECUTION_LOG: executionLog,
    };
    const launchedWorker = start(workerEnv);
    launched.push(launchedWorker);
    await waitFor('the launched worker to be ready', () => launchedWorker.output().includes('waymark worker:'), 60_000);

    const handle = await startBatch(
      env.client,
      validateSpecForStart({
        source: { kind: 'text', path: file },
        processor: PROCESSORS[processor],
        sliceSize: ITEMS,
        checkpointEvery: ITEMS,
        concurrency: 1,
        heartbeatTimeoutMs: 5000,
      }),
      batchId,
      taskQueue,
    );
    // The launched worker is the only one until it is a few items in; then an item has just started.
    let started: LogLine | undefined;
    await waitFor(
      'the launched worker to be 2 items in',
      () => {
        const lines = readLog(executionLog);
        started = lines.at(-1);
        return lines.length >= 5 && !started!.done;
      },
      30_000,
    );
    const workerPid = started!.pid;
    plainWorkers.push(await startWorkerProcess(workerEnv));
    // The plain worker's start took a while: signal at the start of the item in flight now.
    await waitFor(
      'an item to start',
      () => {
        started = readLog(executionLog).at(-1);
        return !started!.done;
      },
      30_000,
    );
    const sentAt = Date.now();
    stop(launchedWorker);
    await waitFor(`the launched worker (pid ${workerPid}) to end`, () => !alive(workerPid), SHUTDOWN_LIMIT_MS);
    const shutdownMs = Date.now() - sentAt;

    const summary = await handle.result();
    expect(summary).toMatchObject({ status: 'completed', total: ITEMS, succeeded: ITEMS, failed: 0, redone: 0 });
    const rows = await allOutcomes(ledger, batchId);
    expect(rows.filter((r) => r.status !== 'succeeded' || r.attempts !== 1)).toEqual([]);
    expect(rows).toHaveLength(ITEMS);

    const log = readLog(executionLog);
    const starts = log.filter((l) => !l.done);
    // No item started twice, and every start ran to its end.
    expect(starts.map((l) => l.index).sort((a, b) => a - b)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
    expect(log.filter((l) => l.done)).toHaveLength(ITEMS);
    // The item in flight when the worker was told to stop was finished by it, which started nothing
    // after it. Told means the signal, or for a parent's death the worker's check a second later,
    // by when it may have started one more item (1.5 s each).
    const byLaunched = starts.filter((l) => l.pid === workerPid).map((l) => l.index);
    const lastStarted = byLaunched.at(-1)!;
    expect(lastStarted - started!.index).toBeGreaterThanOrEqual(0);
    expect(lastStarted - started!.index).toBeLessThanOrEqual(name.includes('without its parent') ? 1 : 0);
    expect(log.some((l) => l.done && l.index === lastStarted && l.pid === workerPid)).toBe(true);
    // Drained and stopped, not killed: the SDK's last word, and nothing went wrong on the way.
    expect(launchedWorker.output()).toContain("state: 'STOPPED'");
    expect(launchedWorker.output()).not.toMatch(/Unhandled|Error:/);
    console.log(`${name}, ${processor}: item ${started!.index} in flight; the worker ended ${shutdownMs} ms after the signal`);
  });
});

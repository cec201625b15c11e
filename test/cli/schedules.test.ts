/**
 * `waymark schedule` end to end against a dev server and a worker process: a schedule that fires
 * every 2 s starts batches with ids of their own that complete; list, describe, pause, unpause,
 * trigger and delete do what they say; a bad spec or bad timing is refused before anything is
 * created.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchSummary } from '../../src/contract/messages';
import { createDevServerEnv } from '../helpers/temporal-env';
import { startWorkerProcess, stopWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { waitFor } from '../helpers/wait-for';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const ID = 'hourly-words';
/** The batch ids Temporal makes: the action's workflow id and the scheduled time. */
const BATCH_ID = new RegExp(`^${ID}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`);
const SKIP = 'SKIP (a batch never starts while the previous one from this schedule runs; that action is skipped)';

describe('waymark schedule against a dev server', () => {
  let env: TestWorkflowEnvironment;
  let worker: WorkerProcess;
  let dir: string;
  let taskQueue: string;
  let cliEnv: Record<string, string>;
  let firstBatch: string;
  const waymark = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: dir, env: cliEnv });
  const refused = (message: string): CliRun => ({ code: 1, stdout: '', stderr: `waymark: ${message}\n` });
  const describeSchedule = () => env.client.schedule.getHandle(ID).describe();
  /** Lines of `waymark schedule describe`, by their label. */
  const described = async (): Promise<Map<string, string>> => {
    const run = await waymark('schedule', 'describe', ID);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return new Map(
      run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => [line.slice(0, 11).trim(), line.slice(11)]),
    );
  };
  const batchResult = (batchId: string) => env.client.workflow.getHandle(batchId).result() as Promise<BatchSummary>;

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-schedule-');
    env = await createDevServerEnv();
    taskQueue = `cli-schedule-${process.pid}`;
    cliEnv = { TEMPORAL_ADDRESS: env.address, WAYMARK_DATA_DIR: path.join(dir, 'data'), WAYMARK_TASK_QUEUE: taskQueue };
    worker = await startWorkerProcess(cliEnv);
    fs.writeFileSync(path.join(dir, 'words.txt'), `${Array.from({ length: 20 }, (_, i) => `word-${i}`).join('\n')}\n`);
    fs.writeFileSync(
      path.join(dir, 'spec.json'),
      JSON.stringify({ source: { kind: 'text', path: 'words.txt' }, processor: { name: 'sha256' }, sliceSize: 10, checkpointEvery: 20 }),
    );
    fs.writeFileSync(
      path.join(dir, 'bad-spec.json'),
      JSON.stringify({ source: { kind: 'text', path: 'words.txt' }, processor: { name: 'sha256' }, sliceSize: 0 }),
    );
  });

  afterAll(async () => {
    await stopWorkerProcess(worker);
    await env?.teardown();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('create --every 2s starts batches, each with its own id, that complete', async () => {
    expect(await waymark('schedule', 'create', '--id', ID, '--every', '2s', '--spec', 'spec.json')).toEqual({
      code: 0,
      stdout: [
        `created schedule ${ID}: every 2s; each run is a batch ${ID}-<scheduled time>`,
        `overlap ${SKIP}`,
        `see it with \`waymark schedule describe ${ID}\``,
        '',
      ].join('\n'),
      stderr: '',
    });
    await waitFor('the schedule to start a batch', async () => (await describeSchedule()).info.recentActions.length > 0, 20_000);
    firstBatch = (await describeSchedule()).info.recentActions[0].action.workflow.workflowId;
    expect(firstBatch).toMatch(BATCH_ID);
    expect(await batchResult(firstBatch)).toMatchObject({ batchId: firstBatch, status: 'completed', total: 20, succeeded: 20, failed: 0 });

    const status = await waymark('status', firstBatch, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ batchId: firstBatch, status: 'COMPLETED', total: 20, succeeded: 20 });

    await waitFor('a second batch', async () => (await describeSchedule()).info.recentActions.length > 1, 20_000);
    const secondBatch = (await describeSchedule()).info.recentActions[1].action.workflow.workflowId;
    expect(secondBatch).toMatch(BATCH_ID);
    expect(secondBatch).not.toBe(firstBatch);
    expect(await batchResult(secondBatch)).toMatchObject({ batchId: secondBatch, total: 20, succeeded: 20 });
  });

  it('list shows the schedule', async () => {
    let listed = '';
    await waitFor('the schedule in `schedule list`', async () => {
      listed = (await waymark('schedule', 'list')).stdout;
      return listed.includes(`${ID}\t`);
    });
    expect(listed).toMatch(new RegExp(`^${ID}\tactive\tevery 2s\tnext \\S+Z\tlast \\S+$`, 'm'));
  });

  it('describe states timing, overlap SKIP, the batch and its ids', async () => {
    const lines = await described();
    expect(lines.get('schedule')).toBe(ID);
    expect(lines.get('when')).toBe('every 2s');
    expect(lines.get('state')).toBe('active');
    expect(lines.get('overlap')).toBe(SKIP);
    expect(lines.get('batch')).toBe(`sha256 over text ${path.join(dir, 'words.txt')}, task queue ${taskQueue}`);
    expect(lines.get('batch ids')).toBe(`${ID}-<scheduled time>, e.g. ${ID}-2026-01-31T02:00:00Z`);
    expect(lines.get('actions')).toMatch(/^\d+ taken, \d+ skipped \(overlap\), \d+ missed \(catch-up window\)$/);
    expect(lines.get('recent')).toMatch(new RegExp(`^${ID}-\\S+Z(, ${ID}-\\S+Z)*$`));
  });

  it('pause and unpause show in describe', async () => {
    expect(await waymark('schedule', 'pause', ID)).toEqual({
      code: 0,
      stdout: `paused schedule ${ID}; batches it started go on; \`waymark schedule unpause ${ID}\` resumes it\n`,
      stderr: '',
    });
    expect((await described()).get('state')).toBe('paused (paused with `waymark schedule pause`)');
    expect(await waymark('schedule', 'unpause', ID)).toEqual({ code: 0, stdout: `unpaused schedule ${ID}\n`, stderr: '' });
    expect((await described()).get('state')).toBe('active (unpaused with `waymark schedule unpause`)');
  });

  it('trigger starts a batch now, even while paused', async () => {
    await waymark('schedule', 'pause', ID);
    // Under SKIP a trigger while a batch from the schedule runs starts nothing: let them finish.
    await waitFor('no batch from the schedule running', async () => (await describeSchedule()).info.runningActions.length === 0, 20_000);
    const recent = (await describeSchedule()).info.recentActions;
    const before = recent.map((a) => a.action.workflow.firstExecutionRunId);
    // Batch ids carry the action's time to the second: a trigger in the same second as the last
    // scheduled action would reuse that batch's id, so trigger in a later second.
    const lastTaken = Math.max(0, ...recent.map((a) => a.takenAt.getTime()));
    await sleep(Math.max(0, Math.floor(lastTaken / 1000) * 1000 + 1000 - Date.now()));

    expect(await waymark('schedule', 'trigger', ID)).toEqual({
      code: 0,
      stdout: `triggered schedule ${ID}: a batch ${ID}-<now> starts; see it with \`waymark schedule describe ${ID}\`\n`,
      stderr: '',
    });
    let triggered: string | undefined;
    await waitFor('the triggered batch', async () => {
      const action = (await describeSchedule()).info.recentActions.find((a) => !before.includes(a.action.workflow.firstExecutionRunId));
      triggered = action?.action.workflow.workflowId;
      return triggered !== undefined;
    });
    expect(triggered).toMatch(BATCH_ID);
    expect(recent.map((a) => a.action.workflow.workflowId)).not.toContain(triggered);
    expect(await batchResult(triggered!)).toMatchObject({ status: 'completed', succeeded: 20 });
  });

  it('delete removes the schedule; the batches it started stay', async () => {
    expect(await waymark('schedule', 'delete', ID)).toEqual({
      code: 0,
      stdout: `deleted schedule ${ID}; batches it started go on (see \`waymark list\`)\n`,
      stderr: '',
    });
    expect(await waymark('schedule', 'describe', ID)).toEqual(
      refused(`no schedule "${ID}" on ${env.address}; see the schedules with \`waymark schedule list\``),
    );
    await waitFor('the schedule gone from `schedule list`', async () => !(await waymark('schedule', 'list')).stdout.includes(`${ID}\t`));
    expect(JSON.parse((await waymark('status', firstBatch, '--json')).stdout)).toMatchObject({ status: 'COMPLETED', succeeded: 20 });
  });

  it('a bad spec is refused with one line and nothing is created', async () => {
    expect(await waymark('schedule', 'create', '--id', 'bad', '--every', '1h', '--spec', 'bad-spec.json')).toEqual(
      refused('invalid batch spec: sliceSize must be at least 1 (items per slice)'),
    );
    expect(await waymark('schedule', 'describe', 'bad')).toEqual(
      refused(`no schedule "bad" on ${env.address}; see the schedules with \`waymark schedule list\``),
    );
  });

  it('refuses timing mistakes before anything is created', async () => {
    const create = (...timing: string[]) => waymark('schedule', 'create', '--id', 'timing', ...timing, '--spec', 'spec.json');
    const sayWhen = refused('say when, with exactly one of --cron EXPR (e.g. "0 2 * * *") or --every DURATION (e.g. 1h)');
    const [neither, both, badEvery, badCron] = await Promise.all([
      create(),
      create('--cron', '0 2 * * *', '--every', '1h'),
      create('--every', '90'),
      create('--cron', 'at two'),
    ]);
    expect(neither).toEqual(sayWhen);
    expect(both).toEqual(sayWhen);
    expect(badEvery).toEqual(refused('--every takes a duration such as 30s, 15m, 1h, 1h30m or 1d, got "90"'));
    expect(badCron).toEqual(
      refused(
        '--cron "at two" was refused by the server (CronString does not have 5-7 fields); give 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"',
      ),
    );
    expect(await waymark('schedule', 'describe', 'timing')).toMatchObject({ code: 1 });
  });

  it('a cron schedule keeps its expression, and an id cannot be taken twice', async () => {
    const create = () => waymark('schedule', 'create', '--id', 'nightly', '--cron', '0 2 * * *', '--spec', 'spec.json');
    expect(await create()).toMatchObject({ code: 0, stderr: '' });
    const lines = await waymark('schedule', 'describe', 'nightly');
    expect(lines.stdout).toContain('\nwhen       cron 0 2 * * *\n');
    expect(lines.stdout).toMatch(/\nnext {7}\S+T02:00:00\.000Z, \S+T02:00:00\.000Z, \S+T02:00:00\.000Z\n/);
    expect(await create()).toEqual(
      refused('schedule "nightly" already exists; choose another --id, or see it with `waymark schedule describe nightly`'),
    );
    expect(await waymark('schedule', 'delete', 'nightly')).toMatchObject({ code: 0 });
  });
});

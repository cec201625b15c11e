/**
 * `waymark schedule`: batches started by a Temporal Schedule, on a cron expression or an interval.
 *
 * Each action starts `batchWorkflow` with workflow id `<schedule id>`, to which Temporal appends the
 * scheduled time (`nightly-2026-01-31T02:00:00Z`), so every run is a batch of its own with its own
 * ledger rows, manifest and export. The overlap policy defaults to SKIP: a batch never starts
 * while the previous one from the same schedule still runs.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleSpecDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import type { BatchSpec } from '../contract/batch-spec';
import { BATCH_WORKFLOW_TYPE } from '../contract/messages';
import { TASK_QUEUE, temporalAddress } from '../settings';
import { CliError } from '../user-error';
import { batchStartMetadata } from './start-batch';

/**
 * The overlap policies a batch schedule may take, by their CLI names. TERMINATE_OTHER is left
 * out: a terminated batch writes no manifest.
 */
export const OVERLAP_POLICIES = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type OverlapName = keyof typeof OVERLAP_POLICIES;

const OVERLAP_MEANING: Record<string, string> = {
  SKIP: 'a batch never starts while the previous one from this schedule runs; that action is skipped',
  BUFFER_ONE: 'a batch due while the previous one runs starts when it ends; at most one waits',
  BUFFER_ALL: 'batches due while the previous one runs start one after another',
  CANCEL_OTHER: 'a batch due cancels the running one (it stops at an item boundary) and starts when it has stopped',
  TERMINATE_OTHER: 'a batch due terminates the running one, which then writes no manifest',
  ALLOW_ALL: 'batches from this schedule may run at the same time',
};

/** When a schedule fires, as the user gave it: exactly one of the two. */
export type ScheduleTiming = { cron: string } | { every: string };

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `--every`: whole days, hours, minutes and seconds, largest first, e.g. 30s, 15m, 1h, 1h30m, 1d. */
export function parseEvery(raw: string): number {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw.trim());
  const ms = match
    ? Number(match[1] ?? 0) * UNIT_MS.d +
      Number(match[2] ?? 0) * UNIT_MS.h +
      Number(match[3] ?? 0) * UNIT_MS.m +
      Number(match[4] ?? 0) * UNIT_MS.s
    : 0;
  if (!(ms > 0)) throw new CliError(`--every takes a duration such as 30s, 15m, 1h, 1h30m or 1d, got "${raw}"`);
  return ms;
}

export function formatEvery(ms: number): string {
  let rest = Math.round(ms / 1000) * 1000;
  let text = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text || '0s';
}

export interface CreateScheduleOptions {
  scheduleId: string;
  timing: ScheduleTiming;
  /** Validated, with the source path made absolute (validateSpecForStart). */
  spec: BatchSpec;
  overlap?: OverlapName;
  taskQueue?: string;
}

export async function createSchedule(client: Client, options: CreateScheduleOptions): Promise<ScheduleHandle> {
  const { scheduleId, timing, spec, overlap = 'skip', taskQueue = TASK_QUEUE } = options;
  const metadata = await batchStartMetadata(client, spec, ` (schedule ${scheduleId})`);
  try {
    return await client.schedule.create({
      scheduleId,
      spec: 'cron' in timing ? { cronExpressions: [timing.cron] } : { intervals: [{ every: parseEvery(timing.every) }] },
      action: {
        type: 'startWorkflow',
        workflowType: BATCH_WORKFLOW_TYPE,
        // Temporal appends the scheduled time, so each action is a batch with an id of its own.
        workflowId: scheduleId,
        taskQueue,
        args: [spec],
        ...metadata,
      },
      policies: { overlap: OVERLAP_POLICIES[overlap] },
      // The server compiles a cron expression into calendar specs; the memo keeps it as written.
      memo: { when: describeTiming(timing) },
    });
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) {
      throw new CliError(
        `schedule "${scheduleId}" already exists; choose another --id, or see it with \`waymark schedule describe ${scheduleId}\``,
      );
    }
    // The client turns the server's "Invalid schedule spec" into a TypeError with the server's reason.
    if (err instanceof TypeError && 'cron' in timing) {
      throw new CliError(
        `--cron "${timing.cron}" was refused by the server (${err.message}); give 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"`,
      );
    }
    throw err;
  }
}

export function describeTiming(timing: ScheduleTiming): string {
  return 'cron' in timing ? `cron ${timing.cron}` : `every ${formatEvery(parseEvery(timing.every))}`;
}

/** A schedule's timing as waymark wrote it, or as the server holds it for a schedule made elsewhere. */
function whenText(memo: Record<string, unknown> | undefined, spec: ScheduleSpecDescription | undefined): string {
  if (typeof memo?.when === 'string') return memo.when;
  const parts = [
    ...(spec?.intervals ?? []).map((i) => `every ${formatEvery(i.every)}${i.offset ? ` offset ${formatEvery(i.offset)}` : ''}`),
    ...(spec?.calendars?.length ? [`${spec.calendars.length} calendar spec(s)`] : []),
  ];
  return parts.join(', ') || 'only when triggered';
}

/** A handle to a schedule that exists, with its description, or one clear line why not. */
export async function existingSchedule(
  client: Client,
  scheduleId: string,
): Promise<{ handle: ScheduleHandle; description: ScheduleDescription }> {
  const handle = client.schedule.getHandle(scheduleId);
  try {
    return { handle, description: await handle.describe() };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new CliError(`no schedule "${scheduleId}" on ${temporalAddress()}; see the schedules with \`waymark schedule list\``);
    }
    throw err;
  }
}

export function overlapText(overlap: string): string {
  return `${overlap} (${OVERLAP_MEANING[overlap] ?? 'see the Temporal docs'})`;
}

/** `waymark schedule describe`: one labelled line per fact. */
export function describeLines(d: ScheduleDescription): string[] {
  const spec = d.action.args?.[0] as Partial<BatchSpec> | undefined;
  const batchIds = d.action.workflowId ?? d.scheduleId;
  return [
    `schedule   ${d.scheduleId}`,
    `when       ${whenText(d.memo, d.spec)}`,
    `state      ${d.state.paused ? 'paused' : 'active'}${d.state.note ? ` (${d.state.note})` : ''}`,
    `overlap    ${overlapText(d.policies.overlap ?? ScheduleOverlapPolicy.SKIP)}`,
    `batch      ${spec?.processor?.name ?? '?'} over ${spec?.source?.kind ?? '?'} ${spec?.source?.path ?? '?'}, task queue ${d.action.taskQueue}`,
    `batch ids  ${batchIds}-<scheduled time>, e.g. ${batchIds}-2026-01-31T02:00:00Z`,
    `actions    ${d.info.numActionsTaken} taken, ${d.info.numActionsSkippedOverlap} skipped (overlap), ${d.info.numActionsMissedCatchupWindow} missed (catch-up window)`,
    `running    ${d.info.runningActions.map((a) => a.workflow.workflowId).join(', ') || '-'}`,
    `recent     ${
      d.info.recentActions
        .slice(-5)
        .map((a) => a.action.workflow.workflowId)
        .join(', ') || '-'
    }`,
    `next       ${
      d.info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || '-'
    }`,
  ];
}

/** `waymark schedule list`: the schedules that start batches, one line each. */
export function summaryLine(s: ScheduleSummary): string {
  const next = s.info.nextActionTimes[0]?.toISOString() ?? '-';
  const last = s.info.recentActions.at(-1)?.action.workflow.workflowId ?? '-';
  return `${s.scheduleId}\t${s.state.paused ? 'paused' : 'active'}\t${whenText(s.memo, s.spec)}\tnext ${next}\tlast ${last}`;
}

export async function* batchSchedules(client: Client): AsyncIterable<ScheduleSummary> {
  for await (const s of client.schedule.list()) {
    if (s.action?.workflowType === BATCH_WORKFLOW_TYPE) yield s;
  }
}

/**
 * When a batch was not running, from its workflow histories: pauses (the pause and resume
 * signals), budget pauses (a slice that stopped at the budget, until resume or configure
 * --budget), quota waits, waits paced by a named rate limit and holds by a quota signal (a
 * slice's quota stop and its wait). The workflow records each of these with its time anyway, so
 * reading them back costs the batch nothing; recording them a second time in the ledger would
 * cost an activity per transition. Histories are kept for the namespace's retention period only:
 * past it, the report says the bands are unavailable.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import type { ProcessSliceResult } from '../contract/activity-io';
import type { BatchConfigChange } from '../contract/messages';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export type BandKind = 'paused' | 'budget' | 'quota' | 'paced' | 'held';

export interface Band {
  kind: BandKind;
  from: number;
  to: number;
  /** e.g. "paced on openai". */
  label: string;
}

export interface BatchHistory {
  bands: Band[];
  /** Each workflow run's start (epoch ms), oldest first. */
  runStarts: number[];
}

const CLOSING_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
]);

function millis(t: HistoryEvent['eventTime']): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/** Every run of the batch, oldest first, by walking the continue-as-new chain back from the latest. */
async function runHistories(client: Client, batchId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined = (await client.workflow.getHandle(batchId).describe()).runId;
  while (runId) {
    const { events } = await client.workflow.getHandle(batchId, runId).fetchHistory();
    runs.unshift(events ?? []);
    runId = events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

export async function batchHistory(client: Client, batchId: string, now = Date.now()): Promise<BatchHistory> {
  const converter = client.options.loadedDataConverter;
  const decode = async <T>(payloads: temporal.api.common.v1.IPayloads | null | undefined): Promise<T | undefined> =>
    payloads?.payloads?.length ? decodeFromPayloadsAtIndex<T>(converter, 0, payloads.payloads) : undefined;
  const bands = new BandBook();
  const runStarts: number[] = [];
  let end = now;
  for (const events of await runHistories(client, batchId)) {
    const activityTypes = new Map<string, string>();
    for (const e of events) {
      const at = millis(e.eventTime);
      switch (e.eventType) {
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
          runStarts.push(at);
          break;
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
          const name = e.workflowExecutionSignaledEventAttributes?.signalName;
          if (name === 'pause') bands.open('paused', at, 'paused');
          if (name === 'resume') bands.close(['paused', 'budget'], at);
          break;
        }
        case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
          const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
          if (request?.name !== 'configure') break;
          const change = await decode<BatchConfigChange>(request.args);
          if (change?.budget !== undefined) bands.close(['budget'], at);
          break;
        }
        case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
          activityTypes.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
          break;
        case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
          const attributes = e.activityTaskCompletedEventAttributes;
          if (activityTypes.get(String(attributes?.scheduledEventId)) !== 'processSlice') break;
          const result = await decode<ProcessSliceResult>(attributes?.result);
          if (result?.outcome === 'quota') quotaBand(bands, result, at);
          break;
        }
        default:
          if (CLOSING_EVENTS.has(e.eventType ?? 0)) end = at;
      }
    }
  }
  return { bands: bands.finish(end), runStarts };
}

function quotaBand(bands: BandBook, stop: Extract<ProcessSliceResult, { outcome: 'quota' }>, at: number): void {
  if (stop.budgetReached) {
    bands.open('budget', at, 'budget reached');
    return;
  }
  const until = at + stop.retryAfterMs;
  if (stop.pacedOn !== undefined) bands.add({ kind: 'paced', from: at, to: until, label: `paced on ${stop.pacedOn}` });
  else if (stop.heldOn !== undefined) bands.add({ kind: 'held', from: at, to: until, label: `held on ${stop.heldOn}` });
  else bands.add({ kind: 'quota', from: at, to: until, label: 'waiting for quota' });
}

/** Bands as the events open and close them; overlapping bands of one kind and label merge. */
class BandBook {
  private readonly done: Band[] = [];
  private readonly opened = new Map<BandKind, { from: number; label: string }>();

  open(kind: BandKind, at: number, label: string): void {
    if (!this.opened.has(kind)) this.opened.set(kind, { from: at, label });
  }

  close(kinds: BandKind[], at: number): void {
    for (const kind of kinds) {
      const band = this.opened.get(kind);
      if (band === undefined) continue;
      this.opened.delete(kind);
      this.add({ kind, from: band.from, to: at, label: band.label });
    }
  }

  add(band: Band): void {
    const last = [...this.done].reverse().find((b) => b.kind === band.kind && b.label === band.label);
    if (last !== undefined && band.from <= last.to) last.to = Math.max(last.to, band.to);
    else this.done.push({ ...band });
  }

  /** Bands still open when the batch closed (or now, while it runs) end there; none outlasts it. */
  finish(end: number): Band[] {
    this.close([...this.opened.keys()], end);
    return this.done.map((b) => ({ ...b, to: Math.min(b.to, end) })).sort((a, b) => a.from - b.from);
  }
}

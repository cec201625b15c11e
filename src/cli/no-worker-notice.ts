/**
 * What a batch cannot tell by itself: that no worker runs it. A batch's events are sent by its
 * workers, so when every worker is gone nothing is sent; `waymark status BATCH --watch --notify
 * URL`, run on another machine, watches the batch's task queue and sends `batch.no_workers` once
 * no worker has polled it for `afterMs`, and `batch.resumed` when one polls again. A worker that
 * died still shows as a poller for about a minute (Temporal keeps a poller until its long poll
 * would have ended), so a gone worker is told about a minute plus `afterMs` later.
 */
import type { WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { BatchProgress } from '../contract/messages';
import type { NotificationEvent, NotifyTarget } from '../contract/notifications';
import { sendOnce } from '../notifications/webhook';
import { webUiLink } from '../notifications/web-ui-link';
import { describeState } from '../workflows/details';

/** A poller seen within this long still polls: a long poll lasts up to a minute. */
const POLLER_ALIVE_MS = 70_000;
/** Attempts to send each event from here; the watching process has no Temporal retries behind it. */
const ATTEMPTS = 5;

export interface NoWorkerNoticeOptions {
  client: WorkflowClient;
  batchId: string;
  taskQueue: string;
  targets: NotifyTarget[];
  afterMs: number;
  /** The batch's progress as the watch last saw it, for the event's counts. */
  lastSeen: () => BatchProgress | undefined;
  say: (line: string) => void;
}

/** Starts watching; returns the function that stops it. */
export function noWorkerNotice(o: NoWorkerNoticeOptions): () => void {
  let stopped = false;
  let missingSince: number | undefined;
  let told = false;
  let timer: NodeJS.Timeout | undefined;
  const checkEveryMs = Math.min(10_000, Math.max(500, o.afterMs / 4));
  const check = async () => {
    try {
      const now = Date.now();
      if (await workerAlive(o.client, o.taskQueue, now)) {
        if (told) await tell(o, 'resumed', now);
        missingSince = undefined;
        told = false;
      } else {
        missingSince ??= now;
        if (!told && now - missingSince >= o.afterMs) {
          told = true;
          await tell(o, 'no-workers', now, missingSince);
        }
      }
    } catch {
      // The server did not answer describeTaskQueue: nothing can be told either way; the next check asks again.
    }
    if (!stopped) timer = setTimeout(() => void check(), checkEveryMs);
  };
  void check();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

async function workerAlive(client: WorkflowClient, taskQueue: string, now: number): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers ?? []).some((p) => {
    const t = p.lastAccessTime;
    const at = Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
    return now - at < POLLER_ALIVE_MS;
  });
}

async function tell(o: NoWorkerNoticeOptions, name: 'no-workers' | 'resumed', now: number, since?: number): Promise<void> {
  const p = o.lastSeen();
  const event: NotificationEvent = {
    id: `${o.batchId}/watch/${name}/${now}`,
    name,
    at: now,
    batchId: o.batchId,
    state: p ? describeState(p) : 'unknown',
    ...(p?.total !== undefined ? { total: p.total } : {}),
    succeeded: p?.succeeded ?? 0,
    failed: p?.failed ?? 0,
    redone: p?.redone ?? 0,
    resumeCostBound: p?.resumeCostBound ?? 0,
    ...(since !== undefined ? { since } : {}),
    ...(name === 'resumed' ? { resumedFrom: 'no-workers' as const } : {}),
  };
  const links = { webUi: webUiLink(o.batchId, o.client.options.namespace) };
  for (const target of o.targets) {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const { verdict } = await sendOnce(target, event, links).catch((err: Error) => ({
        verdict: { kind: 'give-up' as const, why: err.message },
      }));
      if (verdict.kind === 'delivered') break;
      if (verdict.kind === 'give-up' || attempt === ATTEMPTS) {
        o.say(`could not send ${name} to ${target.url}: ${verdict.why}`);
        break;
      }
      await new Promise((r) => setTimeout(r, verdict.afterMs ?? 1000 * 2 ** attempt));
    }
  }
}

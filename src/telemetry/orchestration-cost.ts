/**
 * A batch's orchestration cost (INVARIANTS.md I15): the Temporal Cloud actions it took, counted
 * from its workflow histories the way the server's `action` metric counts them (a workflow start
 * or continue-as-new, each activity scheduled and each retry of it, each timer, search attribute
 * upsert, signal, update and child workflow start, and one per workflow task that records
 * markers), over every run of the batch and the notification workflows it started; plus the
 * heartbeats its slices recorded, which no history holds. Queries are the watcher's, not the
 * batch's: watching with the ledger at hand costs none (I12).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

export interface OrchestrationCost {
  /** Actions by type, named as the server's `action` metric names them. */
  byType: Record<string, number>;
  total: number;
  /** Per 1,000 items with an outcome. */
  per1000Items: number;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

const ACTION_OF_EVENT = new Map<temporal.api.enums.v1.EventType, string>([
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 'ContinueAsNewWorkflowExecution'],
  [EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 'ScheduleActivityTask'],
  [EventType.EVENT_TYPE_TIMER_STARTED, 'StartTimer'],
  [EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 'UpsertWorkflowSearchAttributes'],
  [EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, 'ModifyWorkflowProperties'],
  [EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 'StartChildWorkflowExecution'],
  [EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, 'SignalExternalWorkflowExecution'],
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 'SignalWorkflowExecution'],
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 'UpdateWorkflowExecution'],
]);

function add(into: Record<string, number>, type: string, n = 1): void {
  if (n > 0) into[type] = (into[type] ?? 0) + n;
}

/** The actions one run's history records; a child's start is its parent's action, not its own. */
export function actionsInHistory(events: HistoryEvent[], into: Record<string, number> = {}): Record<string, number> {
  let markersInTask = false;
  for (const e of events) {
    const type = e.eventType ?? EventType.EVENT_TYPE_UNSPECIFIED;
    const action = ACTION_OF_EVENT.get(type);
    if (action !== undefined) add(into, action);
    else if (type === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
      const started = e.workflowExecutionStartedEventAttributes;
      if (!started?.continuedExecutionRunId && !started?.parentWorkflowExecution) add(into, 'StartWorkflowExecution');
    } else if (type === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      // Only an activity's last attempt is in history; the ones before it were retries.
      add(into, 'RetryActivityTask', (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
    } else if (type === EventType.EVENT_TYPE_MARKER_RECORDED && !markersInTask) {
      // The markers a workflow task records (local activities, patches) are billed once for the task.
      markersInTask = true;
      add(into, 'BatchMarkers');
    } else if (type === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) markersInTask = false;
  }
  return into;
}

/**
 * The batch's cost so far: every run from the latest back along the continue-as-new chain, each
 * child it started, and `heartbeats` as its slices counted them.
 */
export async function batchOrchestrationCost(
  client: Client,
  batchId: string,
  heartbeats: number,
  items: number,
): Promise<OrchestrationCost> {
  const byType: Record<string, number> = {};
  add(byType, 'RecordActivityTaskHeartbeat', heartbeats);
  let runId: string | undefined = (await client.workflow.getHandle(batchId).describe()).runId;
  while (runId !== undefined) {
    const events: HistoryEvent[] = (await client.workflow.getHandle(batchId, runId).fetchHistory()).events ?? [];
    actionsInHistory(events, byType);
    for (const e of events) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId && child.runId) {
        actionsInHistory((await client.workflow.getHandle(child.workflowId, child.runId).fetchHistory()).events ?? [], byType);
      }
    }
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  const total = Object.values(byType).reduce((a, b) => a + b, 0);
  return { byType, total, per1000Items: items > 0 ? Math.round((total / items) * 10_000) / 10 : 0 };
}

/** One line: the total, per 1,000 items, and the types largest first. */
export function describeCost(c: OrchestrationCost): string {
  const types = Object.entries(c.byType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  return `${c.total} Temporal Cloud actions, ${c.per1000Items} per 1,000 items (${types})`;
}

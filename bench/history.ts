/**
 * What a batch's history says: events of each workflow run (oldest first, found by walking the
 * continue-as-new chain back), and the attempts of one activity type: a slice attempt past the
 * first means the previous one failed or timed out (e.g. its heartbeats stopped).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;

export interface HistoryStats {
  eventsPerRun: number[];
  events: number;
  /** Activities of the given type that completed. */
  activities: number;
  /** Those whose completing attempt was not their first (earlier attempts failed or timed out). */
  retriedActivities: number;
  /** Mean milliseconds from an activity's scheduling to the start of its completing attempt. */
  meanScheduleToStartMs: number;
  /** Minutes the completed activities were open, summed: from their scheduling to their completion. */
  activityMinutes: number;
}

function millis(t: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

export async function historyStats(client: Client, workflowId: string, activityType: string): Promise<HistoryStats> {
  const eventsPerRun: number[] = [];
  let activities = 0;
  let retriedActivities = 0;
  let scheduleToStart = 0;
  let running = 0;
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    eventsPerRun.unshift(events.length);
    const scheduled = new Map<string, number>();
    const started = new Map<string, number>();
    for (const e of events) {
      const at = millis(e.eventTime);
      const id = String(e.eventId);
      if (
        e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === activityType
      ) {
        scheduled.set(id, at);
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const of = String(e.activityTaskStartedEventAttributes?.scheduledEventId);
        if (scheduled.has(of)) {
          started.set(of, at);
          if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedActivities++;
        }
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        const of = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
        const begin = started.get(of);
        if (begin !== undefined) {
          activities++;
          scheduleToStart += begin - scheduled.get(of)!;
          // From its scheduling: a started event is written only with the completion, at its time.
          running += at - scheduled.get(of)!;
        }
      }
    }
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return {
    eventsPerRun,
    events: eventsPerRun.reduce((a, b) => a + b, 0),
    activities,
    retriedActivities,
    meanScheduleToStartMs: activities ? scheduleToStart / activities : 0,
    activityMinutes: running / 60_000,
  };
}

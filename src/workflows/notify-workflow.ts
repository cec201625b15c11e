/**
 * notifyWorkflow: delivers one event of a batch to its targets (INVARIANTS.md I16). The batch
 * starts it as a child with ParentClosePolicy ABANDON and the event's id as its workflow id, so
 * each event is delivered by exactly one workflow, which outlives the batch's run if it must, and
 * the batch never waits on a receiver. Each target gets its own activity, retried with backoff
 * for up to a day; one target that cannot take the event does not hold up the others. The
 * workflow fails, naming them, when any target gave up: that is what `waymark status` lists.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import { eventType, type NotificationEvent, type NotifyTarget } from '../contract/notifications';
import { notifyActivityOptions } from './activity-options';

export interface NotifyInput {
  event: NotificationEvent;
  targets: NotifyTarget[];
}

const { deliverNotification } = proxyActivities<WaymarkActivities>(notifyActivityOptions);

export async function notifyWorkflow({ event, targets }: NotifyInput): Promise<{ delivered: number }> {
  const results = await Promise.allSettled(targets.map((target) => deliverNotification({ event, target })));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [innermost(r.reason as Error)] : []));
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `${eventType(event.name)} of batch ${event.batchId} reached ${targets.length - failed.length} of ${targets.length} targets; ${failed.join('; ')}`,
      'NotificationNotDelivered',
    );
  }
  return { delivered: targets.length };
}

function innermost(err: Error): string {
  let e = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

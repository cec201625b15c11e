/**
 * deliverNotification: one event to one target, one attempt per activity attempt (INVARIANTS.md
 * I16). Temporal retries it with backoff, after the receiver's Retry-After when it names one,
 * and a worker that dies mid-send leaves the attempt to time out and run again elsewhere, with
 * the same webhook-id. A target that can never take it (410, another 4xx, a worker without the
 * variable the target names) fails for good, with a line in the worker's log; the notify
 * workflow it runs in then fails, which `waymark status` lists. The batch never waits on any of it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { NotificationEvent, NotifyTarget } from '../contract/notifications';
import type { Ledger } from '../ledger/ledger';
import { sendOnce, TargetConfigError, type Delivery } from '../notifications/webhook';
import { webUiLink } from '../notifications/web-ui-link';
import { publishReport } from '../notifications/published-report';

export interface DeliverNotificationInput {
  event: NotificationEvent;
  target: NotifyTarget;
}

/** The failure type of a notification given up on. */
export const NOT_DELIVERED = 'NotificationNotDelivered';
/** The events after which the batch has a whole report to link to. */
const ENDINGS = new Set<NotificationEvent['name']>(['finished', 'finished-with-failures', 'failed', 'cancelled']);
/** Failure types per event with failure types listed. */
const TYPES_LISTED = 5;

export async function deliverNotification(
  deps: { ledger: Ledger },
  { event, target }: DeliverNotificationInput,
): Promise<{ status: number }> {
  const ctx = Context.current();
  const about = { batchId: event.batchId, event: event.id, type: event.name, target: target.url };
  const giveUp = (why: string): never => {
    ctx.log.warn(`notification not delivered, given up: ${why}`, about);
    throw ApplicationFailure.nonRetryable(`${event.name} to ${target.url} not delivered: ${why}`, NOT_DELIVERED);
  };
  const report = ENDINGS.has(event.name)
    ? await publishReport(event.batchId, deps.ledger, ctx.client).catch((err: Error) => {
        // The event matters more than its link: it goes out without one.
        ctx.log.warn(`report not written to WAYMARK_REPORT_DIR: ${err.message}`, about);
        return undefined;
      })
    : undefined;
  const links = {
    webUi: webUiLink(event.batchId, ctx.info.workflowNamespace ?? ctx.client.options.namespace),
    ...(report ? { report } : {}),
  };
  let delivery: Delivery;
  try {
    delivery = await sendOnce(target, await withLedgerDetail(deps.ledger, event), links);
  } catch (err) {
    if (err instanceof TargetConfigError) return giveUp(err.message);
    throw err;
  }
  const { verdict } = delivery;
  if (verdict.kind === 'delivered') return { status: delivery.status! };
  if (verdict.kind === 'give-up') return giveUp(verdict.why);
  ctx.log.info(`notification attempt ${ctx.info.attempt} not delivered, tried again: ${verdict.why}`, about);
  throw ApplicationFailure.create({
    message: `${event.name} to ${target.url}: ${verdict.why}`,
    type: 'NotificationRetry',
    ...(verdict.afterMs !== undefined ? { nextRetryDelay: verdict.afterMs } : {}),
  });
}

/**
 * What the ledger adds that the workflow does not hold: the failure types of a batch that
 * finished with failures, and what a batch whose budget was reached has used (the workflow's
 * figure is as old as its last read).
 */
async function withLedgerDetail(ledger: Ledger, event: NotificationEvent): Promise<NotificationEvent> {
  if (event.name === 'finished-with-failures') {
    const byType = (await ledger.totals(event.batchId)).failedByType ?? {};
    const top = Object.entries(byType)
      .sort((a, b) => b[1] - a[1])
      .slice(0, TYPES_LISTED);
    return { ...event, failedByType: Object.fromEntries(top) };
  }
  if (event.name === 'budget-reached' && event.budget !== undefined) {
    return { ...event, budget: { ...event.budget, used: await ledger.usageOf(event.batchId, event.budget.unit) } };
  }
  return event;
}

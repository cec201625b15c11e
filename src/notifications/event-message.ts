/**
 * An event as each format sends it: a line of text for a Slack incoming webhook (`{"text": ...}`),
 * or a Standard Webhooks event (`{type, timestamp, data}`) for any JSON receiver. Both carry the
 * batch id, counts, usage, redone and bound, the Web UI link, and the command that acts on the event.
 */
import { eventType, type NotificationEvent } from '../contract/notifications';
import { formatDuration, formatUsage } from '../workflows/details';

export interface EventLinks {
  /** The batch in the Temporal Web UI. */
  webUi?: string;
  /** The batch's HTML report, where the worker publishes reports (WAYMARK_REPORT_URL). */
  report?: string;
}

const n = (v: number) => v.toLocaleString('en-US');
const utc = (ms: number) =>
  `${new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;

/** The commands that act on the event, by what they do. */
export function eventCommands(e: NotificationEvent): Record<string, string> {
  const id = e.batchId;
  switch (e.name) {
    case 'finished-with-failures':
      return { failures: `waymark failures ${id}`, redrive: `waymark redrive ${id}`, report: `waymark report ${id}` };
    case 'finished':
    case 'failed':
    case 'cancelled':
      return { status: `waymark status ${id}`, report: `waymark report ${id}` };
    case 'budget-reached':
      return { configure: `waymark configure ${id} --budget N`, status: `waymark status ${id}` };
    default:
      return { status: `waymark status ${id} --watch` };
  }
}

/** What happened, in one sentence. */
function headline(e: NotificationEvent): string {
  const batch = `waymark batch ${e.batchId}`;
  switch (e.name) {
    case 'finished':
      return `${batch} finished: all ${n(e.succeeded)} items succeeded`;
    case 'finished-with-failures': {
      const types = Object.entries(e.failedByType ?? {})
        .map(([type, count]) => `${type} ${n(count)}`)
        .join(', ');
      return `${batch} finished with failures: ${n(e.failed)} of ${n(e.succeeded + e.failed)} items failed${types ? ` (${types})` : ''}`;
    }
    case 'failed':
      return `${batch} failed: ${e.reason ?? 'see the Web UI'}`;
    case 'cancelled':
      return `${batch} was cancelled; what it finished is kept${e.pending ? `, ${n(e.pending)} items pending` : ''}`;
    case 'budget-reached': {
      const b = e.budget;
      return `${batch} paused: budget reached${b ? ` (${b.unit} ${b.used === undefined ? '?' : n(b.used)} of ${n(b.max)})` : ''}`;
    }
    case 'quota-wait':
      return `${batch} is waiting for quota${e.waitingOn ? ` on ${e.waitingOn}` : ''}${e.until !== undefined ? ` until ${utc(e.until)}` : ''}`;
    case 'stalled':
      return `${batch} stalled: no item committed since ${e.since !== undefined ? `${utc(e.since)} (${formatDuration(e.at - e.since)})` : 'it started'}`;
    case 'resumed':
      return `${batch} resumed: items are being committed again${e.resumedFrom ? ` after ${e.resumedFrom.replace(/-/g, ' ')}` : ''}`;
    case 'no-workers':
      return `${batch} has no worker: none polls its task queue, so it neither runs nor can tell anything${e.since !== undefined ? ` (since ${utc(e.since)})` : ''}`;
    case 'test':
      return `waymark test notification for ${e.batchId}: this is what an event looks like`;
  }
}

/** Counts, usage, redone and bound: the line every event ends with. */
function progressLine(e: NotificationEvent): string {
  const of = e.total === undefined ? '' : ` of ${n(e.total)}`;
  const usage = e.usage !== undefined && Object.keys(e.usage).length > 0 ? `; usage ${formatUsage(e.usage)}` : '';
  return `${n(e.succeeded)} succeeded, ${n(e.failed)} failed${of}${usage}; redone ${n(e.redone)} (bound ${n(e.resumeCostBound)} per interruption)`;
}

export function slackMessage(e: NotificationEvent, links: EventLinks): { text: string } {
  const commands = Object.entries(eventCommands(e))
    .map(([what, command]) => `${what}: \`${command}\``)
    .join(' · ');
  const linkText = [links.webUi && `<${links.webUi}|Web UI>`, links.report && `<${links.report}|report>`].filter(Boolean).join(' · ');
  return { text: [`*${headline(e)}*`, progressLine(e), commands, linkText].filter(Boolean).join('\n') };
}

/** A Standard Webhooks event: `type`, an ISO `timestamp` and the event's data, links and commands. */
export function jsonEvent(e: NotificationEvent, links: EventLinks): { type: string; timestamp: string; data: Record<string, unknown> } {
  const { id: _id, name: _name, at, ...fields } = e;
  return {
    type: eventType(e.name),
    timestamp: new Date(at).toISOString(),
    data: { ...fields, summary: headline(e), links, commands: eventCommands(e) },
  };
}

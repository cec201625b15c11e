/**
 * Notifications: where a batch tells its state transitions (the spec's `notify`), and the event
 * it sends. Workflow code builds events and imports this, so it is pure (no I/O, no clock).
 * Secrets never enter the spec or history (INVARIANTS.md I1): a URL that carries a token and a
 * signing key are named as `${env:NAME}`, which only the worker that sends resolves.
 */
import { z } from 'zod';
import type { Usage } from './usage';

/** The events, as the spec's `events` names them; the JSON `type` is `batch.` + the name with `_` for `-`. */
export const NOTIFY_EVENTS = [
  'finished',
  'finished-with-failures',
  'failed',
  'cancelled',
  'budget-reached',
  'quota-wait',
  'stalled',
  'resumed',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

/** The workflow that delivers one event (src/workflows/notify-workflow.ts). */
export const NOTIFY_WORKFLOW_TYPE = 'notifyWorkflow';

export const NOTIFY_FORMATS = ['slack', 'json'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

export const NOTIFY_DEFAULTS = { quotaWaitMs: 10 * 60_000, stalledMs: 15 * 60_000 } as const;

/** `${env:NAME}`: a value the worker reads from its own environment when it sends. */
export const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Hosts whose webhook URLs are themselves the secret (the path is the token). */
const SECRET_URL_HOSTS = ['hooks.slack.com', 'discord.com', 'discordapp.com', 'webhook.office.com'];

/** Why a URL written into the spec as it is would put a secret into workflow history, if it would. */
export function literalUrlProblem(url: string): string | undefined {
  if (url.replace(ENV_REFERENCE, '') !== url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `is not a URL; write an http(s) URL, or \${env:NAME} to take it from the workers' environment`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be an http:// or https:// URL, not ${parsed.protocol}`;
  const secret = parsed.username || parsed.password ? 'a user or password' : parsed.search ? 'a query string' : undefined;
  const secretHost = SECRET_URL_HOSTS.find((h) => parsed.hostname === h || parsed.hostname.endsWith(`.${h}`));
  if (secret === undefined && secretHost === undefined) return undefined;
  return (
    `carries ${secret ?? `its secret (a ${secretHost} webhook URL is the token)`}, which would be kept in workflow history; ` +
    'set it in the workers\' environment and write "${env:NAME}" (e.g. "${env:SLACK_WEBHOOK_URL}") instead'
  );
}

export const notifyTargetSchema = z.strictObject({
  url: z
    .string({ error: 'must be the URL to send to, or "${env:NAME}" to read it from the workers\' environment' })
    .min(1, { error: 'must not be empty' })
    .superRefine((url, ctx) => {
      const problem = literalUrlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** slack: `{"text": ...}`; json: a Standard Webhooks event. Default: slack for a Slack webhook URL, else json. */
  format: z.enum(NOTIFY_FORMATS, { error: `must be one of ${NOTIFY_FORMATS.join(', ')}` }).optional(),
  /** json: the workers' environment variable holding the Standard Webhooks signing secret (whsec_...). */
  secretEnv: z
    .string({ error: 'must name an environment variable' })
    .regex(ENV_NAME, { error: 'must be the name of an environment variable (letters, digits, _), not the secret itself' })
    .optional(),
  /** The events this target gets; default all. */
  events: z
    .array(z.enum(NOTIFY_EVENTS, { error: `must be events among ${NOTIFY_EVENTS.join(', ')}` }))
    .min(1, { error: 'must name at least one event (leave it out for all)' })
    .optional(),
});
export type NotifyTarget = z.output<typeof notifyTargetSchema>;

const milliseconds = (what: string) =>
  z
    .number({ error: `must be a whole number of milliseconds (${what})` })
    .int({ error: `must be a whole number of milliseconds (${what})` })
    .min(1000, { error: `must be at least 1000 ms (${what})` });

export const notifySchema = z.strictObject({
  targets: z
    .array(notifyTargetSchema, { error: 'must be a list of targets, e.g. [{"url": "${env:SLACK_WEBHOOK_URL}"}]' })
    .min(1, { error: 'must name at least one target' })
    .max(10, { error: 'must name at most 10 targets' }),
  /** A quota wait announced or lasting longer than this is an event. */
  quotaWaitMs: milliseconds('a quota wait longer than this is told').default(NOTIFY_DEFAULTS.quotaWaitMs),
  /** No item committed for this long while running (not paused nor waiting) is an event. */
  stalledMs: milliseconds('no item committed for this long is told').default(NOTIFY_DEFAULTS.stalledMs),
});
export type NotifySpec = z.output<typeof notifySchema>;

/** What an event says, built by the workflow from counters and state only: never item data (I1), never a secret. */
export interface NotificationEvent {
  /** Unique per event and the same on every retry of it: the webhook-id receivers de-duplicate on. */
  id: string;
  /** no-workers: sent by `waymark status --watch --notify`, which watches from elsewhere; test: by `waymark notify test`. */
  name: NotifyEventName | 'no-workers' | 'test';
  /** Epoch ms of the transition (workflow time). */
  at: number;
  batchId: string;
  /** The batch's state as `waymark status` names it, e.g. "budget reached (tokens 1,050 of 1,000)". */
  state: string;
  total?: number;
  succeeded: number;
  failed: number;
  pending?: number;
  usage?: Usage;
  redone: number;
  resumeCostBound: number;
  /** finished-with-failures: the most frequent failure types and their counts. */
  failedByType?: Record<string, number>;
  /** failed: why. */
  reason?: string;
  /** budget-reached: the budget and what was used of it. */
  budget?: { unit: string; max: number; used?: number };
  /** quota-wait: when the wait ends (epoch ms), and the rate limit key behind it, if any. */
  until?: number;
  waitingOn?: string;
  /** stalled: since when no item was committed (epoch ms). */
  since?: number;
  /** resumed: what it resumed from. */
  resumedFrom?: 'budget-reached' | 'quota-wait' | 'stalled' | 'no-workers';
}

/** The JSON webhook's event type: `batch.finished_with_failures`. */
export function eventType(name: NotificationEvent['name']): string {
  return `batch.${name.replace(/-/g, '_')}`;
}

/** Whether a target takes an event. */
export function targetTakes(target: Pick<NotifyTarget, 'events'>, name: NotifyEventName): boolean {
  return target.events === undefined || target.events.includes(name);
}

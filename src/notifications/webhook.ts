/**
 * Sending one event to one target, once, and what its answer means: delivered (2xx), try again
 * (429, 408, 5xx, no answer; after Retry-After when the receiver names one), or give up (410
 * Gone, and any other 4xx, which a retry cannot fix), as Slack's and the Standard Webhooks
 * spec's receivers answer. Secrets come from the sender's environment here and nowhere else.
 */
import { Webhook } from 'standardwebhooks';
import { ENV_REFERENCE, type NotificationEvent, type NotifyFormat, type NotifyTarget } from '../contract/notifications';
import { jsonEvent, slackMessage, type EventLinks } from './event-message';

/** How long a receiver has to answer (Standard Webhooks suggests 15 to 30 s). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** The longest Retry-After honoured; a receiver asking for more is tried again after this. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** Of an answer's body, what a log line or `notify test` shows. */
const BODY_SHOWN = 300;

/** A target that cannot be sent to as configured: retrying does not help, the worker's environment must change. */
export class TargetConfigError extends Error {}

export type Verdict = { kind: 'delivered' } | { kind: 'retry'; afterMs?: number; why: string } | { kind: 'give-up'; why: string };

export interface Delivery {
  /** The receiver's answer; absent when none came (refused, timed out). */
  status?: number;
  body?: string;
  verdict: Verdict;
}

/** The target's URL with every `${env:NAME}` read from `env`. */
export function resolveUrl(target: Pick<NotifyTarget, 'url'>, env: NodeJS.ProcessEnv): string {
  return target.url.replace(ENV_REFERENCE, (_, name: string) => {
    const value = env[name];
    if (!value)
      throw new TargetConfigError(`the notify URL ${target.url} names ${name}, which is not set in this worker's environment; set it`);
    return value;
  });
}

/** slack for a Slack incoming webhook, else json, unless the target says. */
export function formatFor(target: Pick<NotifyTarget, 'format'>, url: string): NotifyFormat {
  return target.format ?? (new URL(url).hostname === 'hooks.slack.com' ? 'slack' : 'json');
}

/** The request for one attempt: the body, and the Standard Webhooks headers (signed when a secret is named). */
export function webhookRequest(
  target: NotifyTarget,
  event: NotificationEvent,
  links: EventLinks,
  env: NodeJS.ProcessEnv,
  now = new Date(),
): { url: string; body: string; headers: Record<string, string> } {
  const url = resolveUrl(target, env);
  const format = formatFor(target, url);
  const body = JSON.stringify(format === 'slack' ? slackMessage(event, links) : jsonEvent(event, links));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'waymark' };
  if (format === 'json') {
    headers['webhook-id'] = event.id;
    headers['webhook-timestamp'] = String(Math.floor(now.getTime() / 1000));
    if (target.secretEnv !== undefined) headers['webhook-signature'] = sign(target.secretEnv, env, event.id, now, body);
  }
  return { url, body, headers };
}

function sign(secretEnv: string, env: NodeJS.ProcessEnv, id: string, now: Date, body: string): string {
  const secret = env[secretEnv];
  if (!secret) throw new TargetConfigError(`the notify target's secretEnv ${secretEnv} is not set in this worker's environment; set it`);
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    throw new TargetConfigError(
      `${secretEnv} is not a Standard Webhooks secret: it must be base64, optionally after "whsec_" (make one with \`echo whsec_$(openssl rand -base64 32)\`)`,
    );
  }
  return webhook.sign(id, now, body);
}

/** One attempt: POSTs the event and judges the answer. */
export async function sendOnce(target: NotifyTarget, event: NotificationEvent, links: EventLinks, env = process.env): Promise<Delivery> {
  const { url, body, headers } = webhookRequest(target, event, links, env);
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'error' });
  } catch (err) {
    const cause = (err as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : rootCause(err as Error);
    return { verdict: { kind: 'retry', why: cause } };
  }
  const text = (await response.text().catch(() => '')).slice(0, BODY_SHOWN);
  return { status: response.status, body: text, verdict: judge(response.status, response.headers.get('retry-after'), text) };
}

export function judge(status: number, retryAfter: string | null, body: string): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  const answer = `the receiver answered ${status}${body ? ` ${body.split('\n')[0]}` : ''}`;
  if (status === 410) return { kind: 'give-up', why: `${answer}: the endpoint is gone (410), so it is not tried again` };
  if (status === 408 || status === 429 || status >= 500) {
    const afterMs = retryAfterMs(retryAfter);
    return { kind: 'retry', why: answer, ...(afterMs !== undefined ? { afterMs } : {}) };
  }
  return { kind: 'give-up', why: `${answer}: a retry cannot fix a ${status}; check the URL and the receiver` };
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : undefined;
}

function rootCause(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}

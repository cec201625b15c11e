/**
 * The notify flags of `waymark start` and `waymark status --watch`: where to send a batch's
 * events (`--notify URL`, repeatable), which ones, and the signing secret's variable. Without
 * `--notify`, WAYMARK_NOTIFY_URL names the default target: the spec then holds
 * `${env:WAYMARK_NOTIFY_URL}`, never the URL, which the workers read from their own environment.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { NOTIFY_EVENTS, type NotifyEventName } from '../contract/notifications';

export interface NotifyFlags {
  notify?: string[];
  notifyEvents?: NotifyEventName[];
  notifySecretEnv?: string;
}

export const DEFAULT_NOTIFY_VARIABLE = 'WAYMARK_NOTIFY_URL';

export function addNotifyOptions(command: Command, what: string): Command {
  return command
    .option(
      '--notify <url>',
      `${what}: a URL, or \${env:NAME} for one in the workers' environment; repeatable (default: \${env:${DEFAULT_NOTIFY_VARIABLE}} when that is set)`,
      (url: string, urls: string[] = []) => [...urls, url],
    )
    .option(
      '--notify-events <list>',
      `with --notify: the events to send, comma-separated (default all): ${NOTIFY_EVENTS.join(', ')}`,
      eventList,
    )
    .option(
      '--notify-secret-env <variable>',
      "with --notify: the workers' variable holding the Standard Webhooks signing secret (whsec_...)",
    );
}

function eventList(raw: string): NotifyEventName[] {
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(NOTIFY_EVENTS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(`--notify-events takes events among ${NOTIFY_EVENTS.join(', ')}, got "${unknown.join(', ') || raw}"`);
  }
  return names as NotifyEventName[];
}

/** The spec's notify targets the flags name; undefined when none (and no default). */
export function notifyTargets(
  flags: NotifyFlags,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; events?: NotifyEventName[]; secretEnv?: string }[] | undefined {
  const urls = flags.notify ?? (env[DEFAULT_NOTIFY_VARIABLE] ? [`\${env:${DEFAULT_NOTIFY_VARIABLE}}`] : []);
  if (urls.length === 0) return undefined;
  return urls.map((url) => ({
    url,
    ...(flags.notifyEvents ? { events: flags.notifyEvents } : {}),
    ...(flags.notifySecretEnv ? { secretEnv: flags.notifySecretEnv } : {}),
  }));
}

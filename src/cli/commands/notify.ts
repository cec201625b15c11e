/** `waymark notify test`: sends a sample event to a target and says what the receiver answered. */
import { Option, type Command } from 'commander';
import { literalUrlProblem, NOTIFY_FORMATS, type NotificationEvent, type NotifyFormat } from '../../contract/notifications';
import { sendOnce, TargetConfigError } from '../../notifications/webhook';
import { webUiLink } from '../../notifications/web-ui-link';
import { temporalNamespace } from '../../settings';
import { CliError } from '../../user-error';

export function addNotifyCommand(program: Command): void {
  const notify = program.command('notify').description('notifications: try a target before a batch relies on it');
  notify
    .command('test')
    .description('send a sample event to URL (or ${env:NAME}) and print what the receiver answered')
    .argument('<url>', 'the target, as a spec would name it')
    .addOption(new Option('--format <format>', 'slack or json (default: slack for a Slack webhook URL, else json)').choices(NOTIFY_FORMATS))
    .option('--secret-env <variable>', 'json: the variable holding the Standard Webhooks signing secret (whsec_...)')
    .action(notifyTest);
}

async function notifyTest(url: string, o: { format?: NotifyFormat; secretEnv?: string }): Promise<void> {
  // The same check as the spec's, so what works here works in a batch.
  const problem = literalUrlProblem(url);
  if (problem) throw new CliError(`${url} ${problem}`);
  const now = Date.now();
  const event: NotificationEvent = {
    id: `notify-test-${now}`,
    name: 'test',
    at: now,
    batchId: 'notify-test',
    state: 'completed',
    total: 1000,
    succeeded: 997,
    failed: 3,
    usage: { tokens: 123456 },
    redone: 2,
    resumeCostBound: 4,
  };
  const target = { url, ...(o.format ? { format: o.format } : {}), ...(o.secretEnv ? { secretEnv: o.secretEnv } : {}) };
  let delivery;
  try {
    delivery = await sendOnce(target, event, { webUi: webUiLink(event.batchId, temporalNamespace()) });
  } catch (err) {
    if (err instanceof TargetConfigError) throw new CliError(err.message);
    throw err;
  }
  const answer = delivery.status === undefined ? 'no answer' : `${delivery.status}${delivery.body ? ` ${delivery.body}` : ''}`;
  const { verdict } = delivery;
  if (verdict.kind === 'delivered') {
    console.log(`delivered: the receiver answered ${answer}`);
    return;
  }
  const meaning =
    verdict.kind === 'retry'
      ? `a batch would try again${verdict.afterMs !== undefined ? ` after ${Math.round(verdict.afterMs / 1000)} s (its Retry-After)` : ' with backoff'}`
      : 'a batch would give up on this target';
  throw new CliError(`not delivered: ${verdict.why}; ${meaning}`);
}

/** `waymark list`: batches on the server, newest first. */
import type { Command } from 'commander';
import { BATCH_WORKFLOW_TYPE } from '../../contract/messages';
import { WAYMARK_FAILED, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../../contract/search-attributes';
import { temporalAddress } from '../../settings';
import { connectClient } from '../../connection/connect';
import { wholeNumber } from '../flag-values';
import { serverRefusal } from '../server-refusal';
import { CliError } from '../../user-error';

export function addListCommand(program: Command): void {
  program
    .command('list')
    .description('batches on the server, newest first, with status and counts')
    .option('--query <query>', 'a Temporal list filter, e.g. "WaymarkFailed > 0"')
    .option('--limit <n>', 'at most this many', wholeNumber('--limit', 1), 50)
    .action(list);
}

async function list(o: { query?: string; limit: number }): Promise<void> {
  const client = await connectClient();
  const query = [`WorkflowType = '${BATCH_WORKFLOW_TYPE}'`, o.query ? `(${o.query})` : ''].filter(Boolean).join(' AND ');
  let n = 0;
  try {
    for await (const wf of client.workflow.list({ query })) {
      const attrs = wf.typedSearchAttributes;
      const status = attrs.get(WAYMARK_STATUS) ?? '-';
      const counts =
        attrs.get(WAYMARK_SUCCEEDED) === undefined ? '' : `succeeded ${attrs.get(WAYMARK_SUCCEEDED)}, failed ${attrs.get(WAYMARK_FAILED)}`;
      console.log(`${wf.workflowId}\t${wf.status.name}\t${status}\t${counts}\t${wf.startTime.toISOString()}`);
      if (++n >= o.limit) break;
    }
  } catch (err) {
    const refusal = serverRefusal(err);
    if (refusal === undefined) throw err;
    throw new CliError(
      `the server refused --query "${o.query}": ${refusal} (the query sent was ${query}); write a Temporal list filter, e.g. --query "WaymarkFailed > 0" or --query "WaymarkStatus = 'paused'"`,
    );
  }
  if (n === 0) console.log(`no batches${o.query ? ` match ${o.query}` : ''} on ${temporalAddress()}`);
}

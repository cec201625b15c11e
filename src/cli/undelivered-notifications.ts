/**
 * The notifications of a batch that were given up on (a 410, another 4xx, a target the workers
 * cannot resolve): each was a notify workflow that failed, found through visibility by its id,
 * which starts with the batch id (batch-notices.ts). `waymark status` lists them.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { NOTIFY_WORKFLOW_TYPE } from '../contract/notifications';
import { rootMessage } from './batch-outcome';

/** At most this many are read: a status line, not a log. */
const LISTED = 5;

export async function undeliveredNotifications(client: Client, batchId: string): Promise<string[]> {
  const prefix = `${batchId}/notify/`.replace(/'/g, "\\'");
  const query = `WorkflowType = '${NOTIFY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Failed' AND WorkflowId STARTS_WITH '${prefix}'`;
  const reasons: string[] = [];
  try {
    for await (const w of client.workflow.list({ query, pageSize: LISTED })) {
      try {
        await client.workflow.getHandle(w.workflowId, w.runId).result();
      } catch (err) {
        if (err instanceof WorkflowFailedError) reasons.push(rootMessage(err));
      }
      if (reasons.length >= LISTED) break;
    }
  } catch {
    // A server whose visibility cannot answer the query: nothing to list, the worker's log has each one.
  }
  return reasons;
}

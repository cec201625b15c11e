/**
 * Whether a worker serves a batch's task queue, as a command that needs one must tell its user.
 *
 * The server's list of pollers (describeTaskQueue) names every worker that polled in the last
 * few minutes, a stopped or killed one included, and an idle live worker refreshes its entry only
 * about once a minute (one long poll). So the list answers "has any worker ever polled here
 * lately" (empty: none has) and "when was one last seen"; whether one polls *now* is told by a
 * request only a worker answers, a query or an update, within WORKER_ANSWER_MS.
 */
import { isGrpcCancelledError, isGrpcDeadlineError, type WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DEFAULT_TASK_QUEUE, temporalAddress } from '../settings';
import { formatDuration } from '../workflows/details';

/**
 * How long a live worker may take to answer a query. A query for a batch whose worker died is
 * first offered to that worker's sticky queue; the server hands it to the others once that
 * queue has had no poller for a few seconds, so a shorter wait could miss a live second worker.
 */
export const WORKER_ANSWER_MS = 8000;
const CHECK_EVERY_MS = 1000;
/** How much earlier than this process the server may see a deadline pass. */
const SERVER_CLOCK_SLACK_MS = 500;

/** What the server's poller list says: whether any worker polled lately, and the latest one seen. */
export interface WorkerSighting {
  listed: boolean;
  lastSeen?: { at: Date; identity: string };
}

export async function workerSighting(client: WorkflowClient, taskQueue: string): Promise<WorkerSighting> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  let lastSeen: WorkerSighting['lastSeen'];
  for (const poller of pollers ?? []) {
    const at = new Date(Number(poller.lastAccessTime?.seconds ?? 0) * 1000);
    if (!lastSeen || at > lastSeen.at) lastSeen = { at, identity: poller.identity ?? 'a worker' };
  }
  return { listed: (pollers?.length ?? 0) > 0, lastSeen };
}

/** Whether any worker polled the task queue lately; false means none has, for minutes at least. */
export async function workerPolls(client: WorkflowClient, taskQueue: string): Promise<boolean> {
  return (await workerSighting(client, taskQueue)).listed;
}

export function noWorkerMessage(taskQueue: string, sighting?: WorkerSighting, now = Date.now()): string {
  // A worker started without the variable would poll the default queue, not this one.
  const env = taskQueue === DEFAULT_TASK_QUEUE ? '' : ` (with WAYMARK_TASK_QUEUE=${taskQueue})`;
  const seen = sighting?.lastSeen
    ? ` (none answered within ${WORKER_ANSWER_MS / 1000} s; the last one, ${sighting.lastSeen.identity}, was seen ${formatDuration(Math.max(0, now - sighting.lastSeen.at.getTime()))} ago)`
    : '';
  return `no worker is polling task queue ${taskQueue} on ${temporalAddress()}${seen}; start one with \`npx waymark worker\`${env}`;
}

/** Whether a request failed because nobody answered it by `deadline` (the one it was given), not for a reason of its own. */
export function unanswered(err: unknown, deadline: number): boolean {
  if (isGrpcDeadlineError(err) || (err instanceof Error && err.name === 'WorkflowUpdateRPCTimeoutOrCancelledError')) return true;
  // The server enforces the deadline it was sent as well and may end the call a moment before
  // grpc-js's own timer fires; grpc-js then reports CANCELLED without checking the deadline
  // (grpc-go and grpc-dotnet turn that case into DEADLINE_EXCEEDED).
  return isGrpcCancelledError(err) && Date.now() >= deadline - SERVER_CLOCK_SLACK_MS;
}

/**
 * While a command waits for a batch: says once when no worker serves it (none listed, or none
 * has answered the command's queries for WORKER_ANSWER_MS, as `lastAnswer` tells), with when one
 * was last seen, and once more when one answers again. Returns the function that stops it.
 */
export function reportMissingWorker(
  client: WorkflowClient,
  taskQueue: string,
  lastAnswer: () => number,
  say: (line: string) => void,
): () => void {
  let stopped = false;
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const sighting = await workerSighting(client, taskQueue);
      const silent = Date.now() - lastAnswer() > WORKER_ANSWER_MS;
      if (stopped) return;
      if ((!sighting.listed || silent) && !warned) {
        say(`${noWorkerMessage(taskQueue, sighting.listed ? sighting : undefined)}; waiting for one`);
        warned = true;
      } else if (sighting.listed && !silent && warned) {
        say(`a worker is polling task queue ${taskQueue} now; going on`);
        warned = false;
      }
    } catch {
      // Only a hint: a server that refuses describeTaskQueue must not stop the wait.
    }
    if (!stopped) timer = setTimeout(() => void check(), CHECK_EVERY_MS);
  };
  void check();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

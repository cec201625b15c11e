/**
 * Whether any worker polls a batch's task queue. Without one, a query waits and then fails, and a
 * batch never moves; the CLI says so at once instead of hanging.
 */
import type { WorkflowClient } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DEFAULT_TASK_QUEUE, temporalAddress } from '../settings';

const CHECK_EVERY_MS = 2000;

export async function workerPolls(client: WorkflowClient, taskQueue: string): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}

export function noWorkerMessage(taskQueue: string): string {
  // A worker started without the variable would poll the default queue, not this one.
  const env = taskQueue === DEFAULT_TASK_QUEUE ? '' : ` (with WAYMARK_TASK_QUEUE=${taskQueue})`;
  return `no worker is polling task queue ${taskQueue} on ${temporalAddress()}; start one with \`npx waymark worker\`${env}`;
}

/**
 * While a command waits for a batch: checks for a worker now and every few seconds, and calls
 * `say` once when there is none (and once more when one shows up). Returns the function that stops it.
 */
export function reportMissingWorker(client: WorkflowClient, taskQueue: string, say: (line: string) => void): () => void {
  let stopped = false;
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async () => {
    try {
      const polls = await workerPolls(client, taskQueue);
      if (stopped) return;
      if (!polls && !warned) {
        say(`${noWorkerMessage(taskQueue)}; waiting for one`);
        warned = true;
      } else if (polls && warned) {
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

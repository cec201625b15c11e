/**
 * A new cluster has no namespace: this registers it (like `temporal operator namespace create`)
 * and waymark's search attributes in it (WaymarkStatus Keyword, WaymarkSucceeded Int,
 * WaymarkFailed Int: columns of SQL visibility, so `WaymarkFailed > 0` is a SQL query).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureSearchAttributes } from '../../src/server/register-search-attributes';
import { RETENTION_DAYS } from './cluster-layout';

/** gRPC status codes. */
const ALREADY_EXISTS = 6;
/** The namespace registry of every service refreshes on this period (system.namespaceCacheRefreshInterval). */
const NAMESPACE_CACHE_REFRESH_MS = 2000;

export async function prepareNamespace(address: string, namespace: string, timeoutMs: number, log: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    // The frontend accepts connections before history and matching have joined its ring; until
    // then calls fail with Unavailable, so each step is retried until the deadline.
    const created = await retry(deadline, 'registering the namespace', async () => {
      try {
        await connection.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(`${RETENTION_DAYS} days`),
          description: 'waymark batches',
        });
        return true;
      } catch (err) {
        if (grpcCode(err) === ALREADY_EXISTS) return false;
        throw err;
      }
    });
    if (created) log(`created namespace ${namespace} (retention ${RETENTION_DAYS} days)`);
    await retry(deadline, `namespace ${namespace} to be visible`, async () => {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    });
    await retry(deadline, "registering waymark's search attributes", async () => {
      await ensureSearchAttributes(connection, namespace);
      return true;
    });
    // A new namespace and its search attributes reach the history and matching services' caches
    // on their next refresh; a batch started before then would be refused.
    if (created) await sleep(2 * NAMESPACE_CACHE_REFRESH_MS);
  } finally {
    await connection.close();
  }
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

async function retry<T>(deadline: number, what: string, attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      // Anything but a gRPC error (a search attribute of the wrong type, say) will not go away by waiting.
      if (grpcCode(err) === undefined) throw err;
      if (Date.now() > deadline)
        throw new Error(`the cluster's frontend kept failing while ${what}: ${(err as Error).message}`, { cause: err });
      await sleep(500);
    }
  }
}

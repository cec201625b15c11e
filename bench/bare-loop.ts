/**
 * The physical limit: the same items through the same processor with the same concurrency,
 * and nothing else. No Temporal, no ledger, no retries, no timeouts: a crash loses everything.
 * With `commitTo`, each lane also commits every k outcomes to a ledger, as a slice does and
 * nothing more: what durability alone costs on this machine.
 */
import { setMaxListeners } from 'node:events';
import type { Ledger, OutcomeToCommit } from '../src/ledger/ledger';
import { getProcessor } from '../src/processors/registry';
import type { ProcessorContext } from '../src/processors/processor';
import { readItems } from './items-file';
import type { Throughput } from './throughput';

export interface CommitEach {
  ledger: Ledger;
  commitGroup: number;
}

export async function bareLoop(
  file: string,
  processorName: string,
  options: Record<string, unknown>,
  concurrency: number,
  commitTo?: CommitEach,
): Promise<Throughput> {
  const processor = getProcessor(processorName);
  const signal = new AbortController().signal;
  // One signal for every lane's items; each item may listen to it while it runs.
  setMaxListeners(0, signal);
  const log = { info() {}, warn() {}, error() {} };
  const batchId = `bare-${process.hrtime.bigint()}`;
  const t0 = performance.now();
  const items = readItems(file);
  let next = 0;
  const lane = async (laneNo: number) => {
    // Each lane owns one "slice" row of the ledger, fenced like a slice attempt.
    const owner = `lane-${laneNo}`;
    await commitTo?.ledger.claimSlice(batchId, laneNo, owner);
    const pending: OutcomeToCommit[] = [];
    for (let index = next++; index < items.length; index = next++) {
      const ctx: ProcessorContext = {
        batchId: 'bare',
        index,
        attempt: 1,
        idempotencyKey: `bare:${index}`,
        signal,
        log,
        options,
        reportUsage() {},
      };
      const startedAt = Date.now();
      const result = await processor.process(items[index], ctx);
      if (!commitTo) continue;
      pending.push({
        index,
        status: 'succeeded',
        resultJson: JSON.stringify(result ?? null),
        attempts: 1,
        startedAt,
        finishedAt: Date.now(),
      });
      if (pending.length >= commitTo.commitGroup) {
        await commitTo.ledger.commit(batchId, laneNo, pending, next, owner);
        pending.length = 0;
      }
    }
    if (pending.length) await commitTo?.ledger.commit(batchId, laneNo, pending, null, owner);
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  const seconds = (performance.now() - t0) / 1000;
  return { items: items.length, seconds, itemsPerSecond: items.length / seconds };
}

/**
 * The physical limit: the same items through the same processor with the same concurrency,
 * and nothing else. No Temporal, no ledger, no retries, no timeouts: a crash loses everything.
 */
import { setMaxListeners } from 'node:events';
import { getProcessor } from '../src/processors/registry';
import type { ProcessorContext } from '../src/processors/processor';
import { readItems } from './items-file';
import type { Throughput } from './throughput';

export async function bareLoop(file: string, processorName: string, options: Record<string, unknown>, concurrency: number): Promise<Throughput> {
  const processor = getProcessor(processorName);
  const signal = new AbortController().signal;
  // One signal for every lane's items; each item may listen to it while it runs.
  setMaxListeners(0, signal);
  const log = { info() {}, warn() {}, error() {} };
  const t0 = performance.now();
  const items = readItems(file);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) {
      const ctx: ProcessorContext = { batchId: 'bare', index, attempt: 1, idempotencyKey: `bare:${index}`, signal, log, options };
      await processor.process(items[index], ctx);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - t0) / 1000;
  return { items: items.length, seconds, itemsPerSecond: items.length / seconds };
}

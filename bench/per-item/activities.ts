/** Activities of the per-item baseline, plus a probe of what one Context.heartbeat call costs. */
import fs from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { getProcessor } from '../../src/processors/registry';
import type { Page } from './contracts';

const LF = 0x0a;

/** Up to `pageSize` JSON lines from byte `offset`. */
async function readPage(path: string, offset: number, pageSize: number): Promise<Page> {
  const file = await fs.open(path, 'r');
  try {
    const { size } = await file.stat();
    const items: unknown[] = [];
    let position = offset;
    let carry = Buffer.alloc(0);
    while (items.length < pageSize && position < size) {
      const chunk = Buffer.allocUnsafe(Math.min(256 * 1024, size - position));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
      const data = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      const dataStart = position - carry.length;
      let lineStart = 0;
      for (let nl = data.indexOf(LF); nl !== -1 && items.length < pageSize; nl = data.indexOf(LF, lineStart)) {
        items.push(JSON.parse(data.subarray(lineStart, nl).toString('utf8')));
        lineStart = nl + 1;
      }
      position += bytesRead;
      if (items.length === pageSize) return { items, nextOffset: dataStart + lineStart, exhausted: dataStart + lineStart >= size };
      carry = data.subarray(lineStart);
    }
    if (carry.length > 0) items.push(JSON.parse(carry.toString('utf8')));
    return { items, nextOffset: size, exhausted: true };
  } finally {
    await file.close();
  }
}

/** One record through a waymark processor; Temporal's retry policy is the only retry. */
async function processRecord(processor: string, options: Record<string, unknown>, item: unknown): Promise<unknown> {
  const ctx = Context.current();
  const result = await getProcessor(processor).process(item, {
    batchId: ctx.info.workflowExecution?.workflowId ?? 'per-item',
    index: -1,
    attempt: ctx.info.attempt,
    idempotencyKey: ctx.info.activityId,
    signal: ctx.cancellationSignal,
    log: ctx.log,
    options,
    // The bench measures items per second; what an item used is not part of it.
    reportUsage() {},
  });
  return result ?? null;
}

/** Calls Context.heartbeat `calls` times in a tight loop and returns the mean microseconds per call. */
async function heartbeatProbe(calls: number): Promise<number> {
  const ctx = Context.current();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) ctx.heartbeat({ cursor: i });
  return ((performance.now() - t0) * 1000) / calls;
}

export const perItemActivities = { readPage, processRecord, heartbeatProbe };
export type PerItemActivities = typeof perItemActivities;

/**
 * The chaos run's processor: it takes real time per item and leaves a side effect outside the
 * ledger, one line per execution in the file named by WAYMARK_CHAOS_LOG, so an item executed twice
 * shows up twice even when the ledger kept only one outcome. Workers load it through
 * WAYMARK_PROCESSORS=dist/tools/chaos/chaos-processor.js; the chaos run loads it too, to validate the spec.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor, NonRetryableItemError } from '../../src/processors/processor';
import { integerOption, rejectUnknownOptions } from '../../src/processors/options';

export const CHAOS_LOG_ENV = 'WAYMARK_CHAOS_LOG';
export const CHAOS_PROCESSOR_NAME = 'chaos';
const DEFAULT_MS = 2;

function itemMs(options: Record<string, unknown>): number {
  rejectUnknownOptions(CHAOS_PROCESSOR_NAME, options, ['ms']);
  return integerOption(CHAOS_PROCESSOR_NAME, options, 'ms', 0, 'milliseconds') ?? DEFAULT_MS;
}

/**
 * What the processor returns for an item (an object, such as a table row, as its JSON); the
 * chaos run checks every ledger row against it.
 */
export function chaosResult(index: number, item: unknown): string {
  return `${index}:${typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item)}`;
}

export const chaos = defineProcessor(
  async (item, ctx) => {
    const log = process.env[CHAOS_LOG_ENV];
    if (!log) throw new NonRetryableItemError(`${CHAOS_LOG_ENV} is not set; the chaos processor needs a file to log its executions to`);
    // Logged before the work: an execution cut short by a kill is still on record.
    fs.appendFileSync(log, `${ctx.index} ${process.pid} ${Date.now()}\n`);
    const ms = itemMs(ctx.options);
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
    return chaosResult(ctx.index, item);
  },
  { validateOptions: (options) => void itemMs(options) },
);

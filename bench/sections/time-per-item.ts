/**
 * Where a noop item's time goes at the defaults: each piece of the item path on its own (no
 * Temporal), the whole activity under a mocked context, the full batch, and a CPU profile of
 * the full batch's main thread (where activities run) summed by part.
 */
import type { BenchEnv } from '../bench-env';
import { profileWhile, type ProfileShare } from '../cpu-profile';
import { itemsFile } from '../items-file';
import { benchSpec, processSliceRate, runItemRate, sourceReadRate } from '../item-path';
import { ledgerCommitRate } from '../ledger-rate';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { DEFAULTS } from '../../src/contract/batch-spec';
import type { Throughput } from '../throughput';
import { log } from '../log';

export interface TimePerItemResult {
  items: number;
  pieces: { name: string; what: string; rate: Throughput }[];
  profiled: WaymarkRun;
  shares: ProfileShare[];
}

export async function measureTimePerItem(env: BenchEnv, items: number, profileFile?: string): Promise<TimePerItemResult> {
  const file = itemsFile(env.dir, items);
  const spec = benchSpec(file, 'noop', undefined);
  const pieces: TimePerItemResult['pieces'] = [];
  pieces.push({
    name: 'source read',
    what: 'LineSource.readSlice over every slice (open, scan, decode, JSON.parse)',
    rate: await sourceReadRate(spec, env.dir),
  });
  pieces.push({
    name: 'item runner',
    what: 'ItemRunner.run around the noop processor, items from memory (timeout, abort wiring, attempts)',
    rate: await runItemRate(spec, items),
  });
  pieces.push({
    name: 'ledger commit',
    what: 'SqliteLedger.commit alone, same rows and shapes (k = 1, C lanes)',
    rate: await ledgerCommitRate(env.dir, {
      items,
      sliceSize: DEFAULTS.sliceSize,
      commitGroup: DEFAULTS.commitGroup,
      concurrency: DEFAULTS.concurrency,
    }),
  });
  pieces.push({
    name: 'processSlice, no Temporal',
    what: 'the whole activity per slice, C lanes, in a MockActivityEnvironment',
    rate: await processSliceRate(spec, env.dir),
  });
  const full = await runWaymarkBatch(env, { file, items, processor: 'noop' });
  pieces.push({ name: 'waymark batch', what: 'the batch on the dev server, in-process worker', rate: full });
  const { result: profiled, shares } = await profileWhile(() => runWaymarkBatch(env, { file, items, processor: 'noop' }), profileFile);
  log(`  time per item measured (profiled run ${profiled.itemsPerSecond.toFixed(0)}/s)`);
  return { items, pieces, profiled, shares };
}

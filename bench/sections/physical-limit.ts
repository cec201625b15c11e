/**
 * (a) waymark against the physical limit: the bare loop over the same items with the same
 * processor and concurrency, and for noop items the ledger's raw commit rate in the same shapes.
 * Rounds alternate the order of the systems, so drift in the machine's load hits both sides.
 */
import type { BenchEnv } from '../bench-env';
import { bareLoop } from '../bare-loop';
import { itemsFile } from '../items-file';
import { ledgerCommitRate, withTempLedger } from '../ledger-rate';
import { benchSpec, processSliceRate } from '../item-path';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { DEFAULTS } from '../../src/contract/batch-spec';
import type { Throughput } from '../throughput';
import { log } from '../log';

export interface ProcessorCase {
  label: string;
  processor: string;
  options?: Record<string, unknown>;
  items: number;
  /** Also measure the ledger's raw commit rate (the limit for items that cost nothing). */
  ledger: boolean;
}

export interface LimitRound {
  bare: Throughput;
  waymark: WaymarkRun;
  ledger?: Throughput;
}

export interface LimitResult {
  label: string;
  items: number;
  rounds: LimitRound[];
  /** processSlice over the same slices with no Temporal (mocked activity context): what the activity code alone allows. */
  activityAlone: Throughput;
  /** The bare loop committing every k outcomes to a SqliteLedger: what durability alone costs. */
  bareWithCommits?: Throughput;
}

export async function measurePhysicalLimit(
  env: BenchEnv,
  cases: ProcessorCase[],
  roundCount: number,
  spec: Omit<BatchSpecInput, 'source' | 'processor'> = {},
): Promise<LimitResult[]> {
  const concurrency = typeof spec.concurrency === 'number' ? spec.concurrency : DEFAULTS.concurrency;
  const results: LimitResult[] = [];
  for (const c of cases) {
    const file = itemsFile(env.dir, c.items);
    const rounds: LimitRound[] = [];
    for (let r = 0; r < roundCount; r++) {
      const steps: Array<() => Promise<void>> = [];
      const round: Partial<LimitRound> = {};
      steps.push(async () => void (round.bare = await bareLoop(file, c.processor, c.options ?? {}, concurrency)));
      steps.push(
        async () =>
          void (round.waymark = await runWaymarkBatch(env, { file, items: c.items, processor: c.processor, options: c.options, spec })),
      );
      if (c.ledger) {
        steps.push(async () => {
          round.ledger = await ledgerCommitRate(env.dir, {
            items: c.items,
            sliceSize: spec.sliceSize ?? DEFAULTS.sliceSize,
            commitGroup: spec.commitGroup ?? DEFAULTS.commitGroup,
            concurrency,
          });
        });
      }
      if (r % 2 === 1) steps.reverse();
      for (const step of steps) await step();
      const done = round as LimitRound;
      rounds.push(done);
      log(
        `  ${c.label} round ${r + 1}: waymark ${done.waymark.itemsPerSecond.toFixed(0)}/s, bare ${done.bare.itemsPerSecond.toFixed(0)}/s` +
          (done.ledger ? `, ledger ${done.ledger.itemsPerSecond.toFixed(0)}/s` : ''),
      );
    }
    const activityAlone = await processSliceRate(benchSpec(file, c.processor, c.options, spec), env.dir);
    log(`  ${c.label}: processSlice without Temporal ${activityAlone.itemsPerSecond.toFixed(0)}/s`);
    const bareWithCommits = await withTempLedger(env.dir, (ledger) =>
      bareLoop(file, c.processor, c.options ?? {}, concurrency, { ledger, commitGroup: spec.commitGroup ?? DEFAULTS.commitGroup }),
    );
    log(`  ${c.label}: bare loop with a commit per k items ${bareWithCommits.itemsPerSecond.toFixed(0)}/s`);
    results.push({ label: c.label, items: c.items, rounds, activityAlone, bareWithCommits });
  }
  return results;
}

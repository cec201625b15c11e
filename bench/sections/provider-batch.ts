/**
 * (l) Provider batch APIs: a batch through each loopback fake (tools/support), OpenAI Batch and
 * Anthropic Message Batches, with its history events per item, the Temporal Cloud actions it cost
 * per 1,000 items (watched as `--wait` watches it, counted as in section (j)), and the time it
 * took beyond the fake's own processing: the time during which no job of the batch was running at
 * the provider, which is waymark's (uploads, creates, polls, reading and committing results).
 * Every item must have been in exactly one provider job, or the section fails the bench.
 */
import type { BenchEnv } from '../bench-env';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { log } from '../log';
import { totalActions } from '../actions';
import { batchTag, customId } from '../../src/processors/provider-batch/custom-id';
import type { BatchFakeCore } from '../../tools/support/batch-fake-core';
import { PROVIDER_FAKES } from '../../tools/support/provider-fakes';

export interface ProviderBatchPlan {
  items: number;
  /** Items per slice: a provider job per slice. */
  sliceSize: number;
  concurrency: number;
  /** How long the fake takes over each job. */
  processingMs: number;
  pollIntervalMs: number;
}

export interface ProviderBatchCell {
  provider: string;
  run: WaymarkRun;
  jobs: number;
  /** The time during which at least one of the batch's jobs was running at the fake. */
  processingSeconds: number;
  /** The batch's time beyond that. */
  beyondSeconds: number;
}

export interface ProviderBatchResult {
  plan: ProviderBatchPlan;
  cells: ProviderBatchCell[];
}

const KEY = 'bench-key';

/** The length of the union of the jobs' processing intervals, in seconds. */
function processingSeconds(core: BatchFakeCore, processingMs: number): number {
  const spans = core.jobs.map((j) => [j.createdAt, j.createdAt + processingMs]).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [from, to] of spans) {
    total += Math.max(0, to - Math.max(from, end));
    end = Math.max(end, to);
  }
  return total / 1000;
}

export async function measureProviderBatch(env: BenchEnv, plan: ProviderBatchPlan): Promise<ProviderBatchResult> {
  const cells: ProviderBatchCell[] = [];
  for (const provider of PROVIDER_FAKES) {
    const saved = process.env[provider.keyEnv];
    // The worker runs in this process and reads the key from its environment, as a user's does.
    process.env[provider.keyEnv] = KEY;
    const fake = await provider.start({ processingMs: plan.processingMs, apiKey: KEY });
    try {
      const run = await runWaymarkBatch(env, {
        file: itemsFile(env.dir, plan.items),
        items: plan.items,
        processor: provider.name,
        options: {
          baseUrl: fake.baseUrl,
          model: provider.model,
          body: provider.body('Describe {name}.'),
          pollIntervalMs: plan.pollIntervalMs,
        },
        spec: { sliceSize: plan.sliceSize, concurrency: plan.concurrency, checkpointEvery: plan.items },
        countActions: true,
      });
      const held = fake.core.jobsHolding();
      const tag = batchTag(run.batchId);
      const notOnce = Array.from({ length: plan.items }, (_, i) => i).filter((i) => held.get(customId(tag, i)) !== 1);
      if (notOnce.length > 0) {
        throw new Error(`${provider.name}: ${notOnce.length} items were not in exactly one provider job (first: item ${notOnce[0]})`);
      }
      const processing = processingSeconds(fake.core, plan.processingMs);
      cells.push({
        provider: provider.name,
        run,
        jobs: fake.core.jobs.length,
        processingSeconds: processing,
        beyondSeconds: run.seconds - processing,
      });
      log(
        `  ${provider.name}: ${fake.core.jobs.length} jobs, ${run.seconds.toFixed(1)} s (${(run.seconds - processing).toFixed(1)} s beyond the fake's processing), ` +
          `${run.eventsPerItem.toFixed(4)} events per item, ${((totalActions(run.actions!) / plan.items) * 1000).toFixed(2)} actions per 1,000 items`,
      );
    } finally {
      await fake.close();
      if (saved === undefined) delete process.env[provider.keyEnv];
      else process.env[provider.keyEnv] = saved;
    }
  }
  return { plan, cells };
}

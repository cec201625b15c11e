/**
 * `npm run demo:batch-api`: the same 2,000 prompts through a provider's batch API, once as OpenAI
 * Batch and once as Anthropic Message Batches, against loopback fakes of both APIs
 * (tools/support), on the embedded default. The batch sends its items as a few provider jobs and
 * waits on durable timers while they run; the first OpenAI job expires with a tenth of its
 * requests unrun, whose finished lines are kept and whose rest goes again in a later job. Each
 * run ends with the jobs the fake holds per item and what the items used, at the batch price.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateSpecForStart } from '../../src/cli/start-batch';
import { batchTag, customId } from '../../src/processors/provider-batch/custom-id';
import { dataDir } from '../../src/settings';
import { formatUsage } from '../../src/workflows/details';
import type { BatchFakeCore, BatchFakeOptions } from '../support/batch-fake-core';
import { PROVIDER_FAKES, type ProviderFake } from '../support/provider-fakes';
import { printWhereToLook, runDemo, withDemoStage } from './demo-stage';

const PROMPTS = 2000;
const KEY = 'demo-key';
/** Standard prices of the demo's model, USD per million tokens: the batch is charged half of them. */
const PRICE = { input: 0.15, output: 0.6 };

/** What the demo shows of each provider: the first OpenAI job expires with a tenth of its requests unrun. */
const SHOWN: Record<ProviderFake['name'], { fake: BatchFakeOptions; note: string }> = {
  'openai-batch': { fake: { expireFraction: 0.1, expireJobs: 1 }, note: 'its first job expires with a tenth of its requests unrun' },
  'anthropic-batch': { fake: {}, note: 'every job completes' },
};

/** How many items the fake's jobs held once, twice, ...: `{1: 1900, 2: 100}`. */
function jobsPerItem(core: BatchFakeCore, batchId: string): string {
  const held = core.jobsHolding();
  const tag = batchTag(batchId);
  const byCount = new Map<number, number>();
  for (let i = 0; i < PROMPTS; i++) {
    const n = held.get(customId(tag, i)) ?? 0;
    byCount.set(n, (byCount.get(n) ?? 0) + 1);
  }
  return [...byCount.entries()]
    .sort(([a], [b]) => a - b)
    .map(([jobs, items]) => `${items} item${items === 1 ? '' : 's'} in ${jobs} job${jobs === 1 ? '' : 's'}`)
    .join(', ');
}

async function main(): Promise<void> {
  const prompts = path.join(dataDir(), 'demo-batch-api-prompts.jsonl');
  fs.mkdirSync(path.dirname(prompts), { recursive: true });
  fs.writeFileSync(prompts, Array.from({ length: PROMPTS }, (_, i) => `${JSON.stringify({ topic: `topic ${i}` })}\n`).join(''));
  const stamp = Date.now();
  await withDemoStage(async (stage) => {
    for (const provider of PROVIDER_FAKES) {
      const { fake: knobs, note } = SHOWN[provider.name];
      // The worker runs in this process: the key reaches the processor from its environment, never from history.
      process.env[provider.keyEnv] = KEY;
      const fake = await provider.start({ processingMs: 4000, apiKey: KEY, ...knobs });
      try {
        console.log('');
        console.log(`${PROMPTS} prompts through ${provider.name} (a fake on ${fake.baseUrl}; ${note}):`);
        const batchId = `demo-${provider.name}-${stamp}`;
        const spec = validateSpecForStart({
          source: { kind: 'jsonl', path: prompts },
          processor: {
            name: provider.name,
            options: {
              baseUrl: fake.baseUrl,
              model: provider.model,
              body: provider.body('Say something kind about {topic}.'),
              pollIntervalMs: 1000,
              pricePerMTok: PRICE,
            },
          },
          sliceSize: 500,
          concurrency: 4,
        });
        const run = await stage.run(spec, batchId, prompts);
        const { summary } = run;
        console.log('');
        console.log(`done:      ${summary.succeeded} answered, ${summary.failed} in the compensating record`);
        console.log(`jobs:      ${fake.core.jobs.length} at the provider: ${jobsPerItem(fake.core, batchId)}`);
        console.log(
          `usage:     ${summary.usage ? formatUsage(summary.usage) : 'none reported'} (costUsd at the batch price, half the standard)`,
        );
        printWhereToLook(run);
      } finally {
        await fake.close();
      }
    }
  });
}

runDemo(main);

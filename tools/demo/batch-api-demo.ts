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
import { startOpenAiBatchFake } from '../support/openai-batch-fake';
import { startAnthropicBatchFake } from '../support/anthropic-batch-fake';
import { printWhereToLook, runDemo, withDemoStage } from './demo-stage';

const PROMPTS = 2000;
const KEY = 'demo-key';
/** Standard prices of the demo's model, USD per million tokens: the batch is charged half of them. */
const PRICE = { input: 0.15, output: 0.6 };

const PROVIDERS = [
  {
    name: 'openai-batch',
    keyEnv: 'OPENAI_API_KEY',
    start: startOpenAiBatchFake,
    model: 'gpt-4o-mini',
    body: { messages: [{ role: 'user', content: 'Say something kind about {topic}.' }] },
    fake: { expireFraction: 0.1, expireJobs: 1 } as BatchFakeOptions,
    note: 'its first job expires with a tenth of its requests unrun',
  },
  {
    name: 'anthropic-batch',
    keyEnv: 'ANTHROPIC_API_KEY',
    start: startAnthropicBatchFake,
    model: 'claude-haiku-4-5',
    body: { max_tokens: 64, messages: [{ role: 'user', content: 'Say something kind about {topic}.' }] },
    fake: {} as BatchFakeOptions,
    note: 'every job completes',
  },
];

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
    for (const provider of PROVIDERS) {
      // The worker runs in this process: the key reaches the processor from its environment, never from history.
      process.env[provider.keyEnv] = KEY;
      const fake = await provider.start({ processingMs: 4000, apiKey: KEY, ...provider.fake });
      try {
        console.log('');
        console.log(`${PROMPTS} prompts through ${provider.name} (a fake on ${fake.baseUrl}; ${provider.note}):`);
        const batchId = `demo-${provider.name}-${stamp}`;
        const spec = validateSpecForStart({
          source: { kind: 'jsonl', path: prompts },
          processor: {
            name: provider.name,
            options: { baseUrl: fake.baseUrl, model: provider.model, body: provider.body, pollIntervalMs: 1000, pricePerMTok: PRICE },
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

/**
 * What the provider batch tests share: items to send, a spec of `openai-batch` or
 * `anthropic-batch` pointed at a loopback fake, and the check behind INVARIANTS.md I17 — the jobs
 * the fake created that hold each item.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BatchSpecInput } from '../../src/contract/batch-spec';
import { batchTag, customId } from '../../src/processors/provider-batch/custom-id';
import type { BatchFakeCore } from '../../tools/support/batch-fake-core';

export type Provider = 'openai' | 'anthropic';

/** The key the fakes ask for, in the worker's environment as each processor's default header names it. */
export const FAKE_KEY = 'fake-key-for-tests';
export const KEY_ENV: Record<Provider, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };

/** `n` JSONL items `{"text": "item i"}`. */
export function writeItems(dir: string, name: string, n: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ text: `item ${i}` })).join('\n') + '\n');
  return file;
}

export function providerSpec(
  provider: Provider,
  baseUrl: string,
  file: string,
  over: Partial<BatchSpecInput> = {},
  options: Record<string, unknown> = {},
): BatchSpecInput {
  const body =
    provider === 'openai'
      ? { messages: [{ role: 'user', content: '{text}' }] }
      : { max_tokens: 64, messages: [{ role: 'user', content: '{text}' }] };
  return {
    source: { kind: 'jsonl', path: file },
    processor: {
      name: `${provider}-batch`,
      options: { baseUrl, model: provider === 'openai' ? 'gpt-4o-mini' : 'claude-haiku-4-5', body, pollIntervalMs: 200, ...options },
    },
    sliceSize: 100,
    checkpointEvery: 1000,
    concurrency: 4,
    heartbeatTimeoutMs: 3000,
    ...over,
  };
}

/** How many jobs the fake created that hold each item of the batch, by index; absent: none. */
export function jobsPerItem(core: BatchFakeCore, batchId: string, items: number): number[] {
  const held = core.jobsHolding();
  const tag = batchTag(batchId);
  return Array.from({ length: items }, (_, i) => held.get(customId(tag, i)) ?? 0);
}

/** The text the fakes answer item i with. */
export function echoOf(i: number): string {
  return `echo: item ${i}`;
}

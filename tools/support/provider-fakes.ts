/**
 * The two provider batch processors, each beside its loopback fake: the key variable it reads, a
 * model, and a request body around a prompt template. The demo and the bench run both through them.
 */
import type { BatchFakeOptions } from './batch-fake-core';
import { startOpenAiBatchFake, type OpenAiBatchFake } from './openai-batch-fake';
import { startAnthropicBatchFake, type AnthropicBatchFake } from './anthropic-batch-fake';

export interface ProviderFake {
  name: 'openai-batch' | 'anthropic-batch';
  /** Where the processor's default header reads the key from, in the worker's environment. */
  keyEnv: string;
  start(options: BatchFakeOptions): Promise<OpenAiBatchFake | AnthropicBatchFake>;
  model: string;
  /** The `body` option: the provider's request around `prompt`, a template filled from the item. */
  body(prompt: string): Record<string, unknown>;
}

export const PROVIDER_FAKES: readonly ProviderFake[] = [
  {
    name: 'openai-batch',
    keyEnv: 'OPENAI_API_KEY',
    start: startOpenAiBatchFake,
    model: 'gpt-4o-mini',
    body: (prompt) => ({ messages: [{ role: 'user', content: prompt }] }),
  },
  {
    name: 'anthropic-batch',
    keyEnv: 'ANTHROPIC_API_KEY',
    start: startAnthropicBatchFake,
    model: 'claude-haiku-4-5',
    body: (prompt) => ({ max_tokens: 64, messages: [{ role: 'user', content: prompt }] }),
  },
];

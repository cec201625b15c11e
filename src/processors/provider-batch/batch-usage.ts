/**
 * What a request of a provider job used, as waymark reports it: the token counts of the answer's
 * `usage` as the provider gives them (the same tokens the synchronous API would count: the batch
 * discount is on the price, not on the tokens) and, when the spec gives the model's standard
 * prices, `costUsd` at the batch price, BATCH_PRICE_SHARE of them. Input tokens are all priced
 * as input, cached ones too, which cost less: costUsd errs high, never low.
 */
import type { Usage } from '../../contract/usage';
import { resolveJsonPointer } from '../http/json-pointer';
import { NonRetryableItemError } from '../processor';
import type { ProviderOptions } from './provider-options';

/** Both providers bill a batch request at half the price of the same request made synchronously. */
export const BATCH_PRICE_SHARE = 0.5;

/** The number fields of an answer's usage object; nested objects (token details) are left out. */
export function tokenUsage(usage: unknown): Usage | undefined {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return undefined;
  const counts = Object.fromEntries(
    Object.entries(usage).filter(([, n]) => typeof n === 'number' && Number.isFinite(n) && n >= 0) as [string, number][],
  );
  return Object.keys(counts).length > 0 ? counts : undefined;
}

/**
 * The usage to report, with costUsd when prices are known. `input` and `output` are the answer's
 * input and output token counts under whichever names its API uses.
 */
export function withCost(
  usage: Usage | undefined,
  input: number | undefined,
  output: number | undefined,
  options: ProviderOptions,
): Usage | undefined {
  const price = options.pricePerMTok;
  if (usage === undefined || price === undefined) return usage;
  const standard = ((input ?? 0) * price.input + (output ?? 0) * price.output) / 1_000_000;
  return { ...usage, costUsd: standard * BATCH_PRICE_SHARE };
}

/** The result kept for a succeeded request: the whole answer, or the part resultPointer names. */
export function resultOf(answer: unknown, options: ProviderOptions, provider: string): unknown {
  if (options.resultPointer === undefined) return answer;
  const found = resolveJsonPointer(answer, options.resultPointer);
  if ('missing' in found) {
    throw new NonRetryableItemError(
      `the ${provider} answer has nothing at resultPointer (no "${found.missing}"): ${JSON.stringify(answer).slice(0, 300)}`,
      `${provider}-result-missing`,
    );
  }
  return found.value;
}

/**
 * Adaptive concurrency: `"concurrency": {"auto": {"min": 1, "max": 64}}` in the spec,
 * `--concurrency auto` or `auto:MIN-MAX` on the command line. The batch's lanes are not set but
 * found: they start low, grow while items succeed with every lane busy, and are cut on a quota
 * signal (src/ledger/lane-pool-state.ts has the rules, src/activities/adaptive-lanes.ts the slice's
 * side). The workflow plans lanes, slices and the resume-cost bound for MAX, the most the lanes
 * can reach; the slices run only the lanes found.
 *
 * Imported by workflow code: deterministic, no I/O.
 */
import { z } from 'zod';

/** The most lanes a batch may have, fixed or found. */
export const MAX_LANES = 1000;

/** `auto` without bounds: from one lane up to 64, 64 x k items redone per interruption at worst. */
export const AUTO_DEFAULTS = { min: 1, max: 64 } as const;

const bound = (what: string) =>
  z
    .number({ error: `must be a whole number (${what})` })
    .int({ error: `must be a whole number (${what})` })
    .min(1, { error: `must be at least 1 (${what})` })
    .max(MAX_LANES, { error: `must be at most ${MAX_LANES} (${what})` });

export const autoConcurrencySchema = z.strictObject({
  auto: z
    .strictObject({
      /** The fewest lanes the batch runs while it has work, whatever the quota signals. */
      min: bound('the fewest lanes').default(AUTO_DEFAULTS.min),
      /** The most lanes it grows to; the resume-cost bound is reckoned on it. */
      max: bound('the most lanes').default(AUTO_DEFAULTS.max),
    })
    .refine((range) => range.min <= range.max, {
      error: 'has min above max: min is the fewest lanes, max the most, e.g. {"min": 1, "max": 64}',
    }),
});

export type AutoConcurrency = z.output<typeof autoConcurrencySchema>;
export type LaneRange = AutoConcurrency['auto'];
/** The spec's `concurrency`: a number of lanes, or lanes found between two bounds. */
export type Concurrency = number | AutoConcurrency;

export const CONCURRENCY_FORMS = `a whole number of lanes from 1 to ${MAX_LANES}, or {"auto": {"min": 1, "max": 64}} for lanes found by themselves`;

/** The bounds of adaptive lanes; undefined for a fixed concurrency. */
export function autoRange(concurrency: Concurrency): LaneRange | undefined {
  return typeof concurrency === 'number' ? undefined : concurrency.auto;
}

/**
 * C as the engine plans with it: the lanes of a fixed concurrency, or the most adaptive lanes can
 * reach. Slices are cut and launched for it, and the resume-cost bound is reckoned on it.
 */
export function laneCeiling(concurrency: Concurrency): number {
  return typeof concurrency === 'number' ? concurrency : concurrency.auto.max;
}

/** A cut of adaptive lanes on a quota signal, as status, the Web UI and the manifest show it. */
export interface LaneCut {
  /** Epoch ms, the ledger's clock. */
  at: number;
  from: number;
  to: number;
  /** The signal, e.g. `http 429`, `exit 75`, `QuotaExhaustedError`. */
  cause: string;
}

/** Adaptive lanes as a slice last heard of them from its pool (src/ledger/lane-pools.ts). */
export interface AdaptiveLanesView {
  /** Lanes of the batch's running slices. */
  batchLanes: number;
  /** Lanes of the pool: the batch's, or those of every batch naming its rate-limit key. */
  poolLanes: number;
  cuts: number;
  lastCut?: LaneCut;
}

/** Adaptive lanes as status, `--wait` and the Web UI show them: the pool's view and the batch's bounds. */
export interface AdaptiveLanesProgress extends AdaptiveLanesView, LaneRange {}

/**
 * The pool of a batch's adaptive lanes: its rate-limit key's when it names one (batches naming it
 * share what they learn), else its own.
 */
export function laneScope(batchId: string, rateLimitKey: string | undefined): string {
  return rateLimitKey === undefined ? `batch:${batchId}` : `key:${rateLimitKey}`;
}

/** As people read it: `8`, or `auto 1-64`; a spec as written (bounds left out) reads as parsed. */
export function describeConcurrency(concurrency: number | z.input<typeof autoConcurrencySchema>): string {
  if (typeof concurrency === 'number') return String(concurrency);
  const { min = AUTO_DEFAULTS.min, max = AUTO_DEFAULTS.max } = concurrency.auto;
  return `auto ${min}-${max}`;
}

/**
 * `--concurrency`'s value: `N`, `auto` or `auto:MIN-MAX`. Throws an Error whose message says what
 * was wrong and what the flag takes.
 */
export function parseConcurrency(raw: string): Concurrency {
  const text = raw.trim();
  const takes = `takes a number of lanes from 1 to ${MAX_LANES}, "auto" (lanes found between ${AUTO_DEFAULTS.min} and ${AUTO_DEFAULTS.max}) or "auto:MIN-MAX" (e.g. auto:4-128)`;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= MAX_LANES) return n;
    throw new Error(`--concurrency ${takes}, got "${raw}"`);
  }
  if (text === 'auto') return { auto: { ...AUTO_DEFAULTS } };
  const match = /^auto:(\d+)-(\d+)$/.exec(text);
  if (match === null) throw new Error(`--concurrency ${takes}, got "${raw}"`);
  const [min, max] = [Number(match[1]), Number(match[2])];
  if (min < 1 || max > MAX_LANES) throw new Error(`--concurrency auto:MIN-MAX needs 1 <= MIN and MAX <= ${MAX_LANES}, got "${raw}"`);
  if (min > max) throw new Error(`--concurrency auto:MIN-MAX needs MIN <= MAX (the fewest lanes, then the most), got "${raw}"`);
  return { auto: { min, max } };
}

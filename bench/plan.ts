/**
 * How much of everything to run. The full plan took 14 minutes on a 2-core machine, section (e)
 * included (the issue allows 25; its 1,000,000-item batch is fixed by the issue); the smoke plan
 * takes a minute or two and only checks that every part works and that no workflow run outgrows
 * its event budget.
 */
import type { BatchSpecInput } from '../src/contract/batch-spec';
import type { LanesPlan } from './sections/lanes';
import type { RateLimitsPlan } from './sections/rate-limits';
import type { ManyLanesPlan } from './sections/many-lanes';
import type { OrchestrationCostPlan } from './sections/orchestration-cost';
import type { AdaptiveLanesPlan } from './sections/adaptive-lanes';
import type { ProviderBatchPlan } from './sections/provider-batch';

export type SpecOverrides = Omit<BatchSpecInput, 'source' | 'processor'>;

export interface BenchPlan {
  mode: 'full' | 'smoke';
  /** Rounds of each side-by-side comparison; the report gives the median. */
  rounds: number;
  /** waymark's spec in (a) and (b): the defaults in the full run. */
  spec: SpecOverrides;
  limit: { noopItems: number; sleepItems: number; cpuItems: number };
  perItem: { items: number; pageSize: number; rounds: number };
  scale: { items: number; sampleAt: number[]; timelineEverySeconds: number; spec: SpecOverrides };
  /** A window of many tiny slices, far more events than the budget allows in one run. */
  budgetProbe: { items: number; spec: SpecOverrides };
  tradeOff?: { items: number; slices: number[]; groups: number[]; rounds: number; concurrencyItems: number; concurrencies: number[] };
  tuning?: {
    ledgerItems: number;
    runItems: number;
    rounds: number;
    heartbeatProbeCalls: number;
    starvationItems: number;
    checkpointEvery: number[];
  };
  timePerItem?: { items: number };
  /** (g) A Python processor four ways (process per item, persistent, persistent with M per call, in-process JS), C = 1. */
  processes?: { items: number; itemsPerCall: number };
  /**
   * (e) One batch on each number of worker processes, best of `runs`, with C, S and N fixed so
   * only the process count changes; then the ledger's commit rate on `ledgerItems` at k = 1 (ten
   * times as many at k = 100, which commits a hundred to a statement).
   */
  scaling?: { items: number; workerCounts: number[]; runs: number; ledgerItems: number; spec: ScalingSpec };
  /** (f) Every lane busy: slow items at the default S, each C beside the bare loop, cells shortest first. */
  lanes?: LanesPlan;
  /** (h) Named rate limits: the limiter's cost per item on each ledger, and pacing accuracy. */
  rateLimits?: RateLimitsPlan;
  /** (i) Hundreds of lanes: slow items at C up to 1,000 beside the bare loop, with their actions. */
  manyLanes?: ManyLanesPlan;
  /** (j) Orchestration cost: actions per 1,000 items for waymark and the per-item pattern. */
  orchestrationCost?: OrchestrationCostPlan;
  /** (k) Adaptive lanes against an API with a limit they are not told, beside batches that are told. */
  adaptiveLanes?: AdaptiveLanesPlan;
  /** (l) Provider batch APIs: a batch through each loopback fake, its events, actions and time beyond the fake's. */
  providerBatch?: ProviderBatchPlan;
}

export type ScalingSpec = Required<Pick<SpecOverrides, 'concurrency' | 'sliceSize' | 'checkpointEvery'>>;

export const FULL_PLAN: BenchPlan = {
  mode: 'full',
  rounds: 3,
  spec: {},
  // Item counts are multiples of S x C (4,000), so no lane idles through a last, partial round.
  limit: { noopItems: 100_000, sleepItems: 20_000, cpuItems: 12_000 },
  perItem: { items: 1_000, pageSize: 100, rounds: 2 },
  scale: { items: 1_000_000, sampleAt: [10_000, 100_000, 1_000_000], timelineEverySeconds: 10, spec: {} },
  budgetProbe: { items: 8_000, spec: { sliceSize: 10, checkpointEvery: 8_000 } },
  tradeOff: {
    items: 40_000,
    slices: [100, 1_000, 5_000],
    groups: [1, 10, 100],
    rounds: 2,
    concurrencyItems: 16_000,
    concurrencies: [1, 2, 4, 8, 16],
  },
  tuning: {
    ledgerItems: 30_000,
    runItems: 100_000,
    rounds: 2,
    heartbeatProbeCalls: 200_000,
    starvationItems: 8_000,
    checkpointEvery: [10_000, 100_000],
  },
  timePerItem: { items: 100_000 },
  processes: { items: 1_000, itemsPerCall: 50 },
  scaling: {
    items: 30_000,
    workerCounts: [1, 2, 3],
    runs: 2,
    ledgerItems: 20_000,
    spec: { concurrency: 8, sliceSize: 1_000, checkpointEvery: 10_000 },
  },
  // About 40 minutes alone: 20,000 items of 100 ms at C = 4 take 500 s in each system.
  lanes: {
    itemMs: [10, 100],
    concurrencies: [4, 16, 64],
    batches: [2_000, 20_000],
    skew: { items: 4_000, concurrency: 16, ms: 10, slowEvery: 50, slowMs: 500 },
  },
  // 12 s at 200 a second on 8 lanes of 1 ms items: the lanes could go 20 times faster.
  rateLimits: { items: 20_000, bursts: [0, 100], pacing: { items: 2_400, limit: 200, burst: 20, concurrency: 8, itemMs: 1 } },
  // About 8 minutes: nine cells of 20 s in each system. 20 s, not 10: a batch's fixed cost (start,
  // plan, finalize: about a second) is a share of the run, and the runs this stands for last hours.
  manyLanes: { concurrencies: [64, 256, 1000], itemMs: [100, 1000, 2000], bareSeconds: 20 },
  // About 20 minutes, most of it the C = 4 cells of 1 s and 2 s items (1,000 items each: 250 s and 500 s).
  orchestrationCost: { itemMs: [1, 100, 1000, 2000], concurrencies: [4, 64, 500], waymarkItems: 1_000, perItemItems: 2_000 },
  // About 5 minutes: each adaptive batch runs a minute or more, so convergence is a small part of it.
  adaptiveLanes: {
    max: 64,
    inFlight: { limit: 8, latencyMs: 100, referenceItems: 1_200, items: 3_200 },
    rate: { perSecond: 50, latencyMs: 200, referenceConcurrency: 16, referenceItems: 1_600, items: 2_400 },
    halving: { from: 12, latencyMs: 100, items: 4_000, afterMs: 20_000 },
  },
  // Under a minute: four jobs of 12,500 at once per provider, 5 s each at the fake.
  providerBatch: { items: 50_000, sliceSize: 12_500, concurrency: 4, processingMs: 5_000, pollIntervalMs: 1_000 },
};

export const SMOKE_PLAN: BenchPlan = {
  mode: 'smoke',
  rounds: 1,
  // Small slices and windows, so even a few thousand items take several runs.
  spec: { sliceSize: 100, checkpointEvery: 1_000 },
  limit: { noopItems: 4_000, sleepItems: 800, cpuItems: 400 },
  perItem: { items: 200, pageSize: 100, rounds: 1 },
  scale: { items: 3_000, sampleAt: [500, 1_000, 3_000], timelineEverySeconds: 1, spec: { sliceSize: 100, checkpointEvery: 1_000 } },
  budgetProbe: { items: 8_000, spec: { sliceSize: 10, checkpointEvery: 8_000 } },
  processes: { items: 40, itemsPerCall: 10 },
  // Worker processes take seconds to start (each bundles the workflows), so few batches of few items.
  scaling: {
    items: 1_000,
    workerCounts: [1, 2],
    runs: 1,
    ledgerItems: 1_000,
    spec: { concurrency: 8, sliceSize: 100, checkpointEvery: 500 },
  },
  // Two cells at the default S, a second or two each, and a small skewed batch.
  lanes: { itemMs: [10], concurrencies: [4, 16], batches: [200], skew: { items: 200, concurrency: 4, ms: 10, slowEvery: 50, slowMs: 500 } },
  rateLimits: { items: 500, bursts: [0, 100], pacing: { items: 300, limit: 100, burst: 10, concurrency: 4, itemMs: 1 } },
  manyLanes: { concurrencies: [64], itemMs: [100], bareSeconds: 1 },
  orchestrationCost: { itemMs: [1], concurrencies: [4], waymarkItems: 200, perItemItems: 100 },
  // About a minute: each adaptive batch runs past the 10 s window its convergence is measured over.
  adaptiveLanes: {
    max: 16,
    inFlight: { limit: 4, latencyMs: 50, referenceItems: 200, items: 1_000 },
    rate: { perSecond: 40, latencyMs: 50, referenceConcurrency: 4, referenceItems: 160, items: 600 },
    halving: { from: 6, latencyMs: 50, items: 600, afterMs: 3_000 },
  },
  providerBatch: { items: 2_000, sliceSize: 500, concurrency: 4, processingMs: 1_000, pollIntervalMs: 500 },
};

/**
 * waymark's own metrics, recorded through the activity's metric meter so they leave by the same
 * exporter as the Temporal SDK's (the worker's Prometheus endpoint, see runtime.ts). With no
 * exporter configured they cost next to nothing.
 *
 *   waymark_items_succeeded  counter    items committed as succeeded
 *   waymark_items_failed     counter    items committed as failed; `type` is the error type
 *   waymark_item_latency     histogram  ms from an item's first attempt to its outcome
 *   waymark_slice_latency    histogram  ms of a slice attempt that returned; `outcome` done|quota|stopped
 *   waymark_quota_waits      counter    slices stopped by a quota (each one a batch-wide wait)
 *   waymark_item_usage       histogram  what a committed item used, by `unit` (tokens, costUsd, ...):
 *                                       its _sum is the total per unit, its _count the items that reported
 *
 * Usage is a histogram, not a counter: the SDK's counters take whole numbers only, and a unit
 * such as costUsd is fractional; a histogram of floats keeps the exact total in its _sum.
 *   waymark_rate_limit_waits counter    waits for a named rate limit's token; `key`, `reason` paced|held
 *   waymark_adaptive_lanes   gauge      adaptive lanes of a pool (`scope`: batch:ID or key:KEY), as a slice last heard
 *   waymark_lane_cuts        counter    cuts of adaptive lanes on a quota signal; `scope`, `cause` (http 429, exit 75, ...)
 *
 * Every metric carries `processor` besides the SDK's activity tags (namespace, task_queue, ...).
 */
import type { MetricMeter } from '@temporalio/common';
import type { Usage } from '../contract/usage';

export const ITEM_LATENCY = 'waymark_item_latency';
export const SLICE_LATENCY = 'waymark_slice_latency';
export const ITEM_USAGE = 'waymark_item_usage';

/** Bucket bounds in ms: items from a hash (sub-ms) to an LLM call; slices up to hours. */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [ITEM_LATENCY]: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000],
  [SLICE_LATENCY]: [100, 500, 1000, 5000, 10_000, 30_000, 60_000, 300_000, 900_000, 1_800_000, 3_600_000],
  // Units differ by orders of magnitude (a fraction of a cent, thousands of tokens): powers of ten.
  [ITEM_USAGE]: [0.0001, 0.001, 0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000],
};

/** What an outcome needs to be counted: the ledger's OutcomeToCommit has these fields. */
export interface CountedOutcome {
  status: 'succeeded' | 'failed';
  errorType?: string;
  usage?: Usage;
  startedAt: number;
  finishedAt: number;
}

export class SliceMetrics {
  private readonly startedAt = Date.now();
  private readonly succeeded;
  private readonly failed;
  /** One histogram per status, tagged once here: a record per item then resolves no tags of its own. */
  private readonly itemLatency;
  private readonly sliceLatency;
  private readonly quotaWaits;
  private readonly itemUsage;
  private readonly rateLimitWaits;
  private readonly adaptiveLanes;
  private readonly laneCuts;

  constructor(meter: MetricMeter, processor: string) {
    const tagged = meter.withTags({ processor });
    this.succeeded = tagged.createCounter('waymark_items_succeeded', 'items', 'items committed as succeeded');
    this.failed = tagged.createCounter('waymark_items_failed', 'items', 'items committed as failed, by error type');
    const latency = (status: CountedOutcome['status']) =>
      tagged.withTags({ status }).createHistogram(ITEM_LATENCY, 'int', 'ms', "time from an item's first attempt to its outcome");
    this.itemLatency = { succeeded: latency('succeeded'), failed: latency('failed') };
    this.sliceLatency = tagged.createHistogram(
      SLICE_LATENCY,
      'int',
      'ms',
      'time of a slice attempt that returned (done or stopped for quota)',
    );
    this.quotaWaits = tagged.createCounter('waymark_quota_waits', 'waits', 'slices stopped by a quota');
    this.itemUsage = tagged.createHistogram(ITEM_USAGE, 'float', '', 'what a committed item used, by unit; _sum is the total');
    this.rateLimitWaits = tagged.createCounter(
      'waymark_rate_limit_waits',
      'waits',
      "waits for a named rate limit's token: paced by its rate, or held by a quota signal",
    );
    this.adaptiveLanes = tagged.createGauge('waymark_adaptive_lanes', 'int', 'lanes', 'adaptive lanes of a pool, as a slice last heard');
    this.laneCuts = tagged.createCounter('waymark_lane_cuts', 'cuts', 'cuts of adaptive lanes on a quota signal');
  }

  /**
   * Call once the outcomes are durable in the ledger, so the counters match its counts. Counters
   * move once per commit group, not per item: each call crosses into the SDK's native runtime.
   */
  itemsCommitted(outcomes: readonly CountedOutcome[]): void {
    let succeeded = 0;
    let failedByType: Map<string, number> | undefined;
    for (const o of outcomes) {
      if (o.status === 'succeeded') succeeded++;
      else {
        failedByType ??= new Map();
        const type = o.errorType ?? 'unknown';
        failedByType.set(type, (failedByType.get(type) ?? 0) + 1);
      }
      this.itemLatency[o.status].record(Math.max(0, Math.round(o.finishedAt - o.startedAt)));
      for (const [unit, amount] of Object.entries(o.usage ?? {})) this.itemUsage.record(amount, { unit });
    }
    if (succeeded) this.succeeded.add(succeeded);
    for (const [type, count] of failedByType ?? []) this.failed.add(count, { type });
  }

  quotaWait(): void {
    this.quotaWaits.add(1);
  }

  /** An item waits for a token of `key` (INVARIANTS.md I13): `paced` by its rate, or `held` by a quota signal. */
  rateLimitWait(key: string, reason: 'paced' | 'held'): void {
    this.rateLimitWaits.add(1, { key, reason });
  }

  /** The lanes of an adaptive pool (`scope`), as the slice's last report heard. */
  lanesOf(scope: string, lanes: number): void {
    this.adaptiveLanes.set(lanes, { scope });
  }

  /** A quota signal this slice met cut the pool's lanes. */
  laneCut(scope: string, cause: string): void {
    this.laneCuts.add(1, { scope, cause });
  }

  sliceReturned(outcome: 'done' | 'quota' | 'stopped' | 'at-provider'): void {
    this.sliceLatency.record(Math.max(0, Date.now() - this.startedAt), { outcome });
  }
}

/**
 * A slice's side of adaptive lanes (src/contract/adaptive-concurrency.ts): the slice sees every
 * item's outcome and every quota signal, so the decisions are made here and in the ledger's lane
 * pool (src/ledger/lane-pools.ts), not in the workflow, which only hears of the lanes when slices
 * return and when it reads the ledger.
 *
 * Twice a second the slice reports to its pool the items that succeeded at their first attempt
 * with every lane busy (started at the pool's current version), and is granted its share of the
 * pool's lanes; a quota signal is reported at once and cuts them. The lanes follow the grant: more
 * start at once, and lanes beyond it retire as their item ends (slice-lanes.ts). A short wait the
 * signal asks for (Retry-After, up to the heartbeat timeout) is waited out in the slice, so a cut
 * costs no slice activity and no timer; a longer one stops the slice as any quota stop does.
 */
import type { AdaptiveLanesView, LaneRange } from '../contract/adaptive-concurrency';
import type { Ledger, LaneGrant, LaneReport } from '../ledger/ledger';
import type { SliceMetrics } from '../telemetry/batch-metrics';

/** How often the slice reports to its pool, as often as it reads its control. */
const REPORT_EVERY_MS = 500;

/** When an item started, in the pool's terms: the version of its lanes and the cuts so far. */
export interface LaneMark {
  version: number;
  cuts: number;
}

export interface AdaptiveLanesOptions {
  ledger: Ledger;
  metrics: SliceMetrics;
  /** The pool: laneScope(batchId, rate-limit key). */
  scope: string;
  batchId: string;
  sliceStart: number;
  range: LaneRange;
  /** The longest quota wait the slice waits out itself: the heartbeat timeout, as a rate limit's paced wait. */
  waitInSliceMs: number;
}

export class AdaptiveLanes {
  /** Lanes the pool grants the slice now; none until its first report is answered. */
  granted = 0;
  private grant: LaneGrant | undefined;
  private clean = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Lanes the slice could use now; told by its lanes (slice-lanes.ts). */
  want: () => number = () => 0;
  /** Told after each grant, so the lanes grow to a raised one at once. */
  onGrant: (() => void) | undefined;

  constructor(private readonly opts: AdaptiveLanesOptions) {}

  private get holder(): string {
    return `${this.opts.batchId}/${this.opts.sliceStart}`;
  }

  /** Joins the pool and takes the first grant, then reports twice a second. */
  async begin(): Promise<void> {
    await this.report({});
    this.timer = setInterval(() => void this.report({}), REPORT_EVERY_MS);
  }

  /** The pool's version and cuts as an item starts: what its outcome or signal is judged by. */
  mark(): LaneMark {
    return { version: this.grant?.version ?? 0, cuts: this.grant?.cuts ?? 0 };
  }

  /** An item succeeded at its first attempt: clean, if every lane was busy and the lanes have not changed since it started. */
  succeeded(started: LaneMark, saturated: boolean): void {
    if (saturated && started.version === this.grant?.version) this.clean++;
  }

  /** A quota signal met by an item that started at `started`: reported at once, it cuts unless a cut came after the item started. */
  signal(started: LaneMark, cause: string): Promise<void> {
    return this.report({ signal: { cuts: started.cuts, cause } });
  }

  /** Whether a quota wait of `ms` is waited out here rather than by stopping the slice. */
  waitsInSlice(ms: number): boolean {
    return ms <= this.opts.waitInSliceMs;
  }

  /** The lanes as the slice last heard of them, for the workflow. */
  view(): AdaptiveLanesView | undefined {
    const grant = this.grant;
    if (grant === undefined) return undefined;
    return {
      batchLanes: grant.batchLanes,
      poolLanes: grant.poolLanes,
      cuts: grant.cuts,
      ...(grant.lastCut !== null ? { lastCut: grant.lastCut } : {}),
    };
  }

  /** Leaves the pool: the slice's lanes go to the others at once. */
  async end(): Promise<void> {
    clearInterval(this.timer);
    await this.report({ done: true });
  }

  /** One report at a time: its clean items are counted once, whichever report carries them. */
  private report(extra: Pick<LaneReport, 'signal' | 'done'>): Promise<void> {
    this.chain = this.chain.then(() => this.send(extra));
    return this.chain;
  }

  private async send(extra: Pick<LaneReport, 'signal' | 'done'>): Promise<void> {
    const { ledger, metrics, scope, batchId, sliceStart, range } = this.opts;
    const clean = this.clean;
    this.clean = 0;
    let grant: LaneGrant;
    try {
      grant = await ledger.reportLanes(scope, {
        holder: this.holder,
        batchId,
        sliceStart,
        want: this.want(),
        range,
        version: this.grant?.version ?? 0,
        clean,
        ...extra,
      });
    } catch {
      // The ledger did not answer: the slice keeps its lanes, and the next report asks again.
      return;
    }
    if (grant.version !== this.grant?.version) this.clean = 0;
    this.grant = grant;
    this.granted = grant.granted;
    metrics.lanesOf(scope, grant.poolLanes);
    if (grant.cut) metrics.laneCut(scope, grant.lastCut!.cause);
    this.onGrant?.();
  }
}

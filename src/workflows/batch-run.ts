/**
 * One workflow run of a batch: its state, counters and decisions; batchWorkflow wires its
 * messages and drives it. It never sees item data (INVARIANTS.md I1); its cursor only moves past slices
 * whose activities returned, i.e. whose outcomes are committed in the ledger (I4).
 */
import {
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchStatus, BatchTotalsResult, FinalizeResult, ProcessSliceResult } from '../contract/activity-io';
import { sliceSizeProblem } from './configure-slice';
import { parseBatchSpec, resumeCostBound, type BatchSpec } from '../contract/batch-spec';
import type { Checkpoint } from '../contract/checkpoint';
import type { BatchConfig, BatchConfigChange, BatchProgress, BatchState } from '../contract/messages';
import { WAYMARK_FAILED, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../contract/search-attributes';
import type { CommittedCounts, SliceBounds, SourcePosition } from '../contract/slices';
import type { Usage } from '../contract/usage';
import { bookkeepingActivityOptions, refreshActivityOptions, sliceActivityOptions } from './activity-options';
import { currentDetails } from './details';
import { historyBudgetSpent, refreshFitsBudget, splitFitsBudget } from './history-budget';
import { maxCounts, Tallies } from './tallies';
import { toleranceExceeded } from './tolerance';
import { Window, type WindowSlice } from './window';

/** Search attribute upserts are history events: at most one per this much workflow time, plus state changes. */
const SEARCH_ATTRIBUTES_EVERY_MS = 30_000;

/**
 * While slices run, the committed counts are read from the ledger this often (I12): slices
 * report only when they end, which for a slice of slow items is minutes. About 7 events a
 * refresh (history-budget.ts), so under 20 a minute whatever C and S.
 */
const REFRESH_EVERY_MS = 25_000;
/** Runs recorded before the refresh existed replay without it (test/replay). */
const LEDGER_REFRESH_PATCH = 'progress-from-ledger';
/** Runs recorded before configure re-cut a window for more lanes replay without it. */
const RECUT_FOR_LANES_PATCH = 'recut-for-lanes';
/** Runs recorded before a quota wait could end the run at its event budget replay without it. */
const QUOTA_WAIT_BUDGET_PATCH = 'quota-wait-budget';
/** runSlice's answer for a slice that waits out its quota stop in the next run. */
const WAIT_IN_NEXT_RUN = 'wait-in-next-run';
/** Runs recorded before idle lanes split running slices replay without it. */
const SPLIT_FOR_IDLE_LANES_PATCH = 'split-for-idle-lanes';
/** Runs recorded before budgets replay without the pause a budget makes. */
const BUDGET_PATCH = 'budget';

const { planWindow, finalize } = proxyActivities<WaymarkActivities>(bookkeepingActivityOptions);
const { batchTotals, requestSplit } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

export class BatchRun {
  /** configure may change it; each slice takes the spec as it stands when the slice starts. */
  spec: BatchSpec;
  readonly batchId: string;
  private readonly startedAt: number;
  private readonly runs: number;
  private readonly rootScope = CancellationScope.current();

  private state: BatchState = 'planning';
  private paused: boolean;
  /** The pause is the budget's: resume or a raised budget ends it. */
  private budgetReached: boolean;
  private total: number | undefined;
  private cursor: SourcePosition;
  private quotaUntil: number | undefined;
  /** The named rate limit behind the quota wait, if any: the key that paces or holds the batch. */
  private quotaOn: Pick<BatchProgress, 'pacedOn' | 'heldOn'> = {};
  private readonly tallies: Tallies;
  /** The ledger's counts when last read; progress shows the larger of these and the slices' tallies. */
  private ledgerCounts: CommittedCounts | undefined;
  /** The ledger's usage per unit when last read (a refresh or the manifest); absent until some item reports usage. */
  private usage: Usage | undefined;
  /** Whether this run reads the ledger's counts (false when replaying a run recorded before). */
  private refreshesFromLedger = false;
  /** A slice stopped by a pause since the last read: its commits reached no tally. */
  private sliceStoppedUnread = false;
  private windowDone = false;

  private window: Window | undefined;
  /** Lanes running, and the slices they have in flight with when each was launched. */
  private lanes = 0;
  private slicesInFlight = 0;
  private readonly running = new Map<WindowSlice, number>();
  /**
   * Splits idle lanes asked for (I14) and not yet answered: the slice asked, and how many free
   * lanes its new slices will take. Those lanes are not offered to another split meanwhile.
   */
  private readonly splitsPending = new Map<WindowSlice, number>();
  /** While the ledger is being asked, no other lane asks. */
  private askingForSplit = false;
  /** False once no running slice had enough left to split; new slices make it worth asking again. */
  private splitWorthAsking = true;
  // Each slice runs in a scope of its own, so pause and stop can cancel exactly the slices in
  // flight; a cancelled slice stops at an item boundary (its commits stay).
  private readonly sliceScopes = new Set<CancellationScope>();

  /** Why the run stops launching slices; each one ends the run its own way. */
  stopReason: string | undefined;
  /** What failed a lane: in workflow code every failure that reaches here is an Error (a TemporalFailure). */
  failure: Error | undefined;
  private replanRequested = false;
  private outOfHistoryBudget = false;
  /** While the window's unlaunched tail is being cut again for more lanes, no lane launches. */
  private recutting = false;

  // Search attributes cost an event each, and upserting one the namespace lacks fails the
  // workflow task: they are kept up to date only when the batch was started with them, or when
  // its first window found them registered (recorded in the checkpoint for later runs).
  private publishesSearchAttributes: boolean;
  private searchAttributesRegistered: boolean | undefined;
  private lastPublished: { at: number; status: string } | undefined;

  constructor(spec: BatchSpec, checkpoint?: Checkpoint) {
    const info = workflowInfo();
    this.spec = spec;
    this.batchId = info.workflowId;
    this.startedAt = checkpoint?.startedAt ?? info.runStartTime.getTime();
    this.runs = (checkpoint?.runs ?? 0) + 1;
    this.paused = checkpoint?.paused ?? false;
    this.budgetReached = checkpoint?.budgetReached ?? false;
    this.usage = checkpoint?.usage;
    this.total = checkpoint?.total;
    this.cursor = checkpoint?.cursor ?? { index: 0, offset: 0 };
    this.tallies = new Tallies(checkpoint);
    this.searchAttributesRegistered = checkpoint?.searchAttributesRegistered;
    this.publishesSearchAttributes =
      info.typedSearchAttributes.get(WAYMARK_STATUS) !== undefined || this.searchAttributesRegistered === true;
  }

  get cancelled(): boolean {
    return this.rootScope.consideredCancelled;
  }

  progress(): BatchProgress {
    return {
      state: this.paused && this.state === 'running' ? (this.budgetReached ? 'budget-reached' : 'paused') : this.state,
      total: this.total,
      ...maxCounts(this.tallies.committed(), this.ledgerCounts),
      ...(this.usage !== undefined ? { usage: this.usage } : {}),
      finishedSlices: this.tallies.finishedCounts(),
      partialSlices: this.tallies.partials(),
      cursor: this.cursor.index,
      runs: this.runs,
      slicesInFlight: this.slicesInFlight,
      resumeCostBound: resumeCostBound(this.spec),
      quotaUntil: this.state === 'waiting-for-quota' ? this.quotaUntil : undefined,
      ...(this.spec.budget !== undefined ? { budget: this.spec.budget } : {}),
      ...(this.state === 'waiting-for-quota' ? this.quotaOn : {}),
      startedAt: this.startedAt,
      concurrency: this.spec.concurrency,
      sliceSize: this.spec.sliceSize,
      ...this.lanesShort(),
    };
  }

  /**
   * When fewer than C lanes can run, how many can and why: a lane runs one slice at a time, and
   * the window is cut into at least min(C, items) slices, so only a short batch or the last
   * slices of a window leave lanes without work.
   */
  private lanesShort(): Pick<BatchProgress, 'lanesInUse' | 'lanesShortBecause'> {
    const window = this.window;
    if (window === undefined || this.state !== 'running' || this.paused) return {};
    const runnable = this.slicesInFlight + window.unlaunched;
    if (runnable >= this.spec.concurrency) return {};
    const items = (n: number) => `${n.toLocaleString('en-US')} item${n === 1 ? '' : 's'}`;
    const slices = (n: number) => `${n} slice${n === 1 ? '' : 's'}`;
    const because =
      this.total !== undefined && this.total < this.spec.concurrency
        ? `the batch has ${items(this.total)}, and a lane needs at least one`
        : runnable === 0
          ? 'the window is finishing'
          : this.splitsPending.size > 0
            ? `splitting ${slices(this.splitsPending.size)} for the idle lanes`
            : `only the last ${slices(runnable)} of ${window.isLast ? 'the batch' : 'this window'} remain${runnable === 1 ? 's' : ''}` +
              (this.splitWorthAsking ? '' : ', too close to done to split');
    return { lanesInUse: runnable, lanesShortBecause: because };
  }

  /**
   * The Web UI: current details on every change (no history cost); search attributes, which
   * cost an event each, only on state changes and at a bounded rate.
   */
  private publish(force = false): void {
    const p = this.progress();
    setCurrentDetails(currentDetails(p, Date.now(), this.tallies.failedByType));
    if (!this.publishesSearchAttributes) return;
    const now = Date.now();
    const last = this.lastPublished;
    if (!force && last?.status === p.state && now - last.at < SEARCH_ATTRIBUTES_EVERY_MS) return;
    upsertSearchAttributes([
      { key: WAYMARK_STATUS, value: p.state },
      { key: WAYMARK_SUCCEEDED, value: p.succeeded },
      { key: WAYMARK_FAILED, value: p.failed },
    ]);
    this.lastPublished = { at: now, status: p.state };
  }

  private setState(next: BatchState): void {
    this.state = next;
    this.publish(true);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.stopSlicesInFlight();
    this.publish(true);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.budgetReached = false;
    this.publish(true);
  }

  validateConfigure(change: BatchConfigChange): void {
    const unknown = Object.keys(change ?? {}).filter((k) => k !== 'concurrency' && k !== 'sliceSize' && k !== 'budget');
    if (unknown.length) throw new Error(`configure takes concurrency, sliceSize and budget only, not ${unknown.join(', ')}`);
    const sliceProblem = sliceSizeProblem(change.sliceSize ?? this.spec.sliceSize, this.spec.checkpointEvery);
    if (sliceProblem) throw new Error(sliceProblem);
    parseBatchSpec(this.changedSpec(change));
  }

  /** The spec with a change applied; a new budget is a new maximum for the budget's unit. */
  private changedSpec({ budget, ...settings }: BatchConfigChange): unknown {
    if (budget === undefined) return { ...this.spec, ...settings };
    if (this.spec.budget === undefined) {
      throw new Error('this batch has no budget to raise; a budget is set when the batch starts (`waymark start --budget UNIT=MAX`)');
    }
    return { ...this.spec, ...settings, budget: { unit: this.spec.budget.unit, max: budget } };
  }

  configure(change: BatchConfigChange): BatchConfig {
    const before = this.spec;
    this.spec = parseBatchSpec(this.changedSpec(change));
    // A new budget ends the budget's pause: slices check it against the ledger as they start again,
    // so a budget still not above the usage pauses the batch again at once.
    if (change.budget !== undefined && this.budgetReached) this.resume();
    // Slices of this window are already cut: a new slice size applies from the next window,
    // which starts as soon as the slices in flight have finished.
    if (this.spec.sliceSize !== before.sliceSize) this.replanRequested = true;
    if (this.spec.concurrency > before.concurrency) {
      // More lanes than unlaunched slices: the rest of the window is cut again, so they all get work.
      if (this.window !== undefined && this.tailNeedsRecut(this.window) && patched(RECUT_FOR_LANES_PATCH))
        void this.recutForLanes(this.window);
      this.spawnLanes();
    }
    this.publish(true);
    const { concurrency, sliceSize, budget } = this.spec;
    return { concurrency, sliceSize, ...(budget !== undefined ? { budget } : {}) };
  }

  async plan(): Promise<void> {
    this.publish(true);
    const firstWindow = this.total === undefined;
    // Patched: histories recorded before these fields replay with the inputs they had. The
    // identity is the same across continue-as-new, retries and resets, and only across them (I11).
    const identity = firstWindow && patched('batch-identity') ? workflowInfo().firstExecutionRunId : undefined;
    const askSearchAttributes = firstWindow && !this.publishesSearchAttributes && patched('search-attributes-any-start');
    const { plan, total, searchAttributesRegistered } = await planWindow({
      batchId: this.batchId,
      spec: this.spec,
      from: this.cursor,
      maxItems: this.spec.checkpointEvery,
      countTotal: firstWindow,
      ...(identity !== undefined ? { identity } : {}),
      ...(askSearchAttributes ? { askSearchAttributes } : {}),
    });
    this.total ??= total;
    if (askSearchAttributes) {
      this.searchAttributesRegistered = searchAttributesRegistered === true;
      this.publishesSearchAttributes = this.searchAttributesRegistered;
    }
    this.setState('running');
    this.window = new Window(plan);
    if (this.window.isEmpty) this.cursor = plan.next;
  }

  /**
   * Resolves when every lane has ended. Not cancellable: a cancelled batch waits for its slices
   * to stop at an item boundary, so the manifest it then writes has final counts.
   */
  runWindow(): Promise<void> {
    this.refreshesFromLedger = patched(LEDGER_REFRESH_PATCH);
    this.spawnLanes();
    return CancellationScope.nonCancellable(async () => {
      const refreshes = this.refreshesFromLedger ? this.refreshWhileSlicesRun() : undefined;
      // A split still being asked for when the last slice ends is answered before the run moves on.
      await condition(() => this.lanes === 0 && !this.askingForSplit);
      this.windowDone = true;
      await refreshes;
    });
  }

  /**
   * Progress in committed items while slices run (I12): every REFRESH_EVERY_MS, and once the
   * slices a pause stopped have stopped, reads the ledger's counts. Only while there is news:
   * no timer runs while nothing does. Within the run's history budget (I2).
   */
  private async refreshWhileSlicesRun(): Promise<void> {
    const pauseSettled = () => this.sliceStoppedUnread && this.sliceScopes.size === 0;
    for (;;) {
      await condition(() => this.windowDone || this.sliceScopes.size > 0 || this.sliceStoppedUnread);
      if (this.windowDone) return;
      if (!pauseSettled()) {
        await condition(() => this.windowDone || pauseSettled(), REFRESH_EVERY_MS);
        if (this.windowDone) return;
      }
      if (!refreshFitsBudget(this.slicesInFlight)) return;
      this.sliceStoppedUnread = false;
      let counts: BatchTotalsResult;
      try {
        counts = await batchTotals({ batchId: this.batchId });
      } catch {
        // The ledger did not answer: the counts stay as they were until the next refresh.
        continue;
      }
      const before = this.progress();
      this.ledgerCounts = maxCounts(counts, this.ledgerCounts);
      this.usage = counts.usage ?? this.usage;
      const after = this.progress();
      this.publish(after.succeeded !== before.succeeded || after.failed !== before.failed);
    }
  }

  /** True when this run's window was the batch's last and all of it ran. */
  finishesBatch(): boolean {
    const window = this.window!;
    return window.isLast && !this.outOfHistoryBudget && !this.replanRequested && window.unlaunched === 0;
  }

  async finish(status: BatchStatus, stopReason?: string): Promise<FinalizeResult> {
    this.setState('finalizing');
    // A cancelled batch still writes its manifest: the finalize call must not be cancelled too.
    const result: FinalizeResult = await CancellationScope.nonCancellable(() =>
      finalize({
        batchId: this.batchId,
        spec: this.spec,
        runs: this.runs,
        startedAt: this.startedAt,
        finishedAt: Date.now(),
        status,
        stopReason,
        total: this.total,
      }),
    );
    // The manifest counts the ledger: it also holds what slices stopped by a cancel committed.
    if (this.refreshesFromLedger) this.ledgerCounts = maxCounts(result.manifest, this.ledgerCounts);
    this.usage = result.manifest.usage ?? this.usage;
    this.setState(status);
    return result;
  }

  /** Cursor and counters only, never items (I1). */
  checkpoint(): Checkpoint {
    const counts = this.tallies.finished;
    return {
      cursor: this.cursor,
      succeeded: counts.succeeded,
      failed: counts.failed,
      redone: counts.redone,
      failedByType: counts.failedByType,
      runs: this.runs,
      startedAt: this.startedAt,
      total: this.total,
      paused: this.paused,
      ...(this.budgetReached ? { budgetReached: true } : {}),
      ...(this.usage !== undefined ? { usage: this.usage } : {}),
      ...(this.searchAttributesRegistered !== undefined ? { searchAttributesRegistered: this.searchAttributesRegistered } : {}),
    };
  }

  private spawnLanes(): void {
    const window = this.window;
    // Before the window is planned there is nothing to run.
    if (window === undefined) return;
    // Counted up front: a lane may end before its first await (nothing left to do), and a loop
    // on `lanes` would then never end.
    const wanted = Math.min(this.spec.concurrency, window.unlaunched) - this.lanes;
    for (let i = 0; i < wanted; i++) {
      this.lanes++;
      void this.runLane(window);
    }
  }

  private tailNeedsRecut(window: Window): boolean {
    const tail = window.unlaunchedTail();
    if (tail === undefined || this.recutting) return false;
    const freeLanes = this.spec.concurrency - this.slicesInFlight;
    return tail.slices < Math.min(freeLanes, tail.items);
  }

  /**
   * Cuts the slices of the window that no lane launched yet again, for the concurrency as it
   * now stands (planWindow over their items only). Lanes wait for it: the old slices and the new
   * ones cover the same items, and a slice must never be launched from both cuts.
   */
  private async recutForLanes(window: Window): Promise<void> {
    const tail = window.unlaunchedTail()!;
    this.recutting = true;
    try {
      const { plan } = await planWindow({
        batchId: this.batchId,
        spec: this.spec,
        from: tail.from,
        maxItems: tail.items,
        countTotal: false,
      });
      window.recutTail(tail.first, plan.slices);
    } catch {
      // The old cut still covers every item: the batch goes on with it.
    } finally {
      this.recutting = false;
    }
    this.spawnLanes();
    this.publish();
  }

  /**
   * Launches the window's slices one after another until none is left or the run stops. A lane
   * left with nothing to launch asks for a running slice to be split (I14) as it ends.
   */
  private async runLane(window: Window): Promise<void> {
    let idle = false;
    try {
      while (this.stopReason === undefined && this.failure === undefined && !this.replanRequested) {
        if (window.unlaunched === 0) {
          idle = true;
          return;
        }
        // configure lowered the concurrency: surplus lanes end as their slice finishes.
        if (this.lanes > this.spec.concurrency) return;
        if (this.paused) {
          await condition(() => !this.paused || this.stopReason !== undefined || this.replanRequested);
          continue;
        }
        if (this.recutting) {
          await condition(() => !this.recutting);
          continue;
        }
        if (historyBudgetSpent(this.slicesInFlight)) {
          this.outOfHistoryBudget = true;
          return;
        }
        await this.runNext(window);
      }
    } catch (err) {
      const stoppedByTheRun = isCancellation(err) && (this.stopReason !== undefined || this.failure !== undefined || this.cancelled);
      if (!stoppedByTheRun) {
        this.failure ??= err as Error;
        this.stopSlicesInFlight();
      }
    } finally {
      this.lanes--;
      if (idle) void this.askForSplit(window);
    }
  }

  /** Launches the next slice and runs it to its end, or to its split. */
  private async runNext(window: Window): Promise<void> {
    const slice = window.launchNext();
    this.slicesInFlight++;
    this.running.set(slice, Date.now());
    try {
      const rest = await this.runSlice(slice);
      if (rest === WAIT_IN_NEXT_RUN) {
        window.relaunchLater(slice);
        this.outOfHistoryBudget = true;
      } else if (rest === undefined) {
        this.cursor = window.markFinished(slice);
      } else {
        this.cursor = window.split(slice, rest);
        this.splitWorthAsking = true;
        this.spawnLanes();
      }
    } catch (err) {
      // Paused: the slice stopped at an item boundary and runs again on resume.
      if (isCancellation(err) && this.paused && !this.cancelled) {
        window.relaunchLater(slice);
        this.sliceStoppedUnread = true;
        return;
      }
      throw err;
    } finally {
      this.slicesInFlight--;
      this.running.delete(slice);
      this.splitsPending.delete(slice);
    }
  }

  /**
   * Lanes without work while slices run (I14): the ledger asks the running slices with the most
   * work left to stop at their next item boundary and hand the rest back cut for the free lanes
   * (lanes that fall idle one after another raise the split asked of a slice, until it is taken).
   * New slices launch only once the slice they came from has stopped, so no item is in two
   * attempts and at most C attempts have an item in flight. Not while a quota holds the batch.
   */
  private async askForSplit(window: Window): Promise<void> {
    // Lanes that fall idle during an ask are counted by the next round of this one.
    if (this.askingForSplit) return;
    this.askingForSplit = true;
    try {
      while (this.splitWorthAsking && this.maySplit(window)) {
        const promised = [...this.splitsPending.values()].reduce((a, b) => a + b, 0);
        const freeLanes = this.spec.concurrency - this.slicesInFlight - promised;
        const running = [...this.running];
        if (freeLanes < 1 || running.length === 0) return;
        if (!splitFitsBudget(this.slicesInFlight + promised, freeLanes + running.length) || !patched(SPLIT_FOR_IDLE_LANES_PATCH)) return;
        const { asked } = await requestSplit({
          batchId: this.batchId,
          slices: running.map(([slice, launchedAt]) => ({ ...slice.bounds, launchedAt, lanes: 1 + (this.splitsPending.get(slice) ?? 0) })),
          freeLanes,
        });
        for (const { sliceStart, pieces } of asked) {
          // A slice that ended while it was being asked has nothing pending.
          const slice = running.find(([s]) => s.bounds.start === sliceStart)?.[0];
          if (slice !== undefined && this.running.has(slice)) this.splitsPending.set(slice, pieces - 1);
        }
        if (asked.length > 0) continue;
        if (this.splitsPending.size === 0) this.splitWorthAsking = false;
        return;
      }
    } catch {
      // The ledger did not answer: the slices run on whole, and the next idle lane asks again.
    } finally {
      this.askingForSplit = false;
    }
  }

  /** Whether the window is in a state to split: running, nothing left to launch, no quota hold. */
  private maySplit(window: Window): boolean {
    if (this.windowDone || window !== this.window || window.unlaunched > 0) return false;
    if (this.paused || this.recutting || this.replanRequested || this.cancelled) return false;
    if (this.stopReason !== undefined || this.failure !== undefined) return false;
    return this.quotaUntil === undefined || this.quotaUntil <= Date.now();
  }

  /**
   * Runs one slice to its end, waiting out quota stops (I7) without spending attempts. Returns
   * the slices the rest of it was cut into when it split.
   */
  /**
   * Runs one slice to its end, or to its split, waiting out quota stops (I7) without spending
   * attempts. WAIT_IN_NEXT_RUN when it stopped for quota with this run's event budget spent (I2):
   * a slice paced by a per-hour limit stops after every item, at about 13 events each.
   */
  private async runSlice(windowSlice: WindowSlice): Promise<SliceBounds[] | typeof WAIT_IN_NEXT_RUN | undefined> {
    const slice = windowSlice.bounds;
    for (;;) {
      if (this.quotaUntil !== undefined && this.quotaUntil > Date.now()) {
        this.setState('waiting-for-quota');
        await sleep(this.quotaUntil - Date.now());
        this.setState('running');
      }
      const scope = new CancellationScope();
      this.sliceScopes.add(scope);
      let result: ProcessSliceResult;
      try {
        const { processSlice } = proxyActivities<WaymarkActivities>(sliceActivityOptions(this.spec, slice));
        result = await scope.run(() => processSlice({ batchId: this.batchId, spec: this.spec, slice }));
      } finally {
        this.sliceScopes.delete(scope);
      }
      if (result.outcome !== 'quota') {
        this.tallies.sliceFinished(slice.start, result.tally);
        this.checkTolerance();
        this.publish();
        return result.outcome === 'split' ? result.rest : undefined;
      }
      this.tallies.sliceStoppedForQuota(slice.start, result.tally);
      this.checkTolerance();
      if (result.budgetReached && patched(BUDGET_PATCH)) {
        this.pauseForBudget();
        // Like a slice a pause stopped: the lane launches it again on resume, from where it stopped.
        throw new CancelledFailure(`slice ${slice.start} stopped: budget reached`);
      }
      const until = Date.now() + result.retryAfterMs;
      // Reads optional fields of the result into the state shown; no command, so no patch: runs
      // recorded before them replay the same (a result without them leaves quotaOn empty).
      if (until >= (this.quotaUntil ?? 0)) {
        this.quotaOn = { ...(result.pacedOn && { pacedOn: result.pacedOn }), ...(result.heldOn && { heldOn: result.heldOn }) };
      }
      this.quotaUntil = Math.max(this.quotaUntil ?? 0, until);
      // Held for quota: the lanes promised to its split are free again (a later attempt may still
      // take the request, and the lanes it then needs are found as any split's are).
      this.splitsPending.delete(windowSlice);
      // This slice is among those in flight; the question is whether it fits once more.
      if (historyBudgetSpent(this.slicesInFlight - 1) && patched(QUOTA_WAIT_BUDGET_PATCH)) return WAIT_IN_NEXT_RUN;
    }
  }

  /**
   * The batch's usage reached its budget: no slice starts until resume or a raised budget. The
   * other slices in flight are not cancelled, which would cut their items short; each stops by
   * itself at its next item boundary, when it finds the budget reached.
   */
  private pauseForBudget(): void {
    if (this.paused) return;
    this.paused = true;
    this.budgetReached = true;
    this.publish(true);
  }

  /** Stops the batch once its failures exceed the tolerance (I6). */
  private checkTolerance(): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = toleranceExceeded(this.spec, this.progress().failed, this.total);
    if (this.stopReason !== undefined) {
      this.setState('stopping');
      this.stopSlicesInFlight();
    }
  }

  private stopSlicesInFlight(): void {
    for (const scope of this.sliceScopes) scope.cancel();
  }
}

/**
 * One workflow run of a batch: its state, counters and decisions; batchWorkflow wires its
 * messages and drives it. It never sees item data (INVARIANTS.md I1); its cursor only moves past slices
 * whose activities returned, i.e. whose outcomes are committed in the ledger (I4).
 *
 * A slice runs many items at once (lanes.ts): C lanes are held by a few slices, and pause, stop
 * and lent lanes reach running slices through the ledger (slice-control.ts), not a heartbeat. Runs
 * recorded before lanes in slices ran one item per slice and are replayed so (legacy-lanes.ts).
 *
 * Over 400 lines: the decisions of one run (launch, lend, wait for quota, pause, stop, continue
 * as new) all read and change the same state, and each must keep its commands in the order runs
 * recorded before replay; what stands apart is in its own file (lanes, legacy lanes, control,
 * quota hold, refresh, Web UI, configure, the recut for more lanes, provider waits).
 */
import {
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchStatus, BatchTotalsResult, FinalizeResult, ProcessSliceResult } from '../contract/activity-io';
import { configuredSpec } from './configure-change';
import { resumeCostBound, type BatchSpec } from '../contract/batch-spec';
import type { Checkpoint } from '../contract/checkpoint';
import type { BatchConfig, BatchConfigChange, BatchProgress, BatchState } from '../contract/messages';
import { WAYMARK_STATUS } from '../contract/search-attributes';
import type { CommittedCounts, SliceBounds, SourcePosition } from '../contract/slices';
import type { Usage } from '../contract/usage';
import { bookkeepingActivityOptions, sliceActivityOptions } from './activity-options';
import { WebUiView } from './web-ui-view';
import { historyBudgetSpent, refreshFitsBudget } from './history-budget';
import { maxCounts, Tallies } from './tallies';
import { toleranceExceeded } from './tolerance';
import { Window, type WindowSlice } from './window';
import { IdleLaneSplits, runLegacyLane, type LegacyLaneHost, type SplitHost } from './legacy-lanes';
import { Lanes, type LaneHost } from './lanes';
import { SliceControl } from './slice-control';
import { refreshWhileSlicesRun, type RefreshHost } from './ledger-refresh';
import { lanesShort } from './lanes-short';
import { QuotaHold } from './quota-hold';
import { recutForLanes, tailNeedsRecut, type RecutHost } from './recut-for-lanes';
import { laneShares } from '../contract/lanes';
import { laneCeiling } from '../contract/adaptive-concurrency';
import { LanesFound } from './lanes-found';
import { ProviderWaits } from './provider-waits';

/** Runs recorded before a slice ran many items at once replay with one item per slice. */
const LANES_IN_SLICES_PATCH = 'lanes-in-slices';
/** Runs recorded before the refresh existed replay without it (test/replay). */
const LEDGER_REFRESH_PATCH = 'progress-from-ledger';
/** Runs recorded before configure re-cut a window for more lanes replay without it. */
const RECUT_FOR_LANES_PATCH = 'recut-for-lanes';
/** Runs recorded before a quota wait could end the run at its event budget replay without it. */
const QUOTA_WAIT_BUDGET_PATCH = 'quota-wait-budget';
/** runSlice's answer for a slice that waits out its quota stop in the next run. */
const WAIT_IN_NEXT_RUN = 'wait-in-next-run';
/** runSlice's answer for a slice the ledger's control paused or stopped. */
const STOPPED = 'stopped';
/** States a batch passes through in a moment: no search attribute upsert for them (lanes in slices). */
const TRANSIENT_STATES: readonly BatchState[] = ['planning', 'finalizing', 'stopping'];
/** Runs recorded before budgets replay without the pause a budget makes. */
const BUDGET_PATCH = 'budget';

const { planWindow, finalize } = proxyActivities<WaymarkActivities>(bookkeepingActivityOptions);

export class BatchRun implements LaneHost, SplitHost, LegacyLaneHost, RefreshHost, RecutHost {
  /** configure may change it; each slice takes the spec as it stands when the slice starts. */
  spec: BatchSpec;
  readonly batchId: string;
  private readonly startedAt: number;
  private readonly runs: number;
  private readonly rootScope = CancellationScope.current();

  private state: BatchState = 'planning';
  paused: boolean;
  /** The pause is the budget's: resume or a raised budget ends it. */
  private budgetReached: boolean;
  private total: number | undefined;
  private cursor: SourcePosition;
  private readonly quota = new QuotaHold();
  private readonly tallies: Tallies;
  /** The ledger's counts when last read; progress shows the larger of these and the slices' tallies. */
  private ledgerCounts: CommittedCounts | undefined;
  /** The ledger's usage per unit when last read (a refresh or the manifest); absent until some item reports usage. */
  private usage: Usage | undefined;
  /** Whether this run reads the ledger's counts (false when replaying a run recorded before). */
  private refreshesFromLedger = false;
  /** A slice stopped by a pause since the last read: its commits reached no tally. */
  sliceStoppedUnread = false;
  windowDone = false;

  private window: Window | undefined;
  /**
   * Whether a slice runs many items at once (I15): false in runs recorded before, which replay
   * with one item per slice, C slices in flight and splits for idle lanes.
   */
  readonly lanesInSlices: boolean;
  /** Tasks running slices: the legacy lanes, or one per slice launched with lanes in slices. */
  runners = 0;
  slicesInFlight = 0;
  /** The slices in flight, with when each was launched. */
  readonly running = new Map<WindowSlice, number>();
  /** The lanes each running slice holds, and lending (lanes in slices). */
  private readonly lanes: Lanes;
  /** Splits for idle lanes (runs recorded before lanes in slices). */
  readonly splits: IdleLaneSplits;
  private readonly control: SliceControl;
  /** Adaptive lanes as the slices and the ledger tell them, shown only (lanes-found.ts). */
  readonly lanesFound = new LanesFound(workflowInfo().workflowId, () => this.spec);
  /** Slices of a provider batch processor whose items wait in jobs at the provider (provider-waits.ts). */
  private readonly providerWaits = new ProviderWaits();

  /** Why the run stops launching slices; each one ends the run its own way. */
  stopReason: string | undefined;
  /** What failed a lane: in workflow code every failure that reaches here is an Error (a TemporalFailure). */
  failure: Error | undefined;
  replanRequested = false;
  outOfHistoryBudget = false;
  /** While the window's unlaunched tail is being cut again for more lanes, no lane launches. */
  recutting = false;

  /** Whether the namespace has waymark's search attributes, as the first window found (absent: not asked). */
  private searchAttributesRegistered: boolean | undefined;
  private readonly webUi: WebUiView;

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
    this.webUi = new WebUiView(
      this.batchId,
      info.typedSearchAttributes.get(WAYMARK_STATUS) !== undefined || this.searchAttributesRegistered === true,
    );
    this.lanesInSlices = patched(LANES_IN_SLICES_PATCH);
    this.control = new SliceControl(this.batchId, checkpoint?.controlGeneration ?? 0);
    this.lanes = new Lanes(this);
    this.splits = new IdleLaneSplits(this);
    // A cancelled batch tells its running slices at once, through the ledger: a cancel request
    // would reach them only with their next heartbeat.
    if (this.lanesInSlices) this.rootScope.cancelRequested.catch(() => void this.control.halt('stop', true));
  }

  /** C: the lanes slices are cut and launched for; adaptive lanes are found within it (adaptive-concurrency.ts). */
  get concurrency(): number {
    return laneCeiling(this.spec.concurrency);
  }

  /**
   * patched(), for a change older than lanes in slices: a run that has lanes in slices has it too,
   * so it records no marker of its own (each marker costs an event and two Temporal Cloud actions,
   * a marker and an upsert of TemporalChangeVersion, in every run).
   */
  private since(patch: string): boolean {
    return this.lanesInSlices || patched(patch);
  }

  nextGeneration(): number {
    return this.control.next();
  }

  /** Lanes are lent while the window is in a state to share them (mayShareLanes) and the run's event budget has room. */
  mayLend(window: Window): boolean {
    return this.mayShareLanes(window) && refreshFitsBudget(this.slicesInFlight) && !this.providerWaits.any;
  }

  maySplit(window: Window): boolean {
    return this.mayShareLanes(window);
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
      heartbeats: this.tallies.finished.heartbeats,
      partialSlices: this.tallies.partials(),
      cursor: this.cursor.index,
      runs: this.runs,
      slicesInFlight: this.slicesInFlight,
      resumeCostBound: resumeCostBound(this.spec),
      ...(this.state === 'waiting-for-quota' ? this.quota.shown() : { quotaUntil: undefined }),
      ...(this.spec.budget !== undefined ? { budget: this.spec.budget } : {}),
      startedAt: this.startedAt,
      concurrency: this.concurrency,
      sliceSize: this.spec.sliceSize,
      ...(this.lanesInSlices ? { lanesHeld: this.lanes.inUse } : {}),
      ...this.lanesFound.shown(),
      ...this.providerWaits.progress(),
      ...lanesShort({
        window: this.window,
        running: this.state === 'running' && !this.paused,
        concurrency: this.concurrency,
        total: this.total,
        slicesInFlight: this.slicesInFlight,
        ...(this.lanesInSlices
          ? { lanes: { inUse: this.lanes.inUse, free: this.lanes.free, lending: this.lanes.lending } }
          : { splits: { pending: this.splits.pending.size, worthAsking: this.splits.worthAsking } }),
      }),
    };
  }

  /** The Web UI (web-ui-view.ts): details on every change; search attributes on state changes (`force`) and at a bounded rate. */
  publish(force = false, upsert = true): void {
    this.webUi.show(this.progress(), this.tallies.failedByType, force, upsert);
  }

  private setState(next: BatchState): void {
    this.state = next;
    // A search attribute upsert is a Temporal Cloud action: with lanes in slices, the states that
    // last a moment (planning, finalizing, stopping) show in the details only.
    this.publish(true, !this.lanesInSlices || !TRANSIENT_STATES.includes(next));
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    void this.control.halt('pause', this.lanesInSlices);
    this.publish(true);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.budgetReached = false;
    if (this.lanesInSlices) {
      // Slices launched from here on take the new generation, so the pause written before is not theirs.
      void this.control.send('run');
      if (this.window !== undefined) this.fillLanes(this.window);
    }
    this.publish(true);
  }

  validateConfigure(change: BatchConfigChange): void {
    configuredSpec(this.spec, change);
  }

  configure(change: BatchConfigChange): BatchConfig {
    const before = this.spec;
    this.spec = configuredSpec(this.spec, change);
    // A new budget ends the budget's pause: slices check it against the ledger as they start again,
    // so a budget still not above the usage pauses the batch again at once.
    if (change.budget !== undefined && this.budgetReached) this.resume();
    // Slices of this window are already cut: a new slice size applies from the next window,
    // which starts as soon as the slices in flight have finished.
    if (this.spec.sliceSize !== before.sliceSize) this.replanRequested = true;
    const moreLanes = this.concurrency > laneCeiling(before.concurrency);
    if (moreLanes || (this.lanesInSlices && this.concurrency !== laneCeiling(before.concurrency))) {
      // More lanes than unlaunched slices: the rest of the window is cut again, so they all get work.
      if (this.window !== undefined && tailNeedsRecut(this, this.window) && this.since(RECUT_FOR_LANES_PATCH))
        void recutForLanes(this, this.window);
      this.spawnLanes();
    }
    this.publish(true);
    const { concurrency, sliceSize, budget } = this.spec;
    return { concurrency, sliceSize, ...(budget !== undefined ? { budget } : {}) };
  }

  async plan(): Promise<void> {
    this.publish(true, !this.lanesInSlices);
    const firstWindow = this.total === undefined;
    // Patched: histories recorded before these fields replay with the inputs they had. The
    // identity is the same across continue-as-new, retries and resets, and only across them (I11).
    const identity = firstWindow && this.since('batch-identity') ? workflowInfo().firstExecutionRunId : undefined;
    const askSearchAttributes = firstWindow && !this.webUi.publishesSearchAttributes && this.since('search-attributes-any-start');
    const { plan, total, searchAttributesRegistered } = await planWindow({
      batchId: this.batchId,
      spec: this.spec,
      from: this.cursor,
      maxItems: this.spec.checkpointEvery,
      countTotal: firstWindow,
      ...(identity !== undefined ? { identity } : {}),
      ...(askSearchAttributes ? { askSearchAttributes } : {}),
      ...this.roundOfSlices(),
    });
    this.total ??= total;
    if (askSearchAttributes) {
      this.searchAttributesRegistered = searchAttributesRegistered === true;
      this.webUi.publishesSearchAttributes = this.searchAttributesRegistered;
    }
    this.setState('running');
    this.window = new Window(plan);
    if (this.window.isEmpty) this.cursor = plan.next;
  }

  /** The lanes of the slices of a round of the window's cut: those in flight when every lane has work. */
  roundOfSlices(): { laneShares?: number[] } {
    return this.lanesInSlices ? { laneShares: laneShares(this.concurrency) } : {};
  }

  /**
   * Resolves when every slice has ended. Not cancellable: a cancelled batch waits for its slices
   * to stop at an item boundary, so the manifest it then writes has final counts.
   */
  runWindow(): Promise<void> {
    this.refreshesFromLedger = this.since(LEDGER_REFRESH_PATCH);
    this.spawnLanes();
    return CancellationScope.nonCancellable(async () => {
      const refreshes = this.refreshesFromLedger ? refreshWhileSlicesRun(this) : undefined;
      // A split still being asked for when the last slice ends is answered before the run moves on.
      await condition(() => this.windowSettled());
      this.windowDone = true;
      await refreshes;
    });
  }

  /**
   * Every slice has ended and none will launch in this run. With lanes in slices a paused batch
   * has no slice running and waits here for resume, as a legacy lane waited for it in its loop.
   */
  private windowSettled(): boolean {
    if (!this.lanesInSlices) return this.runners === 0 && !this.splits.asking;
    if (this.runners > 0 || this.lanes.lending) return false;
    const waitsToLaunch = this.window!.unlaunched > 0 && (this.paused || this.recutting) && !this.stopsLaunching();
    return !waitsToLaunch;
  }

  /** Something ends the run's launching for good: a stop, a failure, a replan, the event budget, a cancel. */
  private stopsLaunching(): boolean {
    return this.stopping || this.replanRequested || this.outOfHistoryBudget;
  }

  /** The run stops its slices: a stop, a failure or a cancel; slices with jobs at the provider cancel them. */
  private get stopping(): boolean {
    return this.stopReason !== undefined || this.failure !== undefined || this.cancelled;
  }

  /** Slice activities running, polls of jobs at a provider aside: their results carry the counts a refresh would read. */
  get slicesRunning(): number {
    return this.control.running - this.providerWaits.polling;
  }

  /** A refresh's counts (ledger-refresh.ts): shown at once, and upserted when they moved. */
  tookLedgerCounts(counts: BatchTotalsResult): void {
    const before = this.progress();
    this.ledgerCounts = maxCounts(counts, this.ledgerCounts);
    this.usage = counts.usage ?? this.usage;
    const after = this.progress();
    this.publish(after.succeeded !== before.succeeded || after.failed !== before.failed);
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
        heartbeats: this.tallies.finished.heartbeats,
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
      ...(counts.heartbeats ? { heartbeats: counts.heartbeats } : {}),
      failedByType: counts.failedByType,
      runs: this.runs,
      startedAt: this.startedAt,
      total: this.total,
      paused: this.paused,
      ...(this.budgetReached ? { budgetReached: true } : {}),
      ...(this.usage !== undefined ? { usage: this.usage } : {}),
      ...(this.searchAttributesRegistered !== undefined ? { searchAttributesRegistered: this.searchAttributesRegistered } : {}),
      ...(this.control.generation > 0 ? { controlGeneration: this.control.generation } : {}),
    };
  }

  spawnLanes(): void {
    const window = this.window;
    // Before the window is planned there is nothing to run.
    if (window === undefined) return;
    if (this.lanesInSlices) {
      this.fillLanes(window);
      return;
    }
    // Counted up front: a lane may end before its first await (nothing left to do), and a loop
    // on `runners` would then never end.
    const wanted = Math.min(this.concurrency, window.unlaunched) - this.runners;
    for (let i = 0; i < wanted; i++) {
      this.runners++;
      void runLegacyLane(this, window);
    }
  }

  /**
   * Lanes in slices: launches the window's next slices while lanes are free, each with up to a
   * slice's share of them; with nothing left to launch, lends the free lanes to running slices.
   */
  private fillLanes(window: Window): void {
    if (window !== this.window) return;
    let launched = false;
    while (window.unlaunched > 0 && !this.paused && !this.recutting && !this.stopsLaunching()) {
      if (!this.lanes.mayLaunch(window.nextToLaunch())) break;
      if (historyBudgetSpent(this.slicesInFlight)) {
        this.outOfHistoryBudget = true;
        break;
      }
      const slice = window.launchNext();
      this.lanes.take(slice);
      this.runners++;
      launched = true;
      void this.runTask(window, slice);
    }
    if (!launched && window.unlaunched === 0 && this.lanes.free >= 1) void this.lanes.lend(window);
  }

  /** One slice to its end, then its lanes go to the next slice or are lent. */
  private async runTask(window: Window, slice: WindowSlice): Promise<void> {
    try {
      await this.runNext(window, slice);
    } catch (err) {
      this.laneFailed(err);
    } finally {
      this.runners--;
      this.lanes.release(slice);
      this.fillLanes(window);
    }
  }

  /** A slice failed: the run stops, unless the run itself stopped it. */
  laneFailed(err: unknown): void {
    if (!(isCancellation(err) && this.stopping)) {
      this.failure ??= err as Error;
      void this.control.halt('stop', this.lanesInSlices);
    }
  }

  /** Runs a launched slice to its end, or to its split, a pause or a stop. */
  async runNext(window: Window, slice: WindowSlice): Promise<void> {
    this.slicesInFlight++;
    this.running.set(slice, Date.now());
    try {
      const rest = await this.runSlice(slice);
      if (rest === WAIT_IN_NEXT_RUN) {
        window.relaunchLater(slice);
        this.outOfHistoryBudget = true;
      } else if (rest === STOPPED) {
        // Paused through the ledger: the slice runs again on resume, from where it stopped.
        if (this.paused && !this.cancelled) window.relaunchLater(slice);
        this.sliceStoppedUnread = true;
      } else if (rest === undefined) {
        this.cursor = window.markFinished(slice);
      } else {
        this.cursor = window.split(slice, rest);
        this.splits.worthAsking = true;
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
      this.splits.pending.delete(slice);
      this.providerWaits.forget(slice);
    }
  }

  /** Whether the window is in a state to share free lanes: running, nothing left to launch, no quota hold. */
  private mayShareLanes(window: Window): boolean {
    if (this.windowDone || window !== this.window || window.unlaunched > 0) return false;
    if (this.paused || this.recutting || this.replanRequested || this.stopping) return false;
    return this.quota.remainingMs === 0;
  }

  /**
   * Runs one slice to its end, or to its split, waiting out quota stops (I7) without spending
   * attempts. WAIT_IN_NEXT_RUN when it stopped for quota with this run's event budget spent (I2):
   * a slice paced by a per-hour limit stops after every item, at about 13 events each. STOPPED
   * when the ledger's control paused or stopped it.
   */
  private async runSlice(windowSlice: WindowSlice): Promise<SliceBounds[] | typeof WAIT_IN_NEXT_RUN | typeof STOPPED | undefined> {
    const slice = windowSlice.bounds;
    for (;;) {
      if (this.quota.remainingMs > 0) {
        this.setState('waiting-for-quota');
        await sleep(this.quota.remainingMs);
        this.setState('running');
        // Relaunched at a new generation: the batch's hold it waited out in the ledger is not its own.
        if (this.lanesInSlices) this.control.next();
      }
      const result = await this.runAttempts(windowSlice);
      this.lanesFound.heard(result.adaptive);
      if (result.outcome === 'stopped') {
        this.tallies.sliceStoppedForQuota(slice.start, result.tally);
        this.publish();
        return STOPPED;
      }
      if (result.outcome === 'done' || result.outcome === 'split') {
        this.tallies.sliceFinished(slice.start, result.tally);
        this.checkTolerance();
        this.publish();
        return result.outcome === 'split' ? result.rest : undefined;
      }
      this.tallies.sliceStoppedForQuota(slice.start, result.tally);
      this.checkTolerance();
      if (result.outcome === 'at-provider') {
        this.providerWaits.took(windowSlice, result.provider);
        this.publish();
        // The next run polls it: its jobs are in the ledger, found by their items whatever slices that run cuts.
        if (historyBudgetSpent(this.slicesInFlight - 1)) return WAIT_IN_NEXT_RUN;
        await this.providerWaits.wait(result.pollInMs, () => this.stopping);
        continue;
      }
      if (result.budgetReached && this.since(BUDGET_PATCH)) {
        this.pauseForBudget();
        // Like a slice a pause stopped: the lane launches it again on resume, from where it stopped.
        throw new CancelledFailure(`slice ${slice.start} stopped: budget reached`);
      }
      this.quota.hold(result);
      // Held for quota: the lanes promised to its split are free again (a later attempt may still
      // take the request, and the lanes it then needs are found as any split's are).
      this.splits.pending.delete(windowSlice);
      // This slice is among those in flight; the question is whether it fits once more.
      if (historyBudgetSpent(this.slicesInFlight - 1) && this.since(QUOTA_WAIT_BUDGET_PATCH)) return WAIT_IN_NEXT_RUN;
    }
  }

  /**
   * The slice's activity, in a scope of its own that pause and stop can cancel. With lanes in
   * slices, a cancelled batch stops its slices through the ledger: their scopes do not follow the
   * workflow's cancellation, which would race the slices that already stopped with a cancel of an
   * activity that has completed; they are cancelled only should the ledger not take the stop.
   */
  private runAttempts(windowSlice: WindowSlice): Promise<ProcessSliceResult> {
    const slice = windowSlice.bounds;
    const attempt = () => {
      const { processSlice } = proxyActivities<WaymarkActivities>(sliceActivityOptions(this.spec, slice));
      const lanes = this.lanesInSlices ? { lanes: this.lanes.of(windowSlice), controlGeneration: this.control.generation } : {};
      const provider = this.providerWaits.input(windowSlice, { paused: this.paused, stopping: this.stopping });
      return this.control.inScope(() => processSlice({ batchId: this.batchId, spec: this.spec, slice, ...lanes, ...provider }));
    };
    return this.providerWaits.counting(windowSlice, () => (this.lanesInSlices ? CancellationScope.nonCancellable(attempt) : attempt()));
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
      void this.control.halt('stop', this.lanesInSlices);
    }
  }
}

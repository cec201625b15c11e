/**
 * The batch's notifications (INVARIANTS.md I16): which transitions to tell, each once, and how.
 *
 * Finished, finished with failures, failed and cancelled are told as the run ends. While it
 * runs, a watcher follows the run's progress (a condition on state and committed count, which
 * costs no history event) and tells: budget reached; a quota wait announced, or lasting, longer
 * than `quotaWaitMs`; stalled, no item committed for `stalledMs` while running; and resumed, the
 * first commit after any of those. The only timer is the stall check's, one per `stalledMs` of
 * running time, none while paused, waiting or already stalled (I2). Before telling a stall it
 * asks the ledger (batchTotals), so slices that commit without the run hearing of it yet are
 * not taken for a stall. What it has told is carried across continue-as-new, so a state is
 * never told twice.
 *
 * Each event is a child workflow (notify-workflow.ts) with ParentClosePolicy ABANDON and a
 * workflow id unique to the event: the batch waits only for the server to start it, never for a
 * receiver, and a failure to start it is logged, never the batch's. A batch without `notify`
 * does nothing here: no command, so histories recorded before notifications replay unchanged.
 */
import {
  CancellationScope,
  condition,
  log,
  ParentClosePolicy,
  proxyLocalActivities,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { WaymarkActivities } from '../activities';
import type { BatchManifest } from '../contract/activity-io';
import type { Checkpoint } from '../contract/checkpoint';
import type { BatchProgress } from '../contract/messages';
import {
  NOTIFY_WORKFLOW_TYPE,
  targetTakes,
  type NotificationEvent,
  type NotifyEventName,
  type NotifySpec,
} from '../contract/notifications';
import { refreshActivityOptions } from './activity-options';
import { describeState } from './details';
import type { NotifyInput, notifyWorkflow } from './notify-workflow';

const { batchTotals } = proxyLocalActivities<WaymarkActivities>(refreshActivityOptions);

/** A condition the batch is in that has been told, and which a commit ends with "resumed". */
export type Notice = NonNullable<Checkpoint['notice']>;

/** What the notices read of the run. */
export interface NoticedRun {
  readonly batchId: string;
  readonly spec: { notify?: NotifySpec };
  progress(): BatchProgress;
}

/** States in which items are expected to commit: the stall check runs only in these. */
const RUNNING = new Set<BatchProgress['state']>(['planning', 'running']);
/** States after which the run only ends: the watcher stops. */
const ENDING = new Set<BatchProgress['state']>(['stopping', 'finalizing', 'completed', 'failed-tolerance', 'cancelled']);

export class BatchNotices {
  private readonly notify: NotifySpec | undefined;
  private notice: Notice | undefined;
  private sent = 0;
  private ended = false;
  private readonly starting: Promise<void>[] = [];
  /** The most committed items seen, from the run or the ledger, and when it last grew (or running began). */
  private known = 0;
  private movedAt = 0;
  /** When the current quota wait began: no commit since, waiting for quota at each look. */
  private waitingSince: number | undefined;

  constructor(
    private readonly run: NoticedRun,
    checkpoint?: Checkpoint,
  ) {
    this.notify = run.spec.notify;
    this.notice = checkpoint?.notice;
  }

  /** Starts the watcher; nothing without `notify`. */
  watch(): void {
    if (this.notify === undefined) return;
    const p = this.run.progress();
    this.known = committed(p);
    this.movedAt = Date.now();
    // Not cancellable: a cancel of the batch ends it through end('cancelled'), not by failing the watchers.
    const notify = this.notify;
    void CancellationScope.nonCancellable(() => Promise.all([this.follow(notify), this.checkStalls(notify)]));
  }

  /** The run ended: tells how, and waits until the server has started the event's delivery. */
  async end(name: 'finished' | 'failed' | 'cancelled', manifest?: BatchManifest, reason?: string): Promise<void> {
    if (this.notify === undefined || this.ended) return;
    this.ended = true;
    const p = this.run.progress();
    const finishedName: NotifyEventName = name === 'finished' && (manifest?.failed ?? p.failed) > 0 ? 'finished-with-failures' : name;
    this.tell(finishedName, {
      ...(manifest !== undefined
        ? {
            total: manifest.total,
            succeeded: manifest.succeeded,
            failed: manifest.failed,
            pending: manifest.pending,
            redone: manifest.redone,
            ...(manifest.usage !== undefined ? { usage: manifest.usage } : {}),
          }
        : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
    await this.drained();
  }

  /** The run continues-as-new: waits for the starts of the events told, and hands on what was told. */
  async carried(): Promise<Pick<Checkpoint, 'notice'>> {
    this.ended = true;
    await this.drained();
    return this.notice !== undefined ? { notice: this.notice } : {};
  }

  private async drained(): Promise<void> {
    await Promise.all(this.starting);
  }

  /** Follows state and count; tells budget reached, long quota waits and resumes. */
  private async follow(notify: NotifySpec): Promise<void> {
    for (;;) {
      const p = this.run.progress();
      if (this.ended || ENDING.has(p.state)) return;
      const now = Date.now();
      if (committed(p) > this.known) {
        this.known = committed(p);
        this.movedAt = now;
        this.waitingSince = undefined;
        if (this.notice !== undefined && p.state === 'running') {
          this.tell('resumed', { resumedFrom: this.notice });
          this.notice = undefined;
        }
      }
      if (p.state === 'budget-reached' && this.notice !== 'budget-reached') {
        this.notice = 'budget-reached';
        this.tell('budget-reached', p.budget !== undefined ? { budget: { ...p.budget, used: p.usage?.[p.budget.unit] } } : {});
      }
      if (p.state === 'waiting-for-quota') this.quotaWait(notify, p, now);
      // A pause, a wait or a stall is not running time: the stall clock starts again after it.
      if (!RUNNING.has(p.state)) this.movedAt = now;
      const seen = `${p.state}|${committed(p)}`;
      await condition(() => this.ended || `${this.run.progress().state}|${committed(this.run.progress())}` !== seen);
    }
  }

  /**
   * A quota wait is told when its announced end is quotaWaitMs away or more, or once it has
   * lasted that long without a commit (a quota that stays spent stops the slice again at each try).
   */
  private quotaWait(notify: NotifySpec, p: BatchProgress, now: number): void {
    this.waitingSince ??= now;
    if (this.notice === 'quota-wait' || this.notice === 'budget-reached') return;
    const until = p.quotaUntil ?? now;
    if (until - this.waitingSince < notify.quotaWaitMs && now - this.waitingSince < notify.quotaWaitMs) return;
    this.notice = 'quota-wait';
    this.tell('quota-wait', { until, ...(p.pacedOn || p.heldOn ? { waitingOn: p.pacedOn ?? p.heldOn } : {}) });
  }

  /** One timer per stalledMs of running time; a stall is told only if the ledger agrees nothing moved. */
  private async checkStalls(notify: NotifySpec): Promise<void> {
    const watching = () => this.notice !== 'stalled' && RUNNING.has(this.run.progress().state);
    for (;;) {
      if (!watching()) {
        await condition(() => this.ended || watching());
        if (this.ended) return;
        // Paused, waiting or stalled until now: the stall clock starts again.
        this.movedAt = Math.max(this.movedAt, Date.now());
      }
      const due = this.movedAt + notify.stalledMs - Date.now();
      if (due > 0) {
        await sleep(due);
        continue;
      }
      let ledgerCount: number;
      try {
        const totals = await batchTotals({ batchId: this.run.batchId });
        ledgerCount = totals.succeeded + totals.failed;
      } catch {
        // The ledger did not answer: no commit can be seen, which is what a stall is.
        ledgerCount = this.known;
      }
      const p = this.run.progress();
      if (this.ended || !RUNNING.has(p.state)) continue;
      if (ledgerCount > this.known) {
        // Commits the run has not heard of yet: progress, not a stall.
        this.known = ledgerCount;
        this.movedAt = Date.now();
        continue;
      }
      if (this.movedAt + notify.stalledMs > Date.now()) continue;
      this.notice = 'stalled';
      this.tell('stalled', { since: this.movedAt });
    }
  }

  /** Starts the event's delivery (not awaited: drained() waits for the starts). */
  private tell(name: NotifyEventName, detail: Partial<NotificationEvent>): void {
    const notify = this.notify!;
    const targets = notify.targets.filter((t) => targetTakes(t, name));
    if (targets.length === 0) return;
    const p = this.run.progress();
    const { runId } = workflowInfo();
    const id = `${this.run.batchId}/notify/${runId}/${++this.sent}-${name}`;
    const event: NotificationEvent = {
      id,
      name,
      at: Date.now(),
      batchId: this.run.batchId,
      state: describeState(p),
      ...(p.total !== undefined ? { total: p.total } : {}),
      succeeded: p.succeeded,
      failed: p.failed,
      ...(p.usage !== undefined ? { usage: p.usage } : {}),
      redone: p.redone,
      resumeCostBound: p.resumeCostBound,
      ...detail,
    };
    const input: NotifyInput = { event, targets };
    // Not cancellable: a cancelled batch still tells that it was cancelled.
    const started = CancellationScope.nonCancellable(() =>
      startChild<typeof notifyWorkflow>(NOTIFY_WORKFLOW_TYPE, {
        workflowId: id,
        args: [input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    ).then(
      () => undefined,
      (err: Error) => log.warn('a notification could not be started; the batch goes on', { event: id, error: err.message }),
    );
    this.starting.push(started);
  }
}

function committed(p: Pick<BatchProgress, 'succeeded' | 'failed'>): number {
  return p.succeeded + p.failed;
}

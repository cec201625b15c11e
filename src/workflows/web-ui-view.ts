/**
 * The batch as the Temporal Web UI shows it while it runs: the current details on every change
 * (no history cost), and waymark's search attributes, which cost an event and a Temporal Cloud
 * action each, only on state changes and at a bounded rate. Search attributes are kept up to date
 * only when the batch was started with them, or when its first window found them registered
 * (recorded in the checkpoint for later runs): upserting one the namespace lacks fails the workflow task.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { BatchProgress } from '../contract/messages';
import { WAYMARK_FAILED, WAYMARK_STATUS, WAYMARK_SUCCEEDED } from '../contract/search-attributes';
import { currentDetails } from './details';
import { outlook, Pace } from './pace';

/** Search attribute upserts are history events: at most one per this much workflow time, plus state changes. */
const SEARCH_ATTRIBUTES_EVERY_MS = 30_000;

export class WebUiView {
  private lastPublished: { at: number; status: string } | undefined;
  /** The Web UI's speed and ETA, over recent running time. */
  private readonly pace = new Pace(5 * 60_000);

  constructor(
    private readonly batchId: string,
    /** Whether the batch keeps its search attributes up to date. */
    public publishesSearchAttributes: boolean,
  ) {}

  /** `force`: a change of state, upserted at once; `upsert` false: the details only. */
  show(p: BatchProgress, failedByType: Record<string, number>, force: boolean, upsert: boolean): void {
    this.pace.observe(Date.now(), p.succeeded + p.failed, p.state);
    setCurrentDetails(currentDetails(p, failedByType, outlook(p, this.batchId, this.pace.itemsPerSecond(), Date.now())));
    if (!this.publishesSearchAttributes || !upsert) return;
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
}

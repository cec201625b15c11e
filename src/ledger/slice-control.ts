/**
 * Control of running slices through the ledger (INVARIANTS.md I15): what the workflow wants of
 * them (pause, stop, more or fewer lanes) and a quota hold one slice met, read by every running
 * slice of the batch twice a second. A slice then needs no heartbeat response to hear of a
 * pause or a cancel, so it heartbeats only for liveness and progress.
 */

/** What the workflow asks of its running slices; `run` once a pause is over. */
export type BatchControlState = 'run' | 'pause' | 'stop';

/**
 * The batch's control as its workflow last wrote it. `generation` grows with every write, and a
 * slice obeys only a write made after it was launched (a generation past its own): a pause
 * written before a resume never stops the slices launched after it, should the resume's own write fail.
 */
export interface BatchControl {
  state: BatchControlState;
  generation: number;
}

/** What a running slice reads each time it polls. */
export interface SliceControlState {
  /** Absent until the workflow first writes the batch's control. */
  batch?: BatchControl;
  /**
   * Epoch ms until which a quota signal one of the batch's slices met holds them all, and the
   * control generation of the slice that met it: a slice the workflow launched after waiting the
   * hold out (at a later generation) is not held by it, whatever the clocks of worker and server say.
   */
  held?: { until: number; generation: number };
  /** The lanes the workflow last gave this slice, and the generation it did so at: a slice launched since keeps its own. */
  lanes?: { lanes: number; generation: number };
}

export interface SliceControl {
  /** One indexed read: the batch's control, its quota hold and the slice's lanes. */
  sliceControl(batchId: string, sliceStart: number): Promise<SliceControlState>;
  /** Writes the batch's control; a write of an older generation than the stored one changes nothing. */
  setBatchControl(batchId: string, control: BatchControl): Promise<void>;
  /** Holds the batch's slices of `generation` and before until `until` (epoch ms); a later generation's hold, or a later hold, wins. */
  holdBatch(batchId: string, until: number, generation: number): Promise<void>;
  /** Gives a running slice `lanes` lanes, at control `generation`; it starts or stops items to match within a poll. */
  setSliceLanes(batchId: string, sliceStart: number, lanes: number, generation: number): Promise<void>;
}

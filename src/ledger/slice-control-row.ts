/** A row of the control read (slice-control.ts) as both ledgers' queries return it. */
import type { BatchControlState, SliceControlState } from './slice-control';

export interface SliceControlRow {
  state: BatchControlState | null;
  generation: number | null;
  held_until: number | null;
  held_generation: number | null;
  lanes: number | null;
  lanes_generation: number | null;
}

export function toSliceControl(row: SliceControlRow | undefined): SliceControlState {
  if (row === undefined) return {};
  return {
    ...(row.state !== null && row.generation !== null ? { batch: { state: row.state, generation: row.generation } } : {}),
    ...(row.held_until !== null && row.held_generation !== null
      ? { held: { until: row.held_until, generation: row.held_generation } }
      : {}),
    ...(row.lanes !== null && row.lanes_generation !== null ? { lanes: { lanes: row.lanes, generation: row.lanes_generation } } : {}),
  };
}

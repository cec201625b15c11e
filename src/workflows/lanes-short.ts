/**
 * When fewer than C lanes can run, how many can and why (progress, the Web UI, `waymark start`):
 * only a short batch or the last slices of a window leave lanes without work. With lanes in slices
 * the lanes left free there are lent to the running slices; runs recorded before split slices.
 */
import type { BatchProgress } from '../contract/messages';
import type { Window } from './window';

export interface LanesAtWork {
  window: Window | undefined;
  /** Running and not paused: other states have no lanes to count. */
  running: boolean;
  concurrency: number;
  total: number | undefined;
  slicesInFlight: number;
  /** With lanes in slices: the lanes the running slices hold, those free, and whether free ones are being lent. */
  lanes?: { inUse: number; free: number; lending: boolean };
  /** Before lanes in slices: splits asked and not answered, and whether a split is still worth asking. */
  splits?: { pending: number; worthAsking: boolean };
}

export function lanesShort(w: LanesAtWork): Pick<BatchProgress, 'lanesInUse' | 'lanesShortBecause'> {
  const { window, lanes, splits } = w;
  if (window === undefined || !w.running) return {};
  const runnable = lanes ? lanes.inUse + (window.unlaunched > 0 ? lanes.free : 0) : w.slicesInFlight + window.unlaunched;
  if (runnable >= w.concurrency) return {};
  const items = (n: number) => `${n.toLocaleString('en-US')} item${n === 1 ? '' : 's'}`;
  const slices = (n: number) => `${n} slice${n === 1 ? '' : 's'}`;
  const where = window.isLast ? 'the batch' : 'this window';
  const because =
    w.total !== undefined && w.total < w.concurrency
      ? `the batch has ${items(w.total)}, and a lane needs at least one`
      : runnable === 0
        ? 'the window is finishing'
        : lanes
          ? `only the last ${slices(w.slicesInFlight)} of ${where} remain` + (lanes.lending ? ', lending the free lanes to them' : '')
          : splits && splits.pending > 0
            ? `splitting ${slices(splits.pending)} for the idle lanes`
            : `only the last ${slices(runnable)} of ${where} remain${runnable === 1 ? 's' : ''}` +
              ((splits?.worthAsking ?? true) ? '' : ', too close to done to split');
  return { lanesInUse: runnable, lanesShortBecause: because };
}

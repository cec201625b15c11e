/**
 * One planned window: its slices, those not yet launched, and those finished. Slices finish in
 * any order, but the cursor stands at the first one not finished: everything before it is
 * committed (INVARIANTS.md I4). A running slice may be split (BatchRun): what its attempt did
 * not start becomes new slices in its place, so slices are held by reference, not by position.
 */
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

export interface WindowSlice {
  bounds: SliceBounds;
  state: 'waiting' | 'launched' | 'finished';
}

export class Window {
  /** In source order; they cover the window's items without gap or overlap. */
  private readonly slices: WindowSlice[];
  private readonly plan: WindowPlan;
  /** Every slice before this position is finished. */
  private finishedPrefix = 0;
  private waiting: number;

  constructor(plan: WindowPlan) {
    this.plan = plan;
    this.slices = plan.slices.map((bounds) => ({ bounds, state: 'waiting' }));
    this.waiting = this.slices.length;
  }

  get isEmpty(): boolean {
    return this.slices.length === 0;
  }

  /** The source has nothing past this window. */
  get isLast(): boolean {
    return this.plan.exhausted;
  }

  /** Slices no lane has launched yet (including those a pause sent back). */
  get unlaunched(): number {
    return this.waiting;
  }

  /** The slice launchNext would launch (there must be one). */
  nextToLaunch(): WindowSlice {
    return this.slices.find((s) => s.state === 'waiting')!;
  }

  /** The first waiting slice, lowest first, so a paused slice goes back to its place. */
  launchNext(): WindowSlice {
    const slice = this.nextToLaunch();
    slice.state = 'launched';
    this.waiting--;
    return slice;
  }

  relaunchLater(slice: WindowSlice): void {
    slice.state = 'waiting';
    this.waiting++;
  }

  /**
   * The slices at the window's end that no lane has launched yet, as one range of items: what
   * can be cut again for more lanes (a slice once launched keeps its bounds, so no item is ever
   * in two slices that run).
   */
  unlaunchedTail(): { first: number; from: SourcePosition; items: number; slices: number } | undefined {
    const slices = this.slices;
    let first = slices.length;
    while (first > 0 && slices[first - 1].state === 'waiting') first--;
    if (first === slices.length) return undefined;
    const last = slices[slices.length - 1].bounds;
    return {
      first,
      from: { index: slices[first].bounds.start, offset: slices[first].bounds.startOffset },
      items: last.start + last.count - slices[first].bounds.start,
      slices: slices.length - first,
    };
  }

  /** Replaces the unlaunched slices from `first` on with `slices`, which cover the same items. */
  recutTail(first: number, slices: readonly SliceBounds[]): void {
    const replaced = this.slices.slice(first);
    if (replaced.some((s) => s.state !== 'waiting')) throw new Error('a launched slice cannot be cut again');
    this.slices.splice(first, replaced.length, ...slices.map((bounds): WindowSlice => ({ bounds, state: 'waiting' })));
    this.waiting += slices.length - replaced.length;
  }

  /**
   * A running slice's attempt stopped before `rest[0].start`, having started nothing past it:
   * the slice now ends there and is finished, and `rest`, which covers the items from there to
   * its old end, waits for lanes in its place. A slice split before its first item is replaced.
   */
  split(slice: WindowSlice, rest: readonly SliceBounds[]): SourcePosition {
    const at = this.slices.indexOf(slice);
    const { start, startOffset } = slice.bounds;
    const q = rest[0];
    const pieces = rest.map((bounds): WindowSlice => ({ bounds, state: 'waiting' }));
    this.waiting += pieces.length;
    if (q.start === start) {
      this.slices.splice(at, 1, ...pieces);
    } else {
      slice.bounds = { start, count: q.start - start, startOffset, endOffset: q.startOffset };
      this.slices.splice(at + 1, 0, ...pieces);
    }
    return this.markFinished(q.start === start ? undefined : slice);
  }

  /** Returns where the cursor now stands. */
  markFinished(slice: WindowSlice | undefined): SourcePosition {
    if (slice !== undefined) slice.state = 'finished';
    const slices = this.slices;
    while (this.finishedPrefix < slices.length && slices[this.finishedPrefix].state === 'finished') this.finishedPrefix++;
    if (this.finishedPrefix === slices.length) return this.plan.next;
    const first = slices[this.finishedPrefix].bounds;
    return { index: first.start, offset: first.startOffset };
  }
}

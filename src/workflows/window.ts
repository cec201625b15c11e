/**
 * One planned window: its slices, those not yet launched, and those finished. Slices finish in
 * any order, but the cursor stands at the first one not finished: everything before it is
 * committed (INVARIANTS.md I4).
 */
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

export class Window {
  /** Indexes into the plan's slices, lowest first, so a paused slice goes back to its place. */
  readonly unlaunched: number[];
  private readonly finished: boolean[];
  private readonly launched: boolean[];
  private readonly plan: WindowPlan;
  private finishedPrefix = 0;

  constructor(plan: WindowPlan) {
    this.plan = { ...plan, slices: [...plan.slices] };
    this.unlaunched = plan.slices.map((_, i) => i);
    this.finished = new Array<boolean>(plan.slices.length).fill(false);
    this.launched = new Array<boolean>(plan.slices.length).fill(false);
  }

  get isEmpty(): boolean {
    return this.plan.slices.length === 0;
  }

  /** The source has nothing past this window. */
  get isLast(): boolean {
    return this.plan.exhausted;
  }

  /** Where the window ends, and the next one starts. */
  get end(): SourcePosition {
    return this.plan.next;
  }

  slice(i: number): SliceBounds {
    return this.plan.slices[i];
  }

  launchNext(): number {
    const i = this.unlaunched.shift()!;
    this.launched[i] = true;
    return i;
  }

  /**
   * The slices at the window's end that no lane has launched yet, as one range of items: what
   * can be cut again for more lanes (a slice once launched keeps its bounds, so no item is ever
   * in two slices that run).
   */
  unlaunchedTail(): { first: number; from: SourcePosition; items: number; slices: number } | undefined {
    const slices = this.plan.slices;
    let first = slices.length;
    while (first > 0 && !this.launched[first - 1]) first--;
    if (first === slices.length) return undefined;
    const last = slices[slices.length - 1];
    return {
      first,
      from: { index: slices[first].start, offset: slices[first].startOffset },
      items: last.start + last.count - slices[first].start,
      slices: slices.length - first,
    };
  }

  /** Replaces the unlaunched slices from `first` on with `slices`, which cover the same items. */
  recutTail(first: number, slices: readonly SliceBounds[]): void {
    if (this.launched.slice(first).some(Boolean)) throw new Error('a launched slice cannot be cut again');
    const old = this.plan.slices.length;
    this.plan.slices.splice(first, old - first, ...slices);
    this.finished.splice(first, old - first, ...slices.map(() => false));
    this.launched.splice(first, old - first, ...slices.map(() => false));
    const kept = this.unlaunched.filter((i) => i < first);
    this.unlaunched.splice(0, this.unlaunched.length, ...kept, ...slices.map((_, j) => first + j));
  }

  relaunchLater(i: number): void {
    this.unlaunched.unshift(i);
    this.unlaunched.sort((a, b) => a - b);
  }

  /** Returns where the cursor now stands. */
  markFinished(i: number): SourcePosition {
    const slices = this.plan.slices;
    this.finished[i] = true;
    while (this.finishedPrefix < slices.length && this.finished[this.finishedPrefix]) this.finishedPrefix++;
    return this.finishedPrefix === slices.length
      ? this.plan.next
      : { index: slices[this.finishedPrefix].start, offset: slices[this.finishedPrefix].startOffset };
  }
}

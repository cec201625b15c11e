/**
 * One planned window: its slices, those not yet launched, and those finished. Slices finish in
 * any order, but the cursor stands at the first one not finished: everything before it is
 * committed (I4).
 */
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

export class Window {
  /** Indexes into the plan's slices, lowest first, so a paused slice goes back to its place. */
  readonly unlaunched: number[];
  private readonly finished: boolean[];
  private finishedPrefix = 0;

  constructor(private readonly plan: WindowPlan) {
    this.unlaunched = plan.slices.map((_, i) => i);
    this.finished = new Array<boolean>(plan.slices.length).fill(false);
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
    return this.unlaunched.shift()!;
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

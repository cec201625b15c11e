/**
 * A batch's speed and ETA as they should read: the rate over recent running time only, and,
 * while the batch is not running, its state and what ends it instead of a rate of 0 or an ETA
 * that grows by the second. Time paused, budget-reached or waiting for quota is left out of the
 * rate, and so are items committed meanwhile (slices stopping at an item boundary), so a batch
 * that resumes shows the speed it runs at, not an average dragged down by the pause.
 *
 * Pure and deterministic: the CLI's watch feeds it each poll, the workflow each time it
 * publishes its Web UI details (workflow time).
 */
import type { BatchProgress, BatchState } from '../contract/messages';
import { describeState, formatDuration } from './details';

/** The rate needs at least this much running time behind it to mean anything. */
const MIN_SPAN_MS = 2000;

interface Sample {
  /** Running time so far (ms), excluding every stretch the batch was not running. */
  clock: number;
  /** Items committed while running, so far. */
  done: number;
}

export class Pace {
  private readonly samples: Sample[] = [];
  private clock = 0;
  /** Items committed while the batch was not running: not the running rate's. */
  private excluded = 0;
  private last: { at: number; done: number; running: boolean } | undefined;

  /** @param windowMs how much recent running time the rate is taken over. */
  constructor(private readonly windowMs = 60_000) {}

  observe(at: number, done: number, state: BatchState): void {
    const running = state === 'running';
    const last = this.last;
    if (last !== undefined) {
      if (running && last.running) this.clock += Math.max(0, at - last.at);
      else this.excluded += Math.max(0, done - last.done);
    }
    this.last = { at, done, running };
    if (!running) return;
    this.samples.push({ clock: this.clock, done: done - this.excluded });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && this.samples[1].clock <= this.clock - this.windowMs) this.samples.shift();
  }

  /** Items per second over the last windowMs of running time; undefined until there is enough of it. */
  itemsPerSecond(): number | undefined {
    const first = this.samples[0];
    const latest = this.samples[this.samples.length - 1];
    if (first === undefined || latest.clock - first.clock < MIN_SPAN_MS) return undefined;
    return ((latest.done - first.done) / (latest.clock - first.clock)) * 1000;
  }
}

export interface Outlook {
  /** e.g. "12.5 items/s", "paused", "waiting". */
  speed: string;
  /** e.g. "4m 10s", or what ends the state: "paused: `waymark resume B`". */
  eta: string;
}

/**
 * What to show for speed and ETA, given the progress, the running rate and the time. A state
 * that is not running says what ends it: the command, or the time.
 */
export function outlook(p: BatchProgress, batchId: string, itemsPerSecond: number | undefined, now: number): Outlook {
  const done = p.succeeded + p.failed;
  switch (p.state) {
    case 'paused':
      return { speed: 'paused', eta: `paused: resume with \`waymark resume ${batchId}\`` };
    case 'budget-reached':
      return { speed: 'paused', eta: `${describeState(p)}: raise it with \`waymark configure ${batchId} --budget N\`` };
    case 'waiting-for-quota': {
      const until = p.quotaUntil;
      const when =
        until === undefined
          ? ''
          : ` until ${new Date(until).toISOString().slice(11, 19)} UTC (in ${formatDuration(Math.max(0, until - now))})`;
      const on = p.pacedOn !== undefined ? ` (paced on ${p.pacedOn})` : p.heldOn !== undefined ? ` on ${p.heldOn}` : '';
      return { speed: 'waiting', eta: `waiting for quota${on}${when}` };
    }
    case 'running': {
      if (itemsPerSecond === undefined) return { speed: '-', eta: '-' };
      const speed = `${itemsPerSecond.toFixed(1)} items/s`;
      if (p.total === undefined || p.total === 0) return { speed, eta: '-' };
      if (done >= p.total) return { speed, eta: '0s' };
      return { speed, eta: itemsPerSecond > 0 ? formatDuration(((p.total - done) / itemsPerSecond) * 1000) : '-' };
    }
    default: {
      // Planning, stopping, or ended: nothing left to estimate. An ended batch too short for a
      // running rate shows its average since it started.
      const rate = itemsPerSecond ?? (done > 0 && now > p.startedAt ? (done / (now - p.startedAt)) * 1000 : undefined);
      return { speed: rate === undefined ? '-' : `${rate.toFixed(1)} items/s`, eta: '-' };
    }
  }
}

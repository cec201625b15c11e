/**
 * When and how a chaos run interrupts its batch. Moments are counts of committed items, not
 * times, so every interruption lands while the batch runs, however fast or slow the machine is.
 */
import { randomInt, shuffle, type Random } from './random';

export type InterruptionKind = 'worker-kill' | 'server-kill' | 'worker-term';

export const INTERRUPTION_LABELS: Record<InterruptionKind, string> = {
  'worker-kill': 'worker SIGKILL',
  'server-kill': 'server SIGKILL',
  'worker-term': 'worker SIGTERM',
};

export interface PlannedInterruption {
  kind: InterruptionKind;
  /** Fires once this many items are committed. */
  atCommitted: number;
  /** Which worker process (0-based) a worker interruption hits. */
  worker: number;
}

export interface PlanCounts {
  items: number;
  workerKills: number;
  serverKills: number;
  workerTerms: number;
  workers: number;
}

/** Interruptions land between these fractions of the batch: not before it is warm, not after its last slices start. */
const FIRST = 0.05;
const LAST = 0.85;
/** Fewer items per interruption and they would queue up behind one another's recovery. */
export const MIN_ITEMS_PER_INTERRUPTION = 100;

/**
 * Stratified random moments: the span is cut into one stratum per interruption and each lands at a
 * random point of its own, so they are random yet spread over the whole run. Kinds are shuffled
 * over the moments.
 */
export function planInterruptions(counts: PlanCounts, random: Random): PlannedInterruption[] {
  const kinds: InterruptionKind[] = [
    ...Array<InterruptionKind>(counts.workerKills).fill('worker-kill'),
    ...Array<InterruptionKind>(counts.serverKills).fill('server-kill'),
    ...Array<InterruptionKind>(counts.workerTerms).fill('worker-term'),
  ];
  shuffle(random, kinds);
  const first = Math.floor(counts.items * FIRST);
  const stratum = (counts.items * (LAST - FIRST)) / Math.max(1, kinds.length);
  return kinds.map((kind, i) => ({
    kind,
    atCommitted: randomInt(random, Math.ceil(first + i * stratum), Math.floor(first + (i + 1) * stratum) - 1),
    worker: randomInt(random, 0, counts.workers - 1),
  }));
}

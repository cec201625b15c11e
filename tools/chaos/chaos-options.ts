/** What a chaos run can be told, with the defaults of `npm run chaos`. */
import { DEFAULTS } from '../../src/contract/batch-spec';
import { laneShares } from '../../src/contract/lanes';
import { MIN_ITEMS_PER_INTERRUPTION } from './chaos-plan';

export interface ChaosOptions {
  /** Items in the generated text source. */
  items: number;
  workerKills: number;
  serverKills: number;
  workerTerms: number;
  /** Worker processes running the batch. */
  workers: number;
  /** Time the processor takes per item. */
  itemMs: number;
  /** C, S, N and k of the batch spec. */
  concurrency: number;
  sliceSize: number;
  checkpointEvery: number;
  commitGroup: number;
  /** Short, so a slice whose worker was killed is retried within seconds, not the default 30. */
  heartbeatTimeoutMs: number;
  /** Seeds the interruption moments and targets; the report names it so a run can be repeated. */
  seed: number;
  /** Where the server's SQLite file, the ledger, the source and the logs go; default a new temp dir. */
  dataDir?: string;
  /**
   * The PostgreSQL ledger every worker and the run's own checks share (postgres://...); without it,
   * the SQLite ledger in the data dir.
   */
  ledgerUrl?: string;
  /** Skip the uninterrupted run of the same batch that the report compares against. */
  skipBaseline: boolean;
  /** The whole run, baseline included, fails past this. */
  timeoutMs: number;
  /** Progress lines as the run goes; silent by default. */
  log: (line: string) => void;
}

export function defaultChaosOptions(): ChaosOptions {
  return {
    items: 100_000,
    workerKills: 20,
    serverKills: 1,
    workerTerms: 1,
    workers: 1,
    itemMs: 2,
    concurrency: DEFAULTS.concurrency,
    sliceSize: DEFAULTS.sliceSize,
    // About ten slices a window, so continue-as-new happens under fire too (alignedWindow).
    checkpointEvery: alignedWindow(DEFAULTS.sliceSize, DEFAULTS.concurrency),
    commitGroup: DEFAULTS.commitGroup,
    heartbeatTimeoutMs: 3000,
    seed: Math.floor(Math.random() * 2 ** 31),
    skipBaseline: false,
    timeoutMs: 60 * 60_000,
    log: () => {},
  };
}

/**
 * A window of whole rounds of P slices of S, about ten slices, P the slices a round of C lanes
 * holds (src/contract/lanes.ts): when C splits into equal shares, as every C of the chaos runs
 * does, waymark cuts such a window into slices of S, so slices start at multiples of S, which is
 * how the progress monitor tells slices apart.
 */
function alignedWindow(sliceSize: number, concurrency: number): number {
  const slices = laneShares(concurrency).length;
  return sliceSize * slices * Math.ceil(10 / slices);
}

/** Defaults filled in, and the combinations the spec cannot catch refused with what to change. */
export function resolveChaosOptions(input: Partial<ChaosOptions>): ChaosOptions {
  const options = { ...defaultChaosOptions(), ...stripUndefined(input) };
  if (input.checkpointEvery === undefined) options.checkpointEvery = alignedWindow(options.sliceSize, options.concurrency);
  const interruptions = options.workerKills + options.serverKills + options.workerTerms;
  if (options.items < MIN_ITEMS_PER_INTERRUPTION * Math.max(1, interruptions)) {
    throw new Error(
      `${options.items} items are too few for ${interruptions} interruptions: give at least ${MIN_ITEMS_PER_INTERRUPTION} items per interruption ` +
        `(--items ${MIN_ITEMS_PER_INTERRUPTION * Math.max(1, interruptions)} or more), or fewer interruptions`,
    );
  }
  if (options.workers < 1) throw new Error('--workers must be at least 1');
  return options;
}

function stripUndefined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Commits written when the current turn of the event loop ends, in one callback and two stages:
 * first each slice session gathers what its lanes hold (gatherAtTurnEnd), then the SQLite ledger
 * writes what every session gathered in one transaction (writeAtTurnEnd). Were each stage to wait
 * for a setImmediate of its own, the write would run a whole turn after the gather, and every lane
 * would wait that turn before starting its next item: at 1,000 lanes of 100 ms items the turns
 * last milliseconds, and lanes stood idle about 10 ms an item.
 *
 * Once EARLY_AFTER sessions have something to gather, the commits are written at once (a
 * microtask), without waiting for the turn to end. Items started together end together: at
 * C = 1,000 a few hundred items' timers fire in one pass of the loop, which takes ~10 ms, and every
 * lane waited for the end of the pass to start its next item, so the next items started together
 * again, a convoy. Written in parts, the lanes of each part start again while the rest still ends.
 * Only where writes are grouped here (the SQLite ledger): a ledger that writes each session's
 * commit on its own (PostgreSQL) would only send more, smaller transactions.
 */
type Task = () => void;

/** Sessions with something to gather at which the commits are written before the turn ends. */
const EARLY_AFTER = 4;

const gathers: Task[] = [];
const writes: Task[] = [];
/** True once a ledger of this process has grouped its writes here. */
let writesGrouped = false;
let atTurnEnd = false;
let early = false;

/** Runs `task` when this turn ends (or earlier, see EARLY_AFTER), before the writes of the same turn. */
export function gatherAtTurnEnd(task: Task): void {
  gathers.push(task);
  if (writesGrouped && gathers.length >= EARLY_AFTER && !early) {
    early = true;
    queueMicrotask(() => {
      early = false;
      runTurn();
    });
  }
  schedule();
}

/** Runs `task` when this turn ends, after the gathers; asked for by a gather, in the same callback. */
export function writeAtTurnEnd(task: Task): void {
  writesGrouped = true;
  writes.push(task);
  schedule();
}

function schedule(): void {
  if (atTurnEnd) return;
  atTurnEnd = true;
  setImmediate(() => {
    atTurnEnd = false;
    runTurn();
  });
}

function runTurn(): void {
  try {
    while (gathers.length > 0 || writes.length > 0) {
      while (gathers.length > 0) gathers.shift()!();
      while (writes.length > 0) writes.shift()!();
    }
  } finally {
    // A task that threw leaves the tasks after it queued: they run when the next turn ends.
    if (gathers.length > 0 || writes.length > 0) schedule();
  }
}

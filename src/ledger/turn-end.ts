/**
 * Commits written when the current turn of the event loop ends, in one callback and two stages:
 * first each slice session gathers what its lanes hold (gatherAtTurnEnd), then the SQLite ledger
 * writes what every session gathered in one transaction (writeAtTurnEnd). Were each stage to wait
 * for a setImmediate of its own, the write would run a whole turn after the gather, and every lane
 * would wait that turn before starting its next item: at 1,000 lanes of 100 ms items the turns
 * last milliseconds, and lanes stood idle about 10 ms an item.
 */
type Task = () => void;

const gathers: Task[] = [];
const writes: Task[] = [];
let due = false;

/** Runs `task` when this turn ends, before the writes of the same turn. */
export function gatherAtTurnEnd(task: Task): void {
  gathers.push(task);
  schedule();
}

/** Runs `task` when this turn ends, after the gathers; asked for by a gather, in the same callback. */
export function writeAtTurnEnd(task: Task): void {
  writes.push(task);
  schedule();
}

function schedule(): void {
  if (due) return;
  due = true;
  setImmediate(runTurn);
}

function runTurn(): void {
  try {
    while (gathers.length > 0 || writes.length > 0) {
      for (const task of gathers.splice(0)) task();
      for (const task of writes.splice(0)) task();
    }
  } finally {
    due = false;
    // A task that threw leaves the rest for the next turn.
    if (gathers.length > 0 || writes.length > 0) schedule();
  }
}

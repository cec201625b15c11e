/**
 * The chaos run's verdict, item by item: the ledger against the source, the side-effect log against
 * the ledger, and every re-execution charged to the interruption that caused it.
 */
import type { Ledger } from '../../src/ledger/ledger';
import { chaosResult } from './chaos-processor';
import type { Execution } from './execution-log';

/** Problems listed by index in the report; the counts are always complete. */
const MAX_EXAMPLES = 10;

export interface ItemCheck {
  /** Items in the source. */
  total: number;
  /** Rows in the ledger for the batch. */
  rows: number;
  /** Source items with no ledger row. */
  lost: number;
  /** Source items with more than one ledger row (two outcomes). */
  duplicated: number;
  /** Ledger rows or executions whose index is not in the source. */
  unexpected: number;
  /** Rows with status failed: the chaos processor never fails, so each is a wrong outcome. */
  failed: number;
  /** Succeeded rows whose result is not what the processor returns for that item. */
  wrongResults: number;
  /** Items with an outcome but no execution in the side-effect log. */
  withoutSideEffect: number;
  /** One line per problem, the first few of them. */
  examples: string[];
}

export async function checkItems(ledger: Ledger, batchId: string, sourceItems: string[], executions: Execution[]): Promise<ItemCheck> {
  const total = sourceItems.length;
  const check: ItemCheck = {
    total,
    rows: 0,
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    failed: 0,
    wrongResults: 0,
    withoutSideEffect: 0,
    examples: [],
  };
  const note = (line: string) => {
    if (check.examples.length < MAX_EXAMPLES) check.examples.push(line);
  };

  const rowsPerIndex = new Uint32Array(total);
  for await (const row of ledger.outcomes(batchId)) {
    check.rows++;
    if (!Number.isInteger(row.index) || row.index < 0 || row.index >= total) {
      check.unexpected++;
      note(`ledger row for index ${row.index}, which the source does not have`);
      continue;
    }
    if (++rowsPerIndex[row.index] === 2) {
      check.duplicated++;
      note(`item ${row.index} has more than one outcome`);
    }
    if (row.status !== 'succeeded') {
      check.failed++;
      note(`item ${row.index} failed: ${row.errorType}: ${row.errorMessage}`);
    } else if (row.result !== chaosResult(row.index, sourceItems[row.index])) {
      check.wrongResults++;
      note(
        `item ${row.index} has result ${JSON.stringify(row.result)}, expected ${JSON.stringify(chaosResult(row.index, sourceItems[row.index]))}`,
      );
    }
  }

  const executed = new Uint8Array(total);
  for (const e of executions) {
    if (e.index < total) executed[e.index] = 1;
    else {
      check.unexpected++;
      note(`execution of index ${e.index} (pid ${e.pid}), which the source does not have`);
    }
  }
  for (let index = 0; index < total; index++) {
    if (rowsPerIndex[index] === 0) {
      check.lost++;
      note(`item ${index} has no outcome in the ledger`);
    } else if (!executed[index]) {
      check.withoutSideEffect++;
      note(`item ${index} has an outcome but its side effect was never logged`);
    }
  }
  return check;
}

export interface RedoneCheck {
  executions: number;
  /** Re-executions charged to each interruption, in the order given. */
  redone: number[][];
  /** Re-executions before the first interruption: nothing explains them. */
  unexplained: number[];
}

/**
 * An item's first execution is its own; each further one is a redo, charged to the latest
 * interruption at or before it. That is the one that caused it as long as an interruption's redos
 * are done before the next one fires, which the chaos run waits for. For a SIGKILLed worker the
 * cut-short execution precedes the kill; for a killed server it may follow it, by an attempt the
 * server lost track of that ran on until fenced out; either way the redo follows the interruption.
 *
 * @param interruptionTimes epoch ms, ascending
 */
export function attributeRedone(executions: Execution[], interruptionTimes: number[]): RedoneCheck {
  const byIndex = new Map<number, number[]>();
  for (const e of executions) {
    const times = byIndex.get(e.index);
    if (times) times.push(e.at);
    else byIndex.set(e.index, [e.at]);
  }
  const check: RedoneCheck = { executions: executions.length, redone: interruptionTimes.map(() => []), unexplained: [] };
  for (const [index, times] of byIndex) {
    times.sort((a, b) => a - b);
    for (const at of times.slice(1)) {
      const cause = latestAtOrBefore(interruptionTimes, at);
      if (cause < 0) check.unexplained.push(index);
      else check.redone[cause].push(index);
    }
  }
  for (const list of check.redone) list.sort((a, b) => a - b);
  check.unexplained.sort((a, b) => a - b);
  return check;
}

/** Position of the last time <= `at` in ascending `times`, or -1. */
function latestAtOrBefore(times: number[], at: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

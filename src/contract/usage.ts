/**
 * Usage: what an item consumed, as its processor reports it (tokens, requests, dollars), by unit
 * name. A flat object of non-negative finite numbers, e.g. `{"tokens": 1234, "costUsd": 0.002}`.
 * Kept per item in the ledger and summed per unit for a batch; only sums cross workflow history.
 * Pure, so workflow code may import it.
 */

export type Usage = Record<string, number>;

/** A unit name: what a metric label, a CSV header and a `--budget UNIT=MAX` flag can all carry. */
export const UNIT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Why `value` is not a usage report, or undefined when it is one. */
export function usageProblem(value: unknown): string | undefined {
  const example = 'e.g. {"tokens": 1234, "costUsd": 0.002}';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `usage must be an object of numbers by unit name, ${example}; got ${describe(value)}`;
  }
  for (const [unit, amount] of Object.entries(value)) {
    if (!UNIT_NAME.test(unit)) {
      return `usage unit ${JSON.stringify(unit)} is not a unit name: a letter, then up to 63 letters, digits or _ (${example})`;
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      return `usage "${unit}" must be a finite number, 0 or more, got ${describe(amount)} (${example})`;
    }
  }
  return undefined;
}

/** Adds `more` into `into`, unit by unit, and returns `into`. */
export function addUsage(into: Usage, more: Usage): Usage {
  for (const [unit, amount] of Object.entries(more)) into[unit] = (into[unit] ?? 0) + amount;
  return into;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

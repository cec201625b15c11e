/** Parsers for flag values: a bad value is a commander usage error that names the flag. */
import { InvalidArgumentError } from 'commander';

export function wholeNumber(flag: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes a whole number of at least ${min}, got "${raw}"`);
    }
    return n;
  };
}

export function keyValue(raw: string, into: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--option takes key=value (e.g. --option ms=5), got "${raw}"`);
  const value = raw.slice(eq + 1);
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Not JSON: keep the text as it is, so `--option greeting=hello` needs no quotes.
  }
  return { ...into, [raw.slice(0, eq)]: parsed };
}

export function columnList(raw: string): string[] {
  const columns = raw.split(',').map((c) => c.trim());
  if (columns.some((c) => c === ''))
    throw new InvalidArgumentError(`--columns takes column names separated by commas, e.g. id,email,total, got "${raw}"`);
  return columns;
}

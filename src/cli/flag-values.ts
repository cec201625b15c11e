/** Parsers for flag values: a bad value is a commander usage error that names the flag. */
import { InvalidArgumentError } from 'commander';
import { UNIT_NAME } from '../contract/usage';
import { RATE_PERIODS, type RatePeriod } from '../contract/batch-spec';
import { parseConcurrency, type Concurrency } from '../contract/adaptive-concurrency';

/** A decimal number within [min, max], for flags such as --fairness-weight. */
export function decimal(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} takes a number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
}

export function wholeNumber(flag: string, min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${flag} takes a whole number of at least ${min}, got "${raw}"`);
    }
    return n;
  };
}

/** `--concurrency N`, `auto` or `auto:MIN-MAX`: lanes set, or found between two bounds. */
export function concurrencyFlag(raw: string): Concurrency {
  try {
    return parseConcurrency(raw);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
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

/** A number above 0, fractions allowed (a budget in dollars). */
export function positiveNumber(flag: string, example: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} takes a number above 0 (${example}), got "${raw}"`);
    return n;
  };
}

/** `--budget UNIT=MAX`: the spec's budget. */
export function budgetFlag(raw: string): { unit: string; max: number } {
  const eq = raw.indexOf('=');
  const unit = raw.slice(0, eq);
  if (eq <= 0 || !UNIT_NAME.test(unit)) {
    throw new InvalidArgumentError(
      `--budget takes UNIT=MAX, a usage unit the processor reports and the most the batch may use (e.g. --budget tokens=1000000), got "${raw}"`,
    );
  }
  return { unit, max: positiveNumber('--budget', 'e.g. --budget tokens=1000000')(raw.slice(eq + 1)) };
}

export function columnList(raw: string): string[] {
  const columns = raw.split(',').map((c) => c.trim());
  if (columns.some((c) => c === ''))
    throw new InvalidArgumentError(`--columns takes column names separated by commas, e.g. id,email,total, got "${raw}"`);
  return columns;
}

/** `--rate-limit KEY=LIMIT/PERIOD`, e.g. openai=60/minute: the spec's rateLimit without its burst. */
export function rateLimitFlag(raw: string): { key: string; limit: number; per: RatePeriod } {
  const periods = Object.keys(RATE_PERIODS).join(', ');
  const match = /^([^=]+)=(\d+)\/(\w+)$/.exec(raw.trim());
  if (!match || !(match[3] in RATE_PERIODS)) {
    throw new InvalidArgumentError(`--rate-limit takes KEY=LIMIT/PERIOD (PERIOD: ${periods}), e.g. openai=60/minute, got "${raw}"`);
  }
  return { key: match[1], limit: Number(match[2]), per: match[3] as RatePeriod };
}

/** `--batch-id ID`: the workflow id, which names the batch forever; the server refuses an empty one with a riddle. */
export function batchIdFlag(raw: string): string {
  if (raw.trim() === '') {
    throw new InvalidArgumentError(
      `--batch-id must not be empty, got "${raw}"; give an id such as items-1, or leave the flag out for one made from the input's name and the time`,
    );
  }
  return raw;
}

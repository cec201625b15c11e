/** Checks shared by the built-in processors' validateOptions. */
import { ProcessorOptionsError } from './processor';

/** A typo such as `timeout` for `timeoutMs` would otherwise be ignored silently. */
export function rejectUnknownOptions(processor: string, options: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown === undefined) return;
  throw new ProcessorOptionsError(
    known.length === 0
      ? `processor "${processor}" takes no options, but got "${unknown}"; remove processor.options`
      : `processor "${processor}" has no option "${unknown}"; known options: ${known.join(', ')}`,
  );
}

/** An optional whole-number option, at least `min`; undefined when absent. */
export function integerOption(
  processor: string,
  options: Record<string, unknown>,
  name: string,
  min: number,
  unit: string,
): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ProcessorOptionsError(
      `processor "${processor}" option "${name}" must be a whole number of ${unit}, at least ${min}; got ${describeValue(value)}`,
    );
  }
  return value;
}

/** A bad option value as the user wrote it in the spec. */
export function describeValue(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

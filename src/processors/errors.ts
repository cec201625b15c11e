/**
 * Failure types for the compensating record: a short, stable word per kind of failure, so
 * failure rows can be grouped and redriven by cause rather than by free-text message.
 */

/**
 * A failure that deserves another attempt, labelled with a `type` for the failure row.
 * Any error other than NonRetryableItemError and QuotaExhaustedError is retried; this class
 * only adds the label.
 */
export class RetryableItemError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
    this.name = 'RetryableItemError';
  }
}

/**
 * The failure row's type for anything a processor threw: an explicit string `type` wins
 * (NonRetryableItemError, RetryableItemError, Temporal's ApplicationFailure), then the
 * error's class name ('TypeError', ...).
 */
export function errorType(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { type, name } = err as { type?: unknown; name?: unknown };
    if (typeof type === 'string' && type !== '') return type;
    if (typeof name === 'string' && name !== '') return name;
  }
  // A thrown string or number has no class; say so rather than invent one.
  return 'non-error';
}

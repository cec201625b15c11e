import { errorType, RetryableItemError } from '../../src/processors/errors';
import { NonRetryableItemError, QuotaExhaustedError } from '../../src/processors/processor';

describe('errorType', () => {
  it("uses a NonRetryableItemError's type", () => {
    expect(errorType(new NonRetryableItemError('bad'))).toBe('non-retryable');
    expect(errorType(new NonRetryableItemError('bad', 'exec-data-error'))).toBe('exec-data-error');
  });

  it('uses any string type property', () => {
    expect(errorType(new RetryableItemError('later', 'exec-tempfail'))).toBe('exec-tempfail');
    expect(errorType(Object.assign(new Error('x'), { type: 'http-503' }))).toBe('http-503');
  });

  it("falls back to the error's name", () => {
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType(new Error('x'))).toBe('Error');
    expect(errorType(new QuotaExhaustedError(10))).toBe('QuotaExhaustedError');
    expect(errorType(Object.assign(new Error('x'), { type: 42 }))).toBe('Error');
  });

  it('names thrown values that are not errors', () => {
    expect(errorType('boom')).toBe('non-error');
    expect(errorType(undefined)).toBe('non-error');
  });
});

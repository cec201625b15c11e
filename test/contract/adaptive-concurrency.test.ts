/**
 * `concurrency` as a number of lanes or as adaptive lanes between two bounds: every earlier spec
 * keeps its meaning, and an adaptive batch is planned, and its resume-cost bound reckoned, on MAX.
 */
import { autoRange, describeConcurrency, laneCeiling, parseConcurrency } from '../../src/contract/adaptive-concurrency';
import { parseBatchSpec, resumeCostBound } from '../../src/contract/batch-spec';

const base = { source: { kind: 'jsonl', path: 'items.jsonl' }, processor: { name: 'sha256' } };

describe('adaptive concurrency in the spec and on the command line', () => {
  it('keeps a number of lanes as it was, and the default of 4', () => {
    expect(parseBatchSpec({ ...base, concurrency: 12 }).concurrency).toBe(12);
    expect(parseBatchSpec(base).concurrency).toBe(4);
    expect(autoRange(12)).toBeUndefined();
  });

  it('fills the bounds of {"auto": {}} with 1-64, and reckons lanes and the bound on max', () => {
    const spec = parseBatchSpec({ ...base, concurrency: { auto: {} }, commitGroup: 3 });
    expect(spec.concurrency).toEqual({ auto: { min: 1, max: 64 } });
    expect(laneCeiling(spec.concurrency)).toBe(64);
    expect(resumeCostBound(spec)).toBe(64 * 3);
    expect(describeConcurrency(spec.concurrency)).toBe('auto 1-64');
    // What the workflow receives is a spec it parses again: the parsed form is valid input.
    expect(parseBatchSpec(spec)).toEqual(spec);
  });

  it.each([
    ['16', 16],
    ['auto', { auto: { min: 1, max: 64 } }],
    ['auto:4-128', { auto: { min: 4, max: 128 } }],
    [' auto:7-7 ', { auto: { min: 7, max: 7 } }],
  ])('reads --concurrency %s', (raw, expected) => {
    expect(parseConcurrency(raw)).toEqual(expected);
  });

  it.each(['0', '1001', 'auto:', 'auto:5', 'auto:8-2', 'auto:1-2000', '4.5', 'AUTO'])('refuses --concurrency %s', (raw) => {
    expect(() => parseConcurrency(raw)).toThrow(new RegExp(`^--concurrency .*got "${raw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`));
  });
});

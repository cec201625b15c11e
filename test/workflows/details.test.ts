/** The Web UI's current details: usage totals show once the workflow has read some from the ledger; adaptive lanes and their last cut. */
import { outlook } from '../../src/workflows/pace';
import { currentDetails, lanesFoundBrief } from '../../src/workflows/details';
import type { BatchProgress } from '../../src/contract/messages';

const progress = (over: Partial<BatchProgress> = {}): BatchProgress => ({
  state: 'running',
  total: 100,
  succeeded: 40,
  failed: 2,
  redone: 0,
  cursor: 40,
  runs: 1,
  slicesInFlight: 2,
  resumeCostBound: 8,
  startedAt: 0,
  concurrency: 4,
  sliceSize: 10,
  ...over,
});

describe('currentDetails', () => {
  it('lists the usage per unit, units in name order, with thousands separators', () => {
    const details = currentDetails(progress({ usage: { tokens: 1234567, costUsd: 0.0123 } }), {}, { speed: '-', eta: '-' });
    expect(details).toContain('- usage: costUsd 0.0123, tokens 1,234,567\n');
  });

  it('has no usage line while no item has reported usage', () => {
    expect(currentDetails(progress(), {}, { speed: '-', eta: '-' })).not.toContain('usage');
  });

  it('shows the speed and ETA it is given: while budget-reached, the command that ends the pause, not a number', () => {
    const p = progress({ state: 'budget-reached', budget: { unit: 'tokens', max: 100 }, usage: { tokens: 104 } });
    const details = currentDetails(p, {}, outlook(p, 'orders-7', 10, 60_000));
    expect(details).toContain('- speed: paused\n');
    expect(details).toContain('- ETA: budget reached (tokens 104 of 100): raise it with `waymark configure orders-7 --budget N`\n');
  });

  it('shows adaptive lanes: those running and found, the bounds, and the last cut with its cause and time', () => {
    const adaptiveLanes = {
      min: 1,
      max: 64,
      batchLanes: 12,
      poolLanes: 16,
      cuts: 3,
      lastCut: { at: Date.UTC(2026, 11, 7, 17, 30, 5), from: 21, to: 16, cause: 'http 429' },
    };
    const details = currentDetails(progress({ adaptiveLanes }), {}, { speed: '-', eta: '-' });
    expect(details).toContain(
      '- lanes found: 12 running of 16 found (auto 1-64); last cut 21 → 16 on http 429 at 2026-12-07T17:30:05.000Z, 3 cuts in all\n',
    );
    expect(lanesFoundBrief(adaptiveLanes)).toBe('lanes 12, cut on http 429');
    const beforeAnyCut = currentDetails(
      progress({ adaptiveLanes: { min: 1, max: 64, batchLanes: 4, poolLanes: 4, cuts: 0 } }),
      {},
      {
        speed: '-',
        eta: '-',
      },
    );
    expect(beforeAnyCut).toContain('- lanes found: 4 running of 4 found (auto 1-64); no cut yet\n');
  });

  it('has no adaptive lanes line for a fixed concurrency', () => {
    expect(currentDetails(progress(), {}, { speed: '-', eta: '-' })).not.toContain('lanes found');
  });
});

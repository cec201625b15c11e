/** Where a chaos run's interruptions land: random, repeatable by seed, spread over the whole run. */
import { planInterruptions } from '../../tools/chaos/chaos-plan';
import { seededRandom } from '../../tools/chaos/random';

describe('planInterruptions', () => {
  it('spreads the interruptions over the run, one per stratum, the same for the same seed', () => {
    const counts = { items: 100_000, workerKills: 20, serverKills: 1, workerTerms: 1, workers: 2 };
    const plan = planInterruptions(counts, seededRandom(7));
    expect(planInterruptions(counts, seededRandom(7))).toEqual(plan);
    expect(plan.filter((p) => p.kind === 'server-kill')).toHaveLength(1);
    expect(plan.filter((p) => p.kind === 'worker-term')).toHaveLength(1);
    const moments = plan.map((p) => p.atCommitted);
    expect(moments).toEqual([...moments].sort((a, b) => a - b));
    expect(moments[0]).toBeGreaterThanOrEqual(5000);
    expect(moments[moments.length - 1]).toBeLessThan(85_000);
    expect(new Set(plan.map((p) => p.worker))).toEqual(new Set([0, 1]));
  });
});

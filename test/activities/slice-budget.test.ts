/**
 * processSlice with a budget: before each item it checks what the batch has used against the
 * budget (the ledger's committed total plus what it holds uncommitted), and once that reaches the
 * maximum it stops cleanly, like a quota stop, with budgetReached; nothing in flight, nothing lost.
 */
import { registerProcessor } from '../../src/processors/registry';
import { defineBatchProcessor, defineProcessor } from '../../src/processors/processor';
import { sliceHarness, makeSpec, range, endOf } from '../helpers/slice-harness';

const slices = sliceHarness();
const { textSource, sliceOf, rows, startSlice } = slices;

/** A processor whose every item uses 10 tokens; `ran` lists the indexes it processed. */
function tokenProcessor(name: string): { name: string; ran: number[] } {
  const ran: number[] = [];
  registerProcessor(
    name,
    defineProcessor(async (item, ctx) => {
      ran.push(ctx.index);
      ctx.reportUsage({ tokens: 10 });
      return item;
    }),
  );
  return { name, ran };
}

describe('processSlice: budget', () => {
  it('stops before the first item once committed and held usage reach the budget (k=4), and goes on when it is raised', async () => {
    const proc = tokenProcessor('budget-k4');
    const spec = makeSpec(textSource(40), proc.name, {
      sliceSize: 20,
      checkpointEvery: 40,
      commitGroup: 4,
      budget: { unit: 'tokens', max: 55 },
    });
    const slice = await sliceOf(spec, 1);

    // 0-3 committed (40 tokens), 4-5 held (20 more): 60 >= 55 before item 6, though the ledger says 40.
    const first = await startSlice('budget', spec, slice).result;
    expect(first).toEqual({
      outcome: 'quota',
      budgetReached: true,
      retryAfterMs: 60_000,
      nextIndex: slice.start + 6,
      tally: { succeeded: 6, failed: 0, redone: 0, heartbeats: expect.any(Number) },
    });
    expect(proc.ran).toEqual(range(slice.start, slice.start + 6));
    expect(await slices.ledger.usageTotals('budget')).toEqual({ tokens: 60 });
    expect(await slices.ledger.inFlight('budget', slice.start)).toBeNull();

    // Another slice of the batch finds the budget used up before its first item, and runs none.
    const other = await startSlice('budget', spec, await sliceOf(spec, 0)).result;
    expect(other).toMatchObject({ outcome: 'quota', budgetReached: true, nextIndex: 0, tally: { succeeded: 0 } });
    expect(proc.ran).toHaveLength(6);

    // Raised: the slice goes on from where it stopped, each item once.
    const raised = { ...spec, budget: { unit: 'tokens', max: 1000 } };
    const second = await startSlice('budget', raised, slice).result;
    expect(second).toEqual({ outcome: 'done', tally: { succeeded: 20, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(proc.ran).toEqual(range(slice.start, endOf(slice)));
    expect((await rows('budget')).map((r) => [r.index, r.attempts, r.usage])).toEqual(
      range(slice.start, endOf(slice)).map((i) => [i, 1, { tokens: 10 }]),
    );
  });

  it('checks before each call of many items, with the usage each outcome carries', async () => {
    const ran: number[] = [];
    registerProcessor(
      'budget-calls',
      defineBatchProcessor(async (calls) => {
        ran.push(...calls.map((c) => c.index));
        return calls.map((c) => ({ result: c.item, usage: { tokens: 10 } }));
      }),
    );
    const spec = makeSpec(textSource(20), 'budget-calls', {
      sliceSize: 20,
      checkpointEvery: 20,
      itemsPerCall: 3,
      commitGroup: 3,
      budget: { unit: 'tokens', max: 45 },
    });
    // Calls of 3: 30 tokens after the first, under 45, so a second call; 60 after it: no third.
    const result = await startSlice('budget-calls', spec, await sliceOf(spec, 0)).result;
    expect(result).toMatchObject({ outcome: 'quota', budgetReached: true, nextIndex: 6, tally: { succeeded: 6 } });
    expect(ran).toEqual(range(0, 6));
    expect(await slices.ledger.usageOf('budget-calls', 'tokens')).toBe(60);
  });

  it('never reads the ledger for usage without a budget', async () => {
    const proc = tokenProcessor('no-budget');
    const spec = makeSpec(textSource(10), proc.name, { sliceSize: 10, checkpointEvery: 10 });
    const usageOf = jest.spyOn(slices.ledger, 'usageOf');
    const result = await startSlice('no-budget', spec, await sliceOf(spec, 0)).result;
    expect(result).toMatchObject({ outcome: 'done', tally: { succeeded: 10 } });
    expect(usageOf).not.toHaveBeenCalled();
  });
});

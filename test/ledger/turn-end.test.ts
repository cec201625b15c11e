/**
 * Commits written as the turn of the event loop ends (src/ledger/turn-end.ts): what a slice
 * session gathers is written by the ledger in the same callback, so a lane whose commit is due in
 * this turn starts its next item before the loop turns again; with enough to gather, sooner.
 */
import { gatherAtTurnEnd, writeAtTurnEnd } from '../../src/ledger/turn-end';

const nextTurns = (n: number) =>
  new Promise<void>((resolve) => {
    const step = (left: number) => (left === 0 ? resolve() : setImmediate(() => step(left - 1)));
    step(n);
  });

describe('turn end', () => {
  it('writes what a gather asks for in the same callback, before anything queued for the next turn', async () => {
    const order: string[] = [];
    gatherAtTurnEnd(() => {
      order.push('gather');
      setImmediate(() => order.push('next turn'));
      writeAtTurnEnd(() => order.push('write'));
    });
    await nextTurns(3);
    expect(order).toEqual(['gather', 'write', 'next turn']);
  });

  it('runs the gathers of a turn before its writes, each once', async () => {
    const order: string[] = [];
    writeAtTurnEnd(() => order.push('write'));
    gatherAtTurnEnd(() => order.push('gather a'));
    gatherAtTurnEnd(() => order.push('gather b'));
    await nextTurns(3);
    expect(order).toEqual(['gather a', 'gather b', 'write']);
  });

  /** A fresh copy of the module: whether a ledger grouped its writes here is the module's own state. */
  const freshTurnEnd = async (): Promise<typeof import('../../src/ledger/turn-end')> => {
    let loaded!: typeof import('../../src/ledger/turn-end');
    await jest.isolateModulesAsync(async () => {
      loaded = await import('../../src/ledger/turn-end');
    });
    return loaded;
  };

  it('writes at once, before the turn ends, once four sessions have something to gather; fewer wait for the end of the turn', async () => {
    const turnEnd = await freshTurnEnd();
    // The SQLite ledger groups its writes here.
    turnEnd.writeAtTurnEnd(() => undefined);
    await nextTurns(1);
    const order: string[] = [];
    setImmediate(() => order.push('turn ends'));
    for (const session of ['a', 'b', 'c']) turnEnd.gatherAtTurnEnd(() => order.push(`gather ${session}`));
    await Promise.resolve();
    expect(order).toEqual([]);
    turnEnd.gatherAtTurnEnd(() => {
      order.push('gather d');
      turnEnd.writeAtTurnEnd(() => order.push('write'));
    });
    await Promise.resolve();
    expect(order).toEqual(['gather a', 'gather b', 'gather c', 'gather d', 'write']);
    await nextTurns(2);
    expect(order).toEqual(['gather a', 'gather b', 'gather c', 'gather d', 'write', 'turn ends']);
  });

  it('waits for the end of the turn, however many sessions gather, where no ledger groups its writes (PostgreSQL)', async () => {
    const turnEnd = await freshTurnEnd();
    const order: string[] = [];
    setImmediate(() => order.push('turn ends'));
    for (const session of ['a', 'b', 'c', 'd', 'e']) turnEnd.gatherAtTurnEnd(() => order.push(`gather ${session}`));
    await nextTurns(2);
    expect(order).toEqual(['turn ends', 'gather a', 'gather b', 'gather c', 'gather d', 'gather e']);
  });
});

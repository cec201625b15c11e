/**
 * The chaos run in a small configuration, so CI fails when an interruption loses an item, gives
 * one two outcomes, leaves a side effect unrecorded, or costs more than the bound waymark reports.
 * Real dev server, real worker processes (the built CLI: `npm test` builds first), real signals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChaos } from '../../tools/chaos/chaos-run';
import { formatReport, type ChaosReport } from '../../tools/chaos/chaos-report';
import { MISSING_PG_MESSAGE, PG_REQUIRED, PostgresTestDb, TEST_PG_URL } from '../ledger/postgres-test-db';

/** Every item has exactly one outcome, the right one, and its side effect. */
function expectExactlyOnce(report: ChaosReport, total: number): void {
  expect(report.check).toMatchObject({
    total,
    rows: total,
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    failed: 0,
    wrongResults: 0,
    withoutSideEffect: 0,
  });
}

/** Every interruption redid at most the bound, and every redone item is explained by one. */
function expectWithinBound(report: ChaosReport): void {
  for (const interruption of report.interruptions) expect(interruption.redone.length).toBeLessThanOrEqual(report.bound);
  expect(report.unexplainedRedone).toEqual([]);
  expect(report.problems).toEqual([]);
}

describe('the chaos run', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waymark-chaos-test-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses and duplicates nothing through 4 worker SIGKILLs, a server SIGKILL and a worker SIGTERM, and redoes at most the bound', async () => {
    // runChaos stops every process it started before it returns or throws; its own deadline
    // comes before jest's, so a stuck run still cleans up and says what it was waiting for.
    const report = await runChaos({
      items: 4000,
      workerKills: 4,
      serverKills: 1,
      workerTerms: 1,
      itemMs: 5,
      // Small slices: a killed slice's retry finishes few items before the workflow moves on,
      // so all six interruptions land well before the batch ends.
      sliceSize: 50,
      heartbeatTimeoutMs: 2000,
      skipBaseline: true,
      dataDir,
      timeoutMs: 150_000,
    });
    console.log(formatReport(report));

    expectExactlyOnce(report, 4000);
    expect(report.interruptions.map((i) => i.kind).sort()).toEqual([
      'server-kill',
      'worker-kill',
      'worker-kill',
      'worker-kill',
      'worker-kill',
      'worker-term',
    ]);
    expect(report.bound).toBe(4);
    expectWithinBound(report);
  }, 180_000);

  // Hundreds of items in flight at each kill (INVARIANTS.md I5, I15): 256 lanes of 1 s items, in
  // 32 slices of 8 lanes on one worker, so a SIGKILL cuts about 256 items short at once.
  it('at C = 256 with 1 s items: loses and duplicates nothing through kills that land with hundreds of items in flight, and redoes at most the bound', async () => {
    const report = await runChaos({
      items: 12_800,
      workerKills: 3,
      serverKills: 1,
      workerTerms: 1,
      itemMs: 1000,
      concurrency: 256,
      sliceSize: 100,
      heartbeatTimeoutMs: 3000,
      skipBaseline: true,
      dataDir: path.join(dataDir, 'c256'),
      timeoutMs: 240_000,
    });
    console.log(formatReport(report));

    expectExactlyOnce(report, 12_800);
    expect(report.interruptions).toHaveLength(5);
    expect(report.bound).toBe(256);
    const killed = report.interruptions.filter((i) => i.kind === 'worker-kill');
    // Each kill landed with many items in flight, and cost at most the bound.
    expect(Math.max(...killed.map((i) => i.redone.length))).toBeGreaterThan(100);
    expectWithinBound(report);
  }, 300_000);

  // The topology of many machines: three workers sharing a PostgreSQL ledger, kills landing on any
  // of them; with commit groups of 5, so a kill may cost several items of a slice, all reported.
  (TEST_PG_URL || PG_REQUIRED ? it : it.skip)(
    'on three workers sharing a PostgreSQL ledger, k = 5: loses and duplicates nothing, reports every redone item, redoes at most the bound',
    async () => {
      if (!TEST_PG_URL) throw new Error(MISSING_PG_MESSAGE);
      const db = new PostgresTestDb(TEST_PG_URL);
      try {
        const report = await runChaos({
          items: 6000,
          workers: 3,
          ledgerUrl: await db.freshSchema(),
          workerKills: 4,
          serverKills: 1,
          workerTerms: 1,
          // Slower items than above: the two live workers keep the batch going through each kill,
          // and its C = 6 lanes run as one slice (lanes.ts), so at 15 ms it could end before the
          // last interruption's turn came.
          itemMs: 40,
          concurrency: 6,
          sliceSize: 50,
          commitGroup: 5,
          heartbeatTimeoutMs: 2000,
          skipBaseline: true,
          dataDir: path.join(dataDir, 'three-workers'),
          timeoutMs: 200_000,
        });
        console.log(formatReport(report));

        expectExactlyOnce(report, 6000);
        expect(report.interruptions).toHaveLength(6);
        expect(report.bound).toBe(30);
        expectWithinBound(report);
      } finally {
        await db.close();
      }
    },
    240_000,
  );
});

/**
 * `waymark report` of a batch with adaptive lanes: the lanes found over time, as the ledger
 * sampled them, for the "Lanes in use" chart; a batch with a fixed C has none.
 */
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import type { LaneReport } from '../../src/ledger/ledger';
import { laneScope } from '../../src/contract/adaptive-concurrency';
import { batchReport } from '../../src/report/batch-report';
import { reportHtml } from '../../src/report/report-page';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

const T0 = Date.UTC(2030, 0, 1);
const spec = (concurrency: unknown) => ({ source: { kind: 'jsonl', path: '/data/items.jsonl' }, processor: { name: 'noop' }, concurrency });

function report(batchId: string, extra: Partial<LaneReport> = {}): LaneReport {
  return { holder: `${batchId}/0`, batchId, sliceStart: 0, want: 16, range: { min: 2, max: 16 }, version: 0, clean: 0, ...extra };
}

describe('the report of a batch with adaptive lanes', () => {
  let ledger: SqliteLedger;
  beforeEach(() => {
    ledger = new SqliteLedger(path.join(makeTempDir('waymark-report-lanes-'), 'ledger.sqlite'));
  });
  afterEach(async () => {
    await ledger.close();
    removeTempDirs();
  });

  it('holds the lanes found over time, cuts and their cause included, and the page carries them to its chart', async () => {
    const scope = laneScope('found', undefined);
    await ledger.saveBatch({ batchId: 'found', spec: spec({ auto: { min: 2, max: 16 } }) });
    await ledger.reportLanes(scope, report('found'), T0);
    await ledger.reportLanes(scope, report('found', { clean: 2 }), T0 + 2000);
    await ledger.reportLanes(scope, report('found', { version: 1, signal: { cuts: 0, cause: 'http 429' } }), T0 + 4000);
    const r = await batchReport('found', { ledger });
    expect(r.lanesFound).toEqual([
      { at: T0, lanes: 2, poolLanes: 2 },
      { at: T0 + 2000, lanes: 4, poolLanes: 4 },
      { at: T0 + 4000, lanes: 3, poolLanes: 3, cutCause: 'http 429' },
    ]);
    expect(r.summary.concurrency).toBe(16);
    expect(reportHtml(r)).toContain('"lanesFound":[{"at":');
  });

  it('has no lanes found for a fixed concurrency', async () => {
    await ledger.saveBatch({ batchId: 'fixed', spec: spec(8) });
    expect((await batchReport('fixed', { ledger })).lanesFound).toBeUndefined();
  });
});

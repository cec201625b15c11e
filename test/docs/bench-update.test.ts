/**
 * `npm run bench -- --only LETTERS` puts the sections it measured into BENCHMARKS.md: each
 * replaces the section of its letter, or goes where the whole bench would have put it, marked as
 * from a later run; the rest of the report is left as it was.
 */
import { renderReport, renderUpdate, type BenchResults } from '../../bench/report';
import { SMOKE_PLAN } from '../../bench/plan';
import type { WaymarkRun } from '../../bench/run-waymark';

const run = (items: number, seconds: number): WaymarkRun => ({
  batchId: 'b',
  items,
  seconds,
  itemsPerSecond: items / seconds,
  runs: 1,
  eventsPerRun: [40],
  events: 40,
  eventsPerItem: 40 / items,
  slices: 0,
  retriedSlices: 0,
  actions: { ScheduleActivityTask: 10, StartTimer: 5 },
});

function results(only: string[]): BenchResults {
  return {
    plan: SMOKE_PLAN,
    machine: {
      date: '2026-12-07T21:00:00.000Z',
      cpu: 'test CPU',
      cores: 2,
      memoryGiB: 24,
      os: 'Linux',
      node: 'v20',
      temporalCli: 'temporal version 1.9.1',
      temporalSdk: '1.24.0',
      betterSqlite3: '12',
      sqlite: '3',
      tempDir: '/tmp',
      loadAverage: [1.5, 1, 1],
    },
    loadAverageAtEnd: [2.5, 1, 1],
    durationSeconds: 42,
    cpuIterations: 1000,
    eventsPerRunBudget: 2000,
    manyLanes: [
      { itemMs: 1000, concurrency: 64, items: 1280, waymark: run(1280, 21), bare: { items: 1280, seconds: 20, itemsPerSecond: 64 } },
    ],
    providerBatch: {
      plan: { items: 2000, sliceSize: 500, concurrency: 4, processingMs: 1000, pollIntervalMs: 500 },
      cells: [{ provider: 'openai-batch', run: run(2000, 2.5), jobs: 4, processingSeconds: 1, beyondSeconds: 1.5 }],
    },
    only,
  };
}

const REPORT = [
  '# Benchmarks',
  '',
  'intro',
  '',
  '## (a) Against the physical limit',
  '',
  'a table',
  '',
  '## (i) Hundreds of lanes: slow items at C up to 1,000',
  '',
  'the old (i) figures',
  '',
  '## (j) Orchestration cost: Temporal Cloud actions per 1,000 items',
  '',
  'the (j) figures',
  '',
  '## (k) Adaptive lanes: limits they are not told',
  '',
  'the (k) figures',
  '',
  '## (e) Scaling: worker processes and the ledger',
  '',
  'the (e) figures',
  '',
  '## Tuning',
  '',
  'tuning figures',
  '',
].join('\n');

describe('bench --only', () => {
  const updated = renderUpdate(results(['i', 'l']), REPORT);
  const headings = updated.split('\n').filter((l) => l.startsWith('## '));

  it('replaces the section it ran and adds the one the report lacked, where the whole bench puts it', () => {
    expect(headings).toEqual([
      '## (a) Against the physical limit',
      '## (i) Hundreds of lanes: slow items at C up to 1,000',
      '## (j) Orchestration cost: Temporal Cloud actions per 1,000 items',
      '## (k) Adaptive lanes: limits they are not told',
      '## (l) Provider batch APIs: 2,000 items through the fakes',
      '## (e) Scaling: worker processes and the ledger',
      '## Tuning',
    ]);
    expect(updated).not.toContain('the old (i) figures');
    for (const kept of ['a table', 'the (j) figures', 'the (k) figures', 'the (e) figures', 'tuning figures'])
      expect(updated).toContain(kept);
    // The new figures, each section marked with the run it came from.
    expect(updated).toContain('| openai-batch | 2,000 | 4 | 2.5 s | 1.0 s | **1.5 s** |');
    expect(updated.match(/\*From a later run of this section alone \(`--only i,l`\) on 2026-12-07 21:00 UTC, 42 s/g)).toHaveLength(2);
  });

  it('updates the same report again in place, without repeating a section', () => {
    const again = renderUpdate(results(['i', 'l']), updated);
    expect(again.split('\n').filter((l) => l.startsWith('## '))).toEqual(headings);
    expect(again).toBe(updated);
  });

  it('cannot write a whole report from some sections, and says what to run instead', () => {
    expect(() => renderReport(results(['i', 'l']))).toThrow('a run of sections i, l only updates a report');
  });
});

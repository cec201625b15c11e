/**
 * Everything `waymark report` shows about one batch: the summary and item series from the ledger
 * (the source of truth for counts, INVARIANTS.md I12), and the bands of time it was not running
 * from its workflow histories, when the server still has them.
 */
import type { Client } from '@temporalio/client';
import type { BatchManifest } from '../contract/activity-io';
import { parseBatchSpec, resumeCostBound, type BatchSpec } from '../contract/batch-spec';
import type { Usage } from '../contract/usage';
import type { Ledger } from '../ledger/ledger';
import { itemTimeline, type ItemTimeline } from './item-timeline';
import { batchHistory, type Band } from './state-bands';
import { autoRange, laneCeiling } from '../contract/adaptive-concurrency';
import type { LaneSample } from '../ledger/lane-pools';

export interface BatchReport {
  batchId: string;
  generatedAt: number;
  summary: {
    /** The manifest's status, or "running" while the batch has none. */
    status: string;
    total?: number;
    succeeded: number;
    failed: number;
    pending?: number;
    redone: number;
    resumeCostBound?: number;
    usage: Usage;
    runs?: number;
    startedAt?: string;
    finishedAt?: string;
    durationMs?: number;
    itemsPerSecond?: number;
    processor?: string;
    source?: string;
    concurrency?: number;
    budget?: { unit: string; max: number };
  };
  timeline: ItemTimeline;
  /** Adaptive lanes (`concurrency: auto`): the batch's lanes over time, as the ledger sampled them; absent for a fixed C. */
  lanesFound?: LaneSample[];
  /** The bands, or why there are none. */
  history: { bands: Band[]; runStarts: number[] } | { unavailable: string };
}

export interface ReportSources {
  ledger: Ledger;
  /** Undefined when the server could not be reached: the report is then made from the ledger alone. */
  client?: Client;
  /** Why there is no client, for the report to say. */
  noClientBecause?: string;
}

export async function batchReport(batchId: string, { ledger, client, noClientBecause }: ReportSources): Promise<BatchReport> {
  const record = await ledger.batch(batchId);
  const manifest = record?.manifest as BatchManifest | undefined;
  const spec = specOf(record?.spec);
  const interrupted = new Map((await ledger.interruptedItems(batchId)).map((r) => [r.index, r.interruptions]));
  const timeline = await itemTimeline(ledger.outcomePages(batchId), interrupted);
  const totals = await ledger.totals(batchId);
  const usage = await ledger.usageTotals(batchId);
  // The ledger's samples, not the manifest's: a running batch has no manifest, and a long one's is thinned.
  const lanesFound = (spec ? autoRange(spec.concurrency) : manifest?.lanes) ? await ledger.laneSamples(batchId) : undefined;
  let history: BatchReport['history'];
  if (client === undefined) history = { unavailable: noClientBecause ?? 'no Temporal server was reached' };
  else {
    try {
      history = await batchHistory(client, batchId);
    } catch (err) {
      history = {
        unavailable: `the batch's workflow histories could not be read (${(err as Error).message.split('\n')[0]}); the server keeps them for the namespace's retention period`,
      };
    }
  }
  return {
    batchId,
    generatedAt: Date.now(),
    summary: {
      status: manifest?.status ?? 'running',
      total: manifest?.total,
      succeeded: totals.succeeded,
      failed: totals.failed,
      pending: manifest?.pending,
      redone: totals.redone,
      resumeCostBound: spec ? resumeCostBound(spec) : manifest?.resumeCostBound,
      usage,
      runs: manifest?.runs,
      startedAt: manifest?.startedAt,
      finishedAt: manifest?.finishedAt,
      durationMs: manifest?.durationMs,
      itemsPerSecond: manifest?.itemsPerSecond,
      processor: spec?.processor.name ?? manifest?.processor,
      source: spec ? `${spec.source.kind} ${spec.source.path}` : manifest && `${manifest.source.kind} ${manifest.source.path}`,
      concurrency: spec ? laneCeiling(spec.concurrency) : manifest?.concurrency,
      ...(spec?.budget ? { budget: spec.budget } : {}),
    },
    timeline,
    ...(lanesFound ? { lanesFound } : {}),
    history,
  };
}

/** The spec the ledger recorded at the batch's first window; one it cannot parse (another release) is left out. */
function specOf(recorded: unknown): BatchSpec | undefined {
  try {
    return recorded === undefined ? undefined : parseBatchSpec(recorded);
  } catch {
    return undefined;
  }
}

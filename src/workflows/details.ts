/**
 * The batch as the Temporal Web UI shows it: a markdown "current details" block refreshed as
 * slices finish and, while they run, as the workflow reads the ledger's committed counts. Pure,
 * so the workflow can call it on every replay.
 */
import type { BatchProgress } from '../contract/messages';
import type { Usage } from '../contract/usage';
import type { AdaptiveLanesProgress } from '../contract/adaptive-concurrency';
import { providerJobsLine, providerSummary } from './provider-details';

export function describeState(
  p: Pick<
    BatchProgress,
    | 'state'
    | 'quotaUntil'
    | 'budget'
    | 'usage'
    | 'pacedOn'
    | 'heldOn'
    | 'slicesWaitingForSlots'
    | 'ledgerUnreachable'
    | 'provider'
    | 'total'
    | 'succeeded'
    | 'failed'
  >,
): string {
  if (p.ledgerUnreachable !== undefined) return `ledger unreachable: ${p.ledgerUnreachable}`;
  if (p.state === 'waiting-for-quota' && p.quotaUntil !== undefined) {
    const until = new Date(p.quotaUntil).toISOString();
    if (p.pacedOn !== undefined) return `paced on ${p.pacedOn} until ${until}`;
    if (p.heldOn !== undefined) return `waiting for quota on ${p.heldOn} until ${until}`;
    return `waiting for quota until ${until}`;
  }
  if (p.state === 'budget-reached' && p.budget !== undefined) return `budget reached (${budgetUse(p.budget, p.usage)})`;
  if (p.state === 'running' && p.slicesWaitingForSlots !== undefined) {
    const n = p.slicesWaitingForSlots;
    return `running; ${n} slice${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''} for a worker slot (each worker runs WAYMARK_WORKER_SLICES slices at once, 100 by default)`;
  }
  const atProvider = p.state === 'running' || p.state === 'paused' ? providerSummary(p) : undefined;
  if (atProvider !== undefined) return `${p.state}: ${atProvider}`;
  return p.state;
}

/** `tokens 1,050 of 1,000`: what the batch used of its budget's unit, as last read, and its maximum. */
function budgetUse(budget: NonNullable<BatchProgress['budget']>, usage: Usage | undefined): string {
  const used = usage?.[budget.unit];
  const amount = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 6 });
  return `${budget.unit} ${used === undefined ? '?' : amount(used)} of ${amount(budget.max)}`;
}

/** `view`: speed and ETA over recent running time, or what ends a pause or wait (pace.ts). */
export function currentDetails(p: BatchProgress, failuresByType: Record<string, number>, view: { speed: string; eta: string }): string {
  const processed = p.succeeded + p.failed;
  const total = p.total === undefined ? '?' : p.total.toLocaleString('en-US');
  const percent = p.total ? ` (${((processed / p.total) * 100).toFixed(1)}%)` : '';
  const failures = Object.entries(failuresByType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${n.toLocaleString('en-US')}`)
    .join(', ');
  return [
    `**${describeState(p)}**: ${processed.toLocaleString('en-US')} of ${total} items${percent}`,
    '',
    detailsList([
      ['succeeded', p.succeeded.toLocaleString('en-US')],
      ['failed', `${p.failed.toLocaleString('en-US')}${failures ? ` (${failures})` : ''}`],
      ...(p.usage !== undefined ? [['usage', formatUsage(p.usage)] as [string, string]] : []),
      ...(p.budget !== undefined ? [['budget', budgetLine(p)] as [string, string]] : []),
      ['speed', view.speed],
      ['ETA', view.eta],
      ['cursor', `${p.cursor.toLocaleString('en-US')} (run ${p.runs})`],
      p.lanesHeld !== undefined
        ? [
            'lanes',
            `${p.lanesHeld} of C=${p.concurrency} in ${p.slicesInFlight} slice${p.slicesInFlight === 1 ? '' : 's'} of at most ${p.sliceSize} items`,
          ]
        : ['slices in flight', `${p.slicesInFlight} of ${p.concurrency}, at most ${p.sliceSize} items each`],
      ...(p.lanesInUse !== undefined ? [['lanes in use', lanesInUse(p)] as [string, string]] : []),
      ...(p.adaptiveLanes !== undefined ? [['lanes found', lanesFound(p.adaptiveLanes)] as [string, string]] : []),
      ...(providerJobsLine(p) !== undefined ? [['provider jobs', providerJobsLine(p)!] as [string, string]] : []),
      ['resume-cost bound', `${p.resumeCostBound} items per interruption (redone so far: ${p.redone})`],
    ]),
  ].join('\n');
}

/**
 * The budget and its use. Past the maximum, the overshoot: items that were already in flight when
 * the budget was reached finish and count, at most the resume-cost bound of them.
 */
function budgetLine(p: BatchProgress): string {
  const budget = p.budget!;
  const used = p.usage?.[budget.unit] ?? 0;
  const over = used - budget.max;
  const overshoot =
    over > 0
      ? `, ${over.toLocaleString('en-US', { maximumFractionDigits: 6 })} over: items in flight when it was reached (at most ${p.resumeCostBound})`
      : '';
  return `${budgetUse(budget, p.usage)}${overshoot}; raise it with \`waymark configure BATCH --budget N\``;
}

/** Usage totals as people read them, unit by unit: `costUsd 0.0123, tokens 1,234,567`. */
export function formatUsage(usage: Usage): string {
  return Object.entries(usage)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([unit, total]) => `${unit} ${total.toLocaleString('en-US', { maximumFractionDigits: 6 })}`)
    .join(', ');
}

/** Fewer lanes than C can run: how many, and why. Shown by the Web UI and by `waymark start`. */
export function lanesInUse(p: Pick<BatchProgress, 'lanesInUse' | 'lanesShortBecause' | 'concurrency'>): string {
  return `${p.lanesInUse} of C=${p.concurrency}: ${p.lanesShortBecause}`;
}

/**
 * Adaptive lanes, for status and the Web UI: `12 running of 16 found (auto 1-64); last cut 21 →
 * 16 on http 429 at 2026-12-07T17:30:05.000Z, 3 cuts in all`. Found are the pool's lanes: those
 * of every batch naming the same rate-limit key; running, this batch's share of them.
 */
export function lanesFound(l: AdaptiveLanesProgress): string {
  const cut = l.lastCut
    ? `; last cut ${l.lastCut.from} → ${l.lastCut.to} on ${l.lastCut.cause} at ${new Date(l.lastCut.at).toISOString()}, ${l.cuts} cut${l.cuts === 1 ? '' : 's'} in all`
    : '; no cut yet';
  return `${l.batchLanes} running of ${l.poolLanes} found (auto ${l.min}-${l.max})${cut}`;
}

/** Adaptive lanes in a few words, for the `--wait` bar: `lanes 12, cut on http 429`. */
export function lanesFoundBrief(l: AdaptiveLanesProgress): string {
  return `lanes ${l.batchLanes}${l.lastCut ? `, cut on ${l.lastCut.cause}` : ''}`;
}

/**
 * Labelled values as a markdown list of "label: value". Not a header-less table: the Web UI
 * renders its cells without spacing, running each label into its value.
 */
export function detailsList(rows: [label: string, value: string][]): string {
  return rows.map(([label, value]) => `- ${label}: ${value}`).join('\n');
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

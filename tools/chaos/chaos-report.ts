/** What a chaos run found, the verdict drawn from it, and the table `npm run chaos` prints. */
import { INTERRUPTION_LABELS, type InterruptionKind, type PlannedInterruption } from './chaos-plan';
import type { UnplannedExit } from './chaos-cluster';
import type { ItemCheck } from './verify';

export interface InterruptionReport {
  kind: InterruptionKind;
  /** Committed items when it fired. */
  committed: number;
  /** Epoch ms of the signal. */
  at: number;
  /** What was hit, e.g. "worker 0 (pid 123, replaced by 456)". */
  target: string;
  /** From the signal until the killed process was replaced and ready. */
  backMs: number;
  /** From the signal until the ledger's committed count grew again after that; absent if the batch ended first. */
  resumeMs?: number;
  /** Indexes executed again because of this interruption. */
  redone: number[];
}

export interface ChaosReport {
  batchId: string;
  dataDir: string;
  seed: number;
  items: number;
  workers: number;
  /** Which ledger the workers shared, password masked. */
  ledger: string;
  itemMs: number;
  concurrency: number;
  sliceSize: number;
  checkpointEvery: number;
  commitGroup: number;
  heartbeatTimeoutMs: number;
  /** Items one interruption may cost, as waymark's summary reported it. */
  bound: number;
  /** Redone items as waymark's summary reported them. */
  reportedRedone: number;
  interruptions: InterruptionReport[];
  /** Planned interruptions that had not fired when the batch finished. */
  missed: PlannedInterruption[];
  unplannedWorkerExits: UnplannedExit[];
  check: ItemCheck;
  /** Executions in the side-effect log. */
  executions: number;
  /** Re-executions with no interruption before them. */
  unexplainedRedone: number[];
  /** Start to result of the interrupted batch. */
  durationMs: number;
  /** Start to result of the same batch uninterrupted, unless skipped. */
  baselineMs?: number;
  /** Why the run failed; empty when it passed. */
  problems: string[];
  /** Worth a look, but not a broken promise. */
  warnings: string[];
}

export type ChaosFindings = Omit<ChaosReport, 'problems' | 'warnings'>;

export function judge(findings: ChaosFindings): ChaosReport {
  const { check, bound, interruptions } = findings;
  const problems: string[] = [];
  const count = (n: number, what: string) => {
    if (n > 0) problems.push(`${n} ${what}`);
  };
  count(check.lost, 'item(s) lost: no outcome in the ledger');
  count(check.duplicated, 'item(s) with two outcomes in the ledger');
  count(check.unexpected, 'ledger row(s) or execution(s) for indexes the source does not have');
  count(check.failed, 'item(s) failed, though the chaos processor never fails');
  count(check.wrongResults, "item(s) whose result is not the processor's result for that item");
  count(check.withoutSideEffect, 'item(s) with an outcome but no execution in the side-effect log');
  for (const i of interruptions) {
    if (i.redone.length > bound) {
      problems.push(
        `${INTERRUPTION_LABELS[i.kind]} at ${i.committed} committed items redid ${i.redone.length} items, over the bound of ${bound}: ${i.redone.join(', ')}`,
      );
    }
  }
  const redone = totalRedone(findings);
  if (redone > interruptions.length * bound) {
    problems.push(
      `${redone} items redone in all, over ${interruptions.length} interruptions x bound ${bound} = ${interruptions.length * bound}`,
    );
  }
  if (findings.unexplainedRedone.length > 0) {
    problems.push(
      `${findings.unexplainedRedone.length} re-execution(s) before any interruption: ${findings.unexplainedRedone.slice(0, 10).join(', ')}`,
    );
  }
  if (findings.missed.length > 0) {
    problems.push(
      `only ${interruptions.length} of ${interruptions.length + findings.missed.length} interruptions fired before the batch finished; give more --items or a larger --item-ms`,
    );
  }

  const warnings: string[] = [];
  if (findings.reportedRedone !== redone) {
    warnings.push(`waymark reported ${findings.reportedRedone} redone item(s); the side-effect log shows ${redone} re-execution(s)`);
  }
  for (const exit of findings.unplannedWorkerExits) {
    warnings.push(
      `worker ${exit.worker} (pid ${exit.pid}) exited unplanned (${exit.signal ?? `code ${exit.code}`}) and was restarted; see worker-${exit.worker}.log`,
    );
  }
  return { ...findings, problems, warnings };
}

function totalRedone(findings: ChaosFindings): number {
  return findings.interruptions.reduce((sum, i) => sum + i.redone.length, 0);
}

export function formatReport(report: ChaosReport): string {
  const { check, bound } = report;
  const kinds = Object.keys(INTERRUPTION_LABELS) as InterruptionKind[];
  const row = (label: string, list: InterruptionReport[]): string[] => {
    const resumes = list.flatMap((i) => (i.resumeMs === undefined ? [] : [i.resumeMs]));
    return [
      label,
      String(list.length),
      String(list.reduce((sum, i) => sum + i.redone.length, 0)),
      String(list.length ? Math.max(...list.map((i) => i.redone.length)) : 0),
      String(bound),
      seconds(median(resumes)),
      seconds(resumes.length ? Math.max(...resumes) : undefined),
    ];
  };
  const table = formatTable(
    ['interruption', 'count', 'redone', 'max redone per interruption', 'bound', 'resume median', 'resume max'],
    [
      ...kinds.map((kind) =>
        row(
          INTERRUPTION_LABELS[kind],
          report.interruptions.filter((i) => i.kind === kind),
        ),
      ),
      row('all', report.interruptions),
    ],
  );
  const redone = totalRedone(report);
  const time =
    report.baselineMs === undefined
      ? `${seconds(report.durationMs)} interrupted (uninterrupted baseline skipped)`
      : `${seconds(report.durationMs)} interrupted, ${seconds(report.baselineMs)} uninterrupted ` +
        `(x${(report.durationMs / report.baselineMs).toFixed(2)}, +${seconds(report.durationMs - report.baselineMs)})`;
  const lines = [
    `waymark chaos run: ${report.items} items, ${report.workers} worker process(es), C=${report.concurrency} S=${report.sliceSize} ` +
      `N=${report.checkpointEvery} k=${report.commitGroup}, ${report.itemMs} ms per item, heartbeat timeout ${seconds(report.heartbeatTimeoutMs)}, seed ${report.seed}`,
    `batch ${report.batchId} in ${report.dataDir}, ${report.ledger}`,
    '',
    table,
    '',
    `items       ${check.total} in the source, ${check.rows} ledger rows: ${check.lost} lost, ${check.duplicated} duplicated, ` +
      `${check.failed} failed, ${check.wrongResults} wrong results, ${check.withoutSideEffect} without side effect`,
    `redone      ${redone} (waymark reported ${report.reportedRedone}); at most ${bound} per interruption, ` +
      `${report.interruptions.length * bound} for ${report.interruptions.length} interruptions; ${report.executions} executions in all`,
    `time        ${time}`,
    `resume      from the signal until the batch starts a slice it had not started before`,
    ...report.warnings.map((w) => `warning     ${w}`),
    ...check.examples.map((e) => `example     ${e}`),
    ...report.problems.map((p) => `FAILED      ${p}`),
  ];
  if (report.problems.length === 0) lines.push('PASSED      0 lost, 0 duplicated, redone within the bound');
  return lines.join('\n');
}

/** Plain aligned columns: the first left-aligned, the rest right-aligned. */
function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

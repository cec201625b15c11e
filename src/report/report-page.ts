/**
 * The report as one self-contained HTML file: uPlot's script and stylesheet, the data and the
 * drawing code are all inlined, so the file opens anywhere with no network. Tables are written
 * here, escaped; the charts are drawn by report-charts.ts in the browser.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BatchReport } from './batch-report';
import { drawCharts } from './report-charts';
import { formatDuration, formatUsage } from '../workflows/details';

const UPLOT_DIR = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');

const BAND_NAMES: Record<string, string> = {
  paused: 'paused',
  budget: 'budget reached',
  quota: 'waiting for quota',
  paced: 'paced by a rate limit',
  held: 'held by a quota signal',
};

export function reportHtml(report: BatchReport): string {
  const uplotScript = fs.readFileSync(path.join(UPLOT_DIR, 'uPlot.iife.min.js'), 'utf8');
  const uplotStyle = fs.readFileSync(path.join(UPLOT_DIR, 'uPlot.min.css'), 'utf8');
  const t = report.timeline;
  const title = `waymark report: ${report.batchId}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${uplotStyle}
body { font: 14px system-ui, sans-serif; margin: 20px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 14px; height: 10px; margin-right: 4px; border: 1px solid #ccc; }
.note { color: #666; }
section { margin-bottom: 18px; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">generated ${new Date(report.generatedAt).toISOString()} from the ledger${'bands' in report.history ? ' and the workflow histories' : ''}; ${t.buckets} points per series, ${t.bucketMs < 1000 ? `${t.bucketMs} ms` : formatDuration(t.bucketMs)} each</p>
${summaryTable(report)}
${bandsLegend(report)}
<div id="charts">
<section><div id="chart-throughput"></div></section>
<section>${t.failedByType.length > 0 ? '<div id="chart-failures"></div>' : '<h3>Failures by type</h3><p>No item failed.</p>'}</section>
<section><div id="chart-lanes"></div></section>
<section>${t.usage.length > 0 ? '<div id="chart-usage"></div>' : '<h3>Usage</h3><p>No item reported usage.</p>'}</section>
<section>${
    t.interruptions.length > 0
      ? `<div id="chart-interruptions"></div><p class="note">${interruptionsNote(report)}</p>`
      : '<h3>Interruptions</h3><p>No item was redone: no interruption cut an item short.</p>'
  }</section>
</div>
${failureMessages(report)}
<script>${uplotScript}</script>
<script type="application/json" id="report-data">${jsonForScript(report)}</script>
<script>(${drawCharts.toString()})(JSON.parse(document.getElementById('report-data').textContent), uPlot);</script>
</body></html>
`;
}

function summaryTable({ summary: s, batchId }: BatchReport): string {
  const n = (v: number | undefined) => (v === undefined ? '?' : v.toLocaleString('en-US'));
  const rows: [string, string, string][] = [
    ['batch', 'batchId', escapeHtml(batchId)],
    ['status', 'status', escapeHtml(s.status)],
    ['items', 'total', n(s.total)],
    ['succeeded', 'succeeded', n(s.succeeded)],
    ['failed', 'failed', n(s.failed)],
    ...(s.pending !== undefined ? [['pending', 'pending', n(s.pending)] as [string, string, string]] : []),
    ['redone', 'redone', n(s.redone)],
    ['resume-cost bound', 'resumeCostBound', `${n(s.resumeCostBound)} items per interruption`],
    ['usage', 'usage', Object.keys(s.usage).length > 0 ? escapeHtml(formatUsage(s.usage)) : 'none reported'],
    ...(s.budget
      ? [['budget', 'budget', escapeHtml(`${s.budget.unit} ${s.budget.max.toLocaleString('en-US')}`)] as [string, string, string]]
      : []),
    ['runs', 'runs', n(s.runs)],
    ['started', 'startedAt', escapeHtml(s.startedAt ?? '?')],
    ['finished', 'finishedAt', escapeHtml(s.finishedAt ?? '-')],
    ['duration', 'duration', s.durationMs === undefined ? '-' : formatDuration(s.durationMs)],
    ['items/s', 'itemsPerSecond', s.itemsPerSecond === undefined ? '-' : String(s.itemsPerSecond)],
    ['processor', 'processor', escapeHtml(s.processor ?? '?')],
    ['source', 'source', escapeHtml(s.source ?? '?')],
  ];
  return `<table id="summary">${rows.map(([label, field, value]) => `<tr><th>${label}</th><td data-field="${field}">${value}</td></tr>`).join('')}</table>`;
}

function bandsLegend(report: BatchReport): string {
  if (!('bands' in report.history))
    return `<p class="note" id="bands-unavailable">No bands for pauses and waits: ${escapeHtml(report.history.unavailable)}.</p>`;
  const bands = report.history.bands;
  const kinds = new Set(bands.map((b) => b.kind));
  const colours: Record<string, string> = { paused: '#bbb', budget: '#c9a3e6', quota: '#f6c27a', paced: '#eee07a', held: '#f0a0a0' };
  const items = Object.entries(BAND_NAMES).map(
    ([kind, name]) => `<span${kinds.has(kind as never) ? '' : ' class="note"'}><i style="background:${colours[kind]}"></i>${name}</span>`,
  );
  const total = (kind: string) => bands.filter((b) => b.kind === kind).reduce((ms, b) => ms + b.to - b.from, 0);
  const spent = [...kinds].map((kind) => `${BAND_NAMES[kind]} ${formatDuration(total(kind))}`).join(', ');
  return `<p class="legend" id="bands">${items.join('')}</p><p class="note">${spent ? `time not running: ${spent}` : 'the batch was never paused nor held'}</p>`;
}

function interruptionsNote({ timeline: t, summary: s }: BatchReport): string {
  const over = s.resumeCostBound === undefined ? 0 : t.interruptions.filter((i) => i.redone > s.resumeCostBound!).length;
  return (
    `${t.interruptions.length} interruption(s), ${t.redone.toLocaleString('en-US')} item(s) redone; the bound is ${s.resumeCostBound ?? '?'} per interruption. ` +
    'Redone items are grouped by when their redo started (within 5 s of each other: one interruption)' +
    (over > 0 ? `; ${over} group(s) above the bound may be interruptions close together` : '')
  );
}

function failureMessages({ timeline: t }: BatchReport): string {
  if (t.topFailures.length === 0) return '';
  const rows = t.topFailures
    .map(
      (f) =>
        `<tr><td class="n">${f.count.toLocaleString('en-US')}</td><td>${escapeHtml(f.type)}</td><td>${escapeHtml(f.message)}</td></tr>`,
    )
    .join('');
  return `<h3>Most frequent failure messages</h3><table id="failure-messages"><tr><th>items</th><th>type</th><th>message</th></tr>${rows}</table>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside a script element: `<` escaped, so no string in the data can close the element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

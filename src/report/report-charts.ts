/// <reference lib="dom" />
/**
 * The report's charts, drawn in the browser with uPlot. `drawCharts` is inlined into the HTML
 * file as its source text (report-page.ts), so it may use only its parameters and the browser's
 * globals, never an import: it runs where nothing but the page exists.
 */
import type uPlotType from 'uplot';
import type { BatchReport } from './batch-report';

/** Browser code: builds every chart into its element under `#charts`. */
export function drawCharts(report: BatchReport, uPlot: typeof uPlotType): void {
  const t = report.timeline;
  const xs = Array.from({ length: t.buckets }, (_, i) => (t.from + (i + 0.5) * t.bucketMs) / 1000);
  const perSecond = (counts: number[]) => counts.map((n) => n / (t.bucketMs / 1000));
  const bands = 'bands' in report.history ? report.history.bands : [];
  const bandColours: Record<string, string> = {
    paused: 'rgba(120,120,120,0.22)',
    budget: 'rgba(140,60,200,0.18)',
    quota: 'rgba(240,140,0,0.22)',
    paced: 'rgba(220,200,0,0.25)',
    held: 'rgba(220,40,40,0.18)',
  };
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];
  const width = Math.max(600, Math.min(1200, document.body.clientWidth - 40));

  /** Paints the bands behind the series, over the plotting area only. */
  const drawBands = (u: uPlotType) => {
    const { ctx, bbox } = u;
    ctx.save();
    for (const band of bands) {
      const x0 = Math.max(bbox.left, u.valToPos(band.from / 1000, 'x', true));
      const x1 = Math.min(bbox.left + bbox.width, u.valToPos(band.to / 1000, 'x', true));
      if (x1 <= x0) continue;
      ctx.fillStyle = bandColours[band.kind];
      ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
    }
    ctx.restore();
  };

  const chart = (id: string, title: string, yLabel: string, series: { label: string; values: number[]; bars?: boolean }[], x = xs) => {
    const element = document.getElementById(id);
    if (element === null) return;
    const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null && !Number.isNaN(v)).length, 0);
    element.dataset.points = String(points);
    new uPlot(
      {
        title,
        width,
        height: 260,
        scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, rangeFrom), Math.max(max, rangeTo)] } },
        axes: [{}, { label: yLabel }],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: palette[i % palette.length],
            width: 1.5,
            ...(s.bars
              ? { fill: palette[i % palette.length], paths: uPlot.paths.bars!({ size: [0.6, 12] }), points: { show: false } }
              : {}),
          })),
        ],
        hooks: { drawClear: [drawBands] },
      },
      [x, ...series.map((s) => s.values)],
      element,
    );
  };

  // Every time chart spans the items and the bands alike.
  const edges = [xs[0] - t.bucketMs / 2000, xs[xs.length - 1] + t.bucketMs / 2000, ...bands.flatMap((b) => [b.from / 1000, b.to / 1000])];
  const rangeFrom = Math.min(...edges);
  const rangeTo = Math.max(...edges);

  chart('chart-throughput', 'Items committed', 'items/s', [
    { label: 'succeeded', values: perSecond(t.succeeded) },
    { label: 'failed', values: perSecond(t.failed) },
  ]);
  chart(
    'chart-failures',
    'Failures by type',
    'items per bucket',
    t.failedByType.map((f) => ({ label: f.type, values: f.counts })),
  );
  const lanes = [{ label: 'items in flight', values: t.inFlight }];
  // Adaptive lanes: C is their MAX, and each bucket shows the lanes found at its last sample.
  if (report.summary.concurrency !== undefined)
    lanes.push({ label: report.lanesFound ? 'lanes at most (MAX)' : 'lanes (C)', values: xs.map(() => report.summary.concurrency!) });
  const found = report.lanesFound;
  if (found?.length) lanes.push({ label: 'lanes found', values: xs.map((x) => found.filter((s) => s.at / 1000 <= x).at(-1)?.lanes ?? 0) });
  chart('chart-lanes', 'Lanes in use', 'items in flight', lanes);
  const usage = t.usage.map((u) => ({ label: `${u.unit} used`, values: u.cumulative }));
  const budget = report.summary.budget;
  if (budget !== undefined) usage.push({ label: `budget (${budget.unit})`, values: xs.map(() => budget.max) });
  chart('chart-usage', 'Usage', 'cumulative', usage);
  const interruptions = t.interruptions;
  if (interruptions.length > 0) {
    const bound = report.summary.resumeCostBound;
    chart(
      'chart-interruptions',
      'Items redone per interruption',
      'items',
      [
        { label: 'redone', values: interruptions.map((i) => i.redone), bars: true },
        ...(bound !== undefined ? [{ label: 'bound', values: interruptions.map(() => bound) }] : []),
      ],
      interruptions.map((i) => i.at / 1000),
    );
  }
}

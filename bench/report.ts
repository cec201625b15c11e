/** BENCHMARKS.md from one run's results: tables, the targets, and what bounds the misses. */
import { int, table } from './markdown';
import type { MachineInfo } from './machine-info';
import type { BenchPlan } from './plan';
import type { WaymarkRun } from './run-waymark';
import type { ScaleResult } from './scale-batch';
import type { LimitResult } from './sections/physical-limit';
import type { PerItemResult } from './sections/per-item';
import type { ProcessesResult } from './sections/processes';
import type { RateLimitsResult } from './sections/rate-limits';
import type { ScalingResult, ScalingRun } from './sections/scaling';
import type { TimePerItemResult } from './sections/time-per-item';
import type { LanesCell, LanesResult } from './sections/lanes';
import type { ManyLanesCell } from './sections/many-lanes';
import type { OrchestrationCostCell } from './sections/orchestration-cost';
import { manyLanesSection, orchestrationCostSection } from './report-lanes';
import { adaptiveLanesSection } from './report-adaptive';
import type { AdaptiveLanesResult } from './sections/adaptive-lanes';
import type { ProviderBatchResult } from './sections/provider-batch';
import { providerBatchSection } from './report-provider-batch';
import type { TradeOffResult } from './sections/trade-off';
import type { NamedRates, NamedRuns, TuningResult } from './sections/tuning';
import { median, type Throughput } from './throughput';
import { DEFAULTS } from '../src/contract/batch-spec';
import { describeConcurrency } from '../src/contract/adaptive-concurrency';

export interface BenchResults {
  plan: BenchPlan;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  durationSeconds: number;
  cpuIterations: number;
  eventsPerRunBudget: number;
  /** Sections (a), (b), (c) and the budget probe: absent from a run of some sections only (`--only`). */
  limit?: LimitResult[];
  perItem?: PerItemResult;
  scale?: ScaleResult;
  budgetProbe?: WaymarkRun;
  tradeOff?: TradeOffResult;
  lanes?: LanesResult;
  manyLanes?: ManyLanesCell[];
  orchestrationCost?: OrchestrationCostCell[];
  tuning?: TuningResult;
  timePerItem?: TimePerItemResult;
  /** Absent from results saved before section (e) existed. */
  scaling?: ScalingResult;
  /** Absent from results saved before section (f) existed. */
  processes?: ProcessesResult;
  /** Absent from results saved before section (h) existed. */
  rateLimits?: RateLimitsResult;
  /** Absent from results saved before section (k) existed. */
  adaptiveLanes?: AdaptiveLanesResult;
  providerBatch?: ProviderBatchResult;
  /** The sections a run of some sections only measured (`--only`). */
  only?: string[];
}

/** A full run's results: every section that is not optional. */
type FullResults = BenchResults & Required<Pick<BenchResults, 'limit' | 'perItem' | 'scale' | 'budgetProbe'>>;

/** One lettered section of the report. */
interface Section {
  letter: string;
  title: string;
  body: string;
}

const rate = (n: number) => (n >= 100 ? int(n) : n.toFixed(1));
const x = (n: number) => `${n >= 10 ? n.toFixed(0) : n >= 0.1 ? n.toFixed(2) : n.toPrecision(2)}x`;
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const micros = (t: Throughput) => (1e6 / t.itemsPerSecond).toFixed(1);
const rates = (ts: Throughput[]) => ts.map((t) => t.itemsPerSecond);
const medRate = (ts: Throughput[]) => median(rates(ts));
const spread = (values: number[], fmt: (n: number) => string) =>
  values.length > 1 ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : fmt(values[0]);

const duration = (seconds: number) => (seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`);

function describeSpec(spec: BenchPlan['spec']): string {
  const set = Object.entries(spec).map(
    ([k, v]) => `${k} ${typeof v === 'number' ? int(v) : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
  );
  return set.length === 0 ? 'at the defaults' : `with ${set.join(', ')}`;
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean;
}

function ratios(result: LimitResult, other: 'bare' | 'ledger'): number[] {
  return result.rounds.map((r) => r.waymark.itemsPerSecond / r[other]!.itemsPerSecond);
}

function targets(r: FullResults): Target[] {
  const byLabel = (label: string) => r.limit.find((l) => l.label === label)!;
  const sleep = median(ratios(byLabel('sleep 1 ms'), 'bare'));
  const cpu = median(ratios(byLabel('1 ms CPU'), 'bare'));
  const noop = median(ratios(byLabel('noop'), 'ledger'));
  const perItem = median(r.perItem.rounds.map((round) => round.waymark.itemsPerSecond / round.perItem.itemsPerSecond));
  const eventsPerItem = r.scale.events / r.scale.items;
  const maxEvents = Math.max(...r.scale.eventsPerRun);
  const [first, last] = [r.scale.atCounts[0], r.scale.atCounts[r.scale.atCounts.length - 1]];
  const growth = last.rssMiB / first.rssMiB;
  return [
    { what: 'sleep 1 ms items vs the bare loop', goal: '>= 0.90x', measured: x(sleep), met: sleep >= 0.9 },
    { what: '1 ms CPU items vs the bare loop', goal: '>= 0.90x', measured: x(cpu), met: cpu >= 0.9 },
    {
      what: `noop vs the ledger's raw commit rate (k = ${r.plan.spec.commitGroup ?? DEFAULTS.commitGroup})`,
      goal: '>= 0.50x',
      measured: x(noop),
      met: noop >= 0.5,
    },
    { what: 'noop vs the per-item pattern (same items)', goal: '>= 20x', measured: x(perItem), met: perItem >= 20 },
    {
      what: `history events per item, ${int(r.scale.items)}-item batch`,
      goal: '<= 0.01',
      measured: eventsPerItem.toFixed(4),
      met: eventsPerItem <= 0.01,
    },
    {
      what: `events of the largest run, ${int(r.scale.items)}-item batch`,
      goal: '<= 2,000',
      measured: int(maxEvents),
      met: maxEvents <= 2000,
    },
    {
      what: `worker RSS at ${int(last.items)} items vs at ${int(first.items)}`,
      goal: '<= 1.2x',
      measured: `${x(growth)} (${mib(last.rssMiB)} / ${mib(first.rssMiB)})`,
      met: growth <= 1.2,
    },
  ];
}

/** For each missed target, what the run's own measurements say bounds it. */
function boundsOfMisses(r: FullResults, missed: Target[]): string[] {
  const lines: string[] = [];
  const byLabel = (label: string) => r.limit.find((l) => l.label === label)!;
  for (const t of missed) {
    if (t.what.includes('vs the bare loop')) {
      const l = byLabel(t.what.startsWith('sleep') ? 'sleep 1 ms' : '1 ms CPU');
      const bare = medRate(l.rounds.map((round) => round.bare));
      const wm = medRate(l.rounds.map((round) => round.waymark));
      const alone = l.activityAlone.itemsPerSecond;
      const durable = l.bareWithCommits
        ? ` The bare loop doing nothing more than commit each outcome to the ledger reaches ${x(l.bareWithCommits.itemsPerSecond / bare)} of itself: that much is the price of a durable commit per item on this machine, before any other part of waymark.`
        : '';
      lines.push(
        `- **${t.what}** (${t.measured}): processSlice alone, with no Temporal at all, reaches ${x(alone / bare)} of the bare loop, and the batch ${x(wm / alone)} of that.${durable} ` +
          "The first factor is the work between one item's end and the next one's start, which every lane does on the worker's one main thread: the commit of the outcome (k = 1: one synchronous SQLite transaction, shared by the lanes whose items ended in the same turn of the event loop), the item timer, reading the source. At k = 1 it lies on every item's path, and a lane whose item ends waits for the others' work in that turn too; " +
          'the second is Temporal: the round trip between one slice and the next (activity completion, workflow task, new activity task), planning, finalize, and the CPU the server and the workflow thread take on this 2-core machine.',
      );
    } else if (t.what.startsWith('noop vs the ledger')) {
      const tp = r.timePerItem;
      const share = (part: string) => ((tp?.shares.find((s) => s.part.startsWith(part))?.share ?? 0) * 100).toFixed(0);
      const piece = (name: string) => tp?.pieces.find((p) => p.name === name);
      const ledger = piece('ledger commit');
      const alone = piece('processSlice, no Temporal');
      // The ledger's group commit raised the raw rate this target is measured against; the
      // tuning section also measures a ledger that commits each commit on its own.
      const perCommit = r.tuning?.ledger.find((l) => l.name === 'a transaction per commit');
      const noopBatch = medRate(byLabel('noop').rounds.map((round) => round.waymark));
      const grouped = perCommit
        ? ` The raw rate is that of the ledger as shipped, whose group commit puts the commits of lanes that finish in the same turn of the event loop into one transaction; ` +
          `against a ledger that gives each commit a transaction of its own (tuning section, ${rate(medRate(perCommit.rates))} items/s), waymark's noop rate is ${x(noopBatch / medRate(perCommit.rates))}.`
        : '';
      lines.push(
        `- **${t.what}** (${t.measured}): ` +
          (tp && ledger && alone
            ? `in the time-per-item breakdown below the ledger alone commits ${rate(ledger.rate.itemsPerSecond)} items/s, processSlice without Temporal ${rate(alone.rate.itemsPerSecond)} (${x(alone.rate.itemsPerSecond / ledger.rate.itemsPerSecond)}), ` +
              `the batch ${rate(tp.pieces[tp.pieces.length - 1].rate.itemsPerSecond)}. The profile of the batch's main thread: ledger ${share('ledger')} %, idle ${share('idle')} % (lanes waiting for Temporal between slices), ` +
              `Node internals ${share('Node internals')} % (timers, promises, AbortSignal events), item runner ${share('item runner')} %, source ${share('source')} %, Temporal SDK ${share('Temporal SDK')} %, GC ${share('garbage')} %.`
            : 'see the time-per-item breakdown of a full run.') +
          grouped,
      );
    } else if (t.what.startsWith('worker RSS')) {
      lines.push(
        `- **${t.what}** (${t.measured}): see the RSS timeline in (c); the worker's RSS includes the V8 heap, which V8 grows lazily under allocation pressure before it collects, the SDK core's buffers and SQLite's page cache.`,
      );
    } else {
      lines.push(`- **${t.what}** (${t.measured}).`);
    }
  }
  return lines;
}

function machineSection(r: BenchResults): string {
  const m = r.machine;
  return table(
    ['', ''],
    [
      ['date', m.date],
      ['CPU', m.cpu],
      ['cores', m.cores],
      ['memory', `${m.memoryGiB} GiB`],
      ['OS', m.os],
      ['Node', m.node],
      ['Temporal CLI (dev server)', m.temporalCli.split('\n').join('; ')],
      ['Temporal TypeScript SDK', m.temporalSdk],
      ['better-sqlite3 / SQLite', `${m.betterSqlite3} / ${m.sqlite}`],
      ['temp dir (ledgers, server DB, items)', m.tempDir],
      [
        'load average at start / end (1, 5, 15 min)',
        `${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} / ${r.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')}`,
      ],
      ['duration of this run', duration(r.durationSeconds)],
      ['bench-cpu calibration', `${int(r.cpuIterations)} iterations ~ 1 ms`],
    ],
  );
}

function limitSection(r: FullResults): string {
  const rows = r.limit.map((l) => {
    const wm = l.rounds.map((round) => round.waymark);
    const bare = l.rounds.map((round) => round.bare);
    const ledger = l.rounds.flatMap((round) => (round.ledger ? [round.ledger] : []));
    const bareRatios = ratios(l, 'bare');
    return [
      l.label,
      int(l.items),
      `${rate(medRate(wm))} (${spread(rates(wm), rate)})`,
      `${rate(medRate(bare))} (${spread(rates(bare), rate)})`,
      `${x(median(bareRatios))} (${bareRatios.map(x).join(', ')})`,
      ledger.length ? `${rate(medRate(ledger))} (${spread(rates(ledger), rate)})` : '',
      ledger.length ? `${x(median(ratios(l, 'ledger')))} (${ratios(l, 'ledger').map(x).join(', ')})` : '',
      `${rate(l.activityAlone.itemsPerSecond)} (${x(l.activityAlone.itemsPerSecond / medRate(bare))} of bare)`,
      l.bareWithCommits ? `${rate(l.bareWithCommits.itemsPerSecond)} (${x(l.bareWithCommits.itemsPerSecond / medRate(bare))} of bare)` : '',
    ];
  });
  return table(
    [
      'items',
      'count',
      'waymark items/s, median (range)',
      'bare loop items/s',
      'waymark / bare, median (rounds)',
      'ledger raw items/s',
      'waymark / ledger (rounds)',
      'processSlice without Temporal, items/s',
      'bare loop + a ledger commit per k items, items/s',
    ],
    rows,
  );
}

function perItemSection(r: FullResults): string {
  const p = r.perItem;
  const wm = p.rounds.map((round) => round.waymark);
  const base = p.rounds.map((round) => round.perItem);
  const steady = r.limit.find((l) => l.label === 'noop')!;
  const steadyRate = medRate(steady.rounds.map((round) => round.waymark));
  const rows = [
    [
      `waymark ${describeSpec(r.plan.spec)}`,
      rate(medRate(wm)),
      median(wm.map((w) => w.eventsPerItem)).toFixed(4),
      wm[0].runs,
      Math.max(...wm.flatMap((w) => w.eventsPerRun)),
    ],
    [
      `per-item pattern (page ${p.pageSize})`,
      rate(medRate(base)),
      median(base.map((b) => b.eventsPerItem)).toFixed(2),
      base[0].runs,
      Math.max(...base.flatMap((b) => b.eventsPerRun)),
    ],
  ];
  const ratio = median(p.rounds.map((round) => round.waymark.itemsPerSecond / round.perItem.itemsPerSecond));
  return [
    table(['system', 'items/s (median)', 'events per item', 'workflow runs', 'most events in a run'], rows),
    '',
    `Same ${int(p.items)} noop items: waymark is **${x(ratio)}** the per-item pattern (rounds: ${p.rounds
      .map((round) => x(round.waymark.itemsPerSecond / round.perItem.itemsPerSecond))
      .join(', ')}). waymark's rate on ${int(p.items)} items includes its fixed cost per batch (start, planning, finalize); ` +
      `at ${int(steady.items)} items (section a) it runs at ${rate(steadyRate)} items/s, **${x(steadyRate / medRate(base))}** the per-item pattern. ` +
      `Mean schedule-to-start of a per-item activity: ${median(base.map((b) => b.meanScheduleToStartMs)).toFixed(1)} ms.`,
  ].join('\n');
}

function processesSection(p: ProcessesResult): string {
  const [perItem, persistent, calls, inProcess] = p.runs;
  const rows = p.runs.map(({ label, run }) => [
    label,
    rate(run.itemsPerSecond),
    `${(1000 / run.itemsPerSecond).toFixed(2)} ms`,
    x(run.itemsPerSecond / perItem.run.itemsPerSecond),
  ]);
  return [
    table(['way', 'items/s', 'time per item', 'vs a process per item'], rows),
    '',
    `Persistent is **${x(persistent.run.itemsPerSecond / perItem.run.itemsPerSecond)}** a process per item (goal: at least 20x), ` +
      `${p.itemsPerCall} items per call **${x(calls.run.itemsPerSecond / perItem.run.itemsPerSecond)}**; the in-process JS processor is ` +
      `${x(inProcess.run.itemsPerSecond / calls.run.itemsPerSecond)} the persistent process with calls. ` +
      `Resume-cost bound (C = 1, k = 1): C x k = 1 item per interruption for a process per item, persistent and in-process; C x max(k, M) = ${p.itemsPerCall} with ${p.itemsPerCall} items per call.`,
  ].join('\n');
}

function scaleSection(r: FullResults): string {
  const s = r.scale;
  const first = s.atCounts[0];
  const events = s.eventsPerRun;
  const parts = [
    `One ${int(s.items)}-item noop batch at the defaults, on a \`waymark worker\` process (the CLI) sampled through /proc: ` +
      `${rate(s.itemsPerSecond)} items/s over ${(s.seconds / 60).toFixed(1)} min, ${s.runs} workflow runs, ${s.retriedSlices} retried slices.`,
    '',
    table(
      ['', ''],
      [
        ['history events, whole batch', int(s.events)],
        ['events per item', (s.events / s.items).toFixed(4)],
        ['events per workflow run: min / median / max', `${Math.min(...events)} / ${median(events)} / **${Math.max(...events)}**`],
        ['events of each run, in order', events.join(', ')],
        ['events budget per run (EVENTS_PER_RUN_BUDGET)', int(r.eventsPerRunBudget)],
      ],
    ),
    '',
    table(
      ['sampled at', 'items done', 'worker RSS', 'peak RSS so far', 'RSS vs first sample'],
      [
        ['worker ready, idle', 0, mib(s.idle.rssMiB), mib(s.idle.peakMiB), ''],
        ...s.atCounts.map((a) => [`${int(a.requested)} items`, int(a.items), mib(a.rssMiB), mib(a.peakMiB), x(a.rssMiB / first.rssMiB)]),
      ],
    ),
    '',
    `RSS over time (every ${r.plan.scale.timelineEverySeconds} s): ` +
      s.timeline.map((t) => `${t.seconds.toFixed(0)} s: ${int(t.items)} items, ${t.rssMiB.toFixed(0)} MiB`).join('; ') +
      '.',
    '',
    `**Budget probe.** ${int(r.budgetProbe.items)} noop items with S = ${r.plan.budgetProbe.spec.sliceSize} and N = ${int(r.plan.budgetProbe.spec.checkpointEvery ?? 0)}: ` +
      `one window of ${int((r.plan.budgetProbe.spec.checkpointEvery ?? 0) / (r.plan.budgetProbe.spec.sliceSize ?? 1))} slices, budgeted by the workflow at 6 events a slice. ` +
      `It ran as ${r.budgetProbe.runs} workflow run(s) of ${r.budgetProbe.eventsPerRun.join(', ')} events (${rate(r.budgetProbe.itemsPerSecond)} items/s): ` +
      (Math.max(...r.budgetProbe.eventsPerRun) <= r.eventsPerRunBudget ? 'no run over the budget.' : '**a run went over the budget**.') +
      (r.budgetProbe.runs === 1
        ? ' (Completions batched into shared workflow tasks cost fewer than 6 events a slice, so this window fit in one run.)'
        : ''),
  ];
  return parts.join('\n');
}

function tradeOffSection(t: TradeOffResult): string {
  const k1 = new Map(t.grid.filter((c) => c.commitGroup === 1).map((c) => [c.sliceSize, medRate(c.waymark)]));
  const grid = table(
    [
      'S',
      'k',
      'bound C x k',
      'waymark items/s (median)',
      'vs k = 1, same S',
      'ledger raw items/s, same k',
      'waymark / ledger',
      'events per item',
    ],
    t.grid.map((c) => {
      const wm = medRate(c.waymark);
      const led = medRate(c.ledger);
      return [
        int(c.sliceSize),
        c.commitGroup,
        c.bound,
        `${rate(wm)} (${spread(rates(c.waymark), rate)})`,
        k1.has(c.sliceSize) ? x(wm / k1.get(c.sliceSize)!) : '',
        rate(led),
        x(wm / led),
        median(c.waymark.map((w) => w.eventsPerItem)).toFixed(4),
      ];
    }),
  );
  const conc = table(
    ['C', 'bound C x k (k = 1)', 'waymark items/s', 'bare loop items/s, same C', 'waymark / bare'],
    t.concurrency.map((c) => [
      c.concurrency,
      c.bound,
      rate(c.waymark.itemsPerSecond),
      rate(c.bare.itemsPerSecond),
      x(c.waymark.itemsPerSecond / c.bare.itemsPerSecond),
    ]),
  );
  return [
    `Noop items, ${int(t.items)} per batch, C = ${DEFAULTS.concurrency}, N = ${int(DEFAULTS.checkpointEvery)}; the resume-cost bound is C x k whatever S is.`,
    '',
    grid,
    '',
    `Concurrency on 1 ms sleep items (${int(t.concurrencyItems)} per batch, S = ${DEFAULTS.sliceSize}, k = 1): the bound grows with C as much as with k.`,
    '',
    conc,
  ].join('\n');
}

function scalingSection(s: ScalingResult, cores: number): string {
  const best = (runs: ScalingRun[]) => runs.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  const baseCount = s.workerCounts[0];
  const rows = s.cases.flatMap((c) => {
    const byCount = s.workerCounts.map((workers) => c.runs.filter((run) => run.workers === workers));
    const base = best(byCount[0]);
    return byCount.map((runs) => {
      const b = best(runs);
      return [
        c.label,
        c.commitGroup,
        b.workers,
        runs.length > 1 ? `${rate(b.itemsPerSecond)} (${runs.map((run) => rate(run.itemsPerSecond)).join(', ')})` : rate(b.itemsPerSecond),
        `${b.seconds.toFixed(1)} s`,
        x(b.itemsPerSecond / base.itemsPerSecond),
        `${Math.round(b.cpuBusy * 100)} %`,
      ];
    });
  });
  const { concurrency: c, sliceSize: sl, checkpointEvery: n } = s.spec;
  const retried = s.cases.reduce((sum, sc) => sum + sc.runs.reduce((runSum, run) => runSum + run.retriedSlices, 0), 0);
  return [
    `One batch of ${int(s.items)} items on ${s.workerCounts.slice(0, -1).join(', ')}${s.workerCounts.length > 1 ? ' and ' : ''}${s.workerCounts.at(-1)} \`waymark worker\` processes (the CLI, each with a data dir of its own) serving one task queue ` +
      `and sharing a PostgreSQL ledger (a fresh schema per batch), against this run's dev server. Every batch has C = ${describeConcurrency(c)}, S = ${int(sl)}, N = ${int(n)}, ` +
      `and k as in the table, so only the number of processes changes. Throughput is items over the time from starting the workflow to its result, ` +
      (s.runsPerCount > 1 ? `best of ${s.runsPerCount} runs (every run in brackets); ` : 'one run each; ') +
      `CPU busy is the share of the time of all ${cores} cores that any process kept busy during the batch: the workers, the dev server, PostgreSQL, the bench and whatever else ran on the machine.`,
    '',
    table(
      [
        'processor',
        'k',
        'workers',
        'items/s',
        'time',
        `vs ${baseCount} worker${baseCount === 1 ? '' : 's'}`,
        `CPU busy (all ${cores} cores)`,
      ],
      rows,
    ),
    '',
    ...(retried > 0
      ? [
          `**${retried} slices needed more than one attempt** across these batches (an attempt timed out or failed), which slowed the runs they fell in.`,
          '',
        ]
      : []),
    `This machine has ${cores} cores, shared by the worker processes, the dev server and PostgreSQL, so extra worker processes on one machine add little once those cores are busy. ` +
      'They pay off across machines, each bringing cores of its own; what the workers then share is the server and the ledger, whose commit rate follows.',
    '',
    `The ledger's own commit rate: the commits processSlice makes (claim, in-flight mark, k outcomes per statement) from ${s.ledgerShape.concurrency} lanes ` +
      `of slices of ${int(s.ledgerShape.sliceSize)} items, with no Temporal, source or processor; PostgreSQL gets a fresh schema per measurement.`,
    '',
    table(
      ['ledger', 'k', 'items', 'commits/s', 'items/s'],
      s.ledger.map((l) => [l.ledger, l.commitGroup, int(l.rate.items), rate(l.rate.commits / l.rate.seconds), rate(l.rate.itemsPerSecond)]),
    ),
  ].join('\n');
}

function timePerItemSection(t: TimePerItemResult): string {
  const pieces = table(
    ['piece', 'items/s', 'us per item', 'what runs'],
    t.pieces.map((p) => [p.name, rate(p.rate.itemsPerSecond), micros(p.rate), p.what]),
  );
  const shares = table(
    ['part of the main thread', 'share of samples'],
    t.shares.filter((s) => s.share >= 0.005).map((s) => [s.part, `${(s.share * 100).toFixed(1)} %`]),
  );
  return [
    `Noop items at the defaults, ${int(t.items)} per run. Each piece alone (no Temporal), then the whole activity without Temporal, then the batch:`,
    '',
    pieces,
    '',
    `A CPU profile of the bench process's main thread (where the worker runs activities; workflow code and the SDK core run in other threads) during one more batch (${rate(t.profiled.itemsPerSecond)} items/s under the profiler), self time by part; a V8 builtin or native call (better-sqlite3's \`Statement.run\`, \`JSON.parse\`, promise jobs) is charged to its nearest caller with a file. The raw profile is kept in \`dist-bench/noop.cpuprofile\` (Chrome DevTools, speedscope).`,
    '',
    shares,
  ].join('\n');
}

function namedRatesTable(rows: NamedRates[], baseline: number): string {
  return table(
    ['variant', 'items/s, median (range)', 'vs SqliteLedger.commit', 'what it changes'],
    rows.map((r) => [r.name, `${rate(medRate(r.rates))} (${spread(rates(r.rates), rate)})`, x(medRate(r.rates) / baseline), r.note]),
  );
}

function namedRunsTable(rows: NamedRuns[], extra?: (r: NamedRuns) => (string | number)[], extraHead: string[] = []): string {
  const base = medRate(rows[0].runs);
  return table(
    ['setting', 'items/s, median (range)', `vs ${rows[0].name}`, ...extraHead, 'note'],
    rows.map((r) => [
      r.name,
      `${rate(medRate(r.runs))} (${spread(rates(r.runs), rate)})`,
      x(medRate(r.runs) / base),
      ...(extra ? extra(r) : []),
      r.note,
    ]),
  );
}

function tuningSection(t: TuningResult): string {
  const hb = t.heartbeat;
  const starved = hb.starvation.run;
  return [
    '### Ledger write path',
    '',
    `${int(t.ledgerItems)} commits of one noop outcome each (k = 1), C lanes, as processSlice writes them; variants write the same rows to the ledger's own schema with plain better-sqlite3.`,
    '',
    namedRatesTable(t.ledger, medRate(t.ledger[0].rates)),
    '',
    '### Heartbeats',
    '',
    `One \`Context.heartbeat\` call in a real activity costs **${hb.callMicros.toFixed(2)} us** (mean of a tight loop; the SDK throttles what it sends). ` +
      'processSlice heartbeats on a timer (every heartbeatTimeout / 3, between 200 ms and 5 s), not per item.',
    '',
    namedRunsTable(hb.timeouts),
    '',
    `**Starvation probe**: ${int(hb.starvation.items)} items of 1 ms synchronous CPU work (bench-cpu), heartbeatTimeoutMs ${hb.starvation.heartbeatTimeoutMs}, S = ${DEFAULTS.sliceSize}, C = ${DEFAULTS.concurrency}: ` +
      `**${starved.retriedSlices} of ${starved.slices} slices needed another attempt**, ${rate(starved.itemsPerSecond)} items/s. ` +
      (starved.retriedSlices > 0
        ? 'A processor that never awaits real I/O keeps the event loop in one microtask run for a whole slice (C slices interleaved: C x S x 1 ms here), so the heartbeat timer cannot fire and the server times the slice out. The default 30 s timeout hits the same wall at C x S x (ms per item) > 30 s, e.g. S = 1,000 and 8 ms of synchronous work per item. See the proposals.'
        : 'No slice timed out.'),
    '',
    '### Source read path',
    '',
    table(
      ['', 'items/s', 'us per item'],
      [
        [
          'JSONL, LineSource.readSlice over every slice (scan, UTF-8 decode, JSON.parse)',
          rate(t.source.jsonl.itemsPerSecond),
          micros(t.source.jsonl),
        ],
        ['the same file as text (no JSON.parse)', rate(t.source.text.itemsPerSecond), micros(t.source.text)],
      ],
    ),
    '',
    `Planning one window of N = ${int(t.source.checkpointEvery)} items (planWindow's scan): ${(t.source.planWindowSeconds * 1000).toFixed(1)} ms.`,
    '',
    '### Worker options',
    '',
    `Noop, ${int(t.runItems)} items at the defaults, in-process worker built like createWaymarkWorker plus the one option.`,
    '',
    namedRunsTable(t.worker),
    '',
    '### N (items per workflow run)',
    '',
    namedRunsTable(
      t.checkpointEvery,
      (r) => [r.runs[0].runs, Math.max(...r.runs.flatMap((w) => w.eventsPerRun)), median(r.runs.map((w) => w.eventsPerItem)).toFixed(4)],
      ['runs', 'most events in a run', 'events per item'],
    ),
  ].join('\n');
}

function rateLimitsSection(r: RateLimitsResult): string {
  const rows = r.costs.map((c) => [
    c.ledger,
    String(c.burst),
    (c.items / c.takes).toFixed(1),
    c.microsPerItem.toFixed(1),
    int(1e6 / c.microsPerItem),
  ]);
  const p = r.pacing;
  return [
    `What a named rate limit costs an item: \`Pacer.acquire\` (the slice's side of the limiter) for ${int(r.costs[0]?.items ?? 0)} items in a row on one lane, ` +
      'items coming at half a limit of 1,000 a second (the limiter is told the time), so none waits, on each ledger (PostgreSQL: the same server as (e)). ' +
      'With burst 0 every item takes its own token, ' +
      'one ledger transaction; a burst lets a worker take tokens in blocks (docs/quotas-and-budgets.md, "Staying under a quota").',
    '',
    table(['ledger', 'burst', 'items per take', 'µs per item', 'items/s one lane could start'], rows),
    '',
    `Pacing: ${int(p.waymark.items)} items of ${p.itemMs} ms on ${p.concurrency} lanes, a limit of ${p.limit} a second with burst ${p.burst} (SQLite ledger, in-process worker): ` +
      `**${p.achieved.toFixed(1)} items a second** after the first second, **${(p.achieved / p.limit).toFixed(2)}x** the limit; ` +
      `at most **${p.mostInASecond}** items started in any one second (limit + burst: ${p.limit + p.burst}); ${p.waymark.seconds.toFixed(1)} s start to result, ` +
      `${p.waymark.eventsPerItem.toFixed(4)} events per item, largest run ${int(Math.max(...p.waymark.eventsPerRun))} events.`,
  ].join('\n');
}

function lanesSection(l: LanesResult): string {
  const ratio = (c: LanesCell) => c.waymark.itemsPerSecond / c.bare.itemsPerSecond;
  // The 0.90x target binds a cell whose bare loop runs 4 s or more; a shorter one is shown beside the fixed cost.
  const met = (c: LanesCell) => (c.bare.seconds >= 4 ? (ratio(c) >= 0.9 ? 'yes' : '**no**') : `n/a (bare ${c.bare.seconds.toFixed(1)} s)`);
  const rows = l.cells.map((c) => [
    `${c.itemMs} ms`,
    String(c.concurrency),
    int(c.items),
    int(c.waymark.slices),
    `${c.waymark.itemsPerSecond.toFixed(0)} (${c.waymark.seconds.toFixed(1)} s)`,
    `${c.bare.itemsPerSecond.toFixed(0)} (${c.bare.seconds.toFixed(1)} s)`,
    `${ratio(c).toFixed(2)}x`,
    met(c),
    c.waymark.eventsPerItem.toFixed(4),
    int(Math.max(...c.waymark.eventsPerRun)),
  ]);
  const s = l.skew;
  return [
    'Items that sleep, at the default slice size (S = 1,000), waymark (in-process worker) beside the bare loop with the same C, in one run, cells shortest first. ' +
      'Throughput is items over start-to-result time as in (a). The target, >= 0.90x of the bare loop, binds every cell whose bare loop runs 4 s or more; ' +
      `a shorter cell is read beside waymark's fixed cost per batch (start, plan, finalize; a one-item batch, start to result), measured in this run: **${l.fixedSeconds.toFixed(2)} s**.`,
    '',
    table(
      [
        'item',
        'C',
        'items',
        'slices',
        'waymark items/s (time)',
        'bare loop items/s (time)',
        'waymark / bare',
        '>= 0.90x',
        'events per item',
        'largest run (events)',
      ],
      rows,
    ),
    '',
    `A skewed batch: ${int(s.items)} items of ${s.ms} ms, every ${s.slowEvery}th of ${s.slowMs} ms, C = ${s.concurrency}: waymark finishes in ` +
      `${s.waymark.seconds.toFixed(1)} s, the bare loop in ${s.bare.seconds.toFixed(1)} s (${(s.bare.seconds / s.waymark.seconds).toFixed(2)}x of its speed; ${int(s.waymark.slices)} slices).`,
  ].join('\n');
}

/** The lettered sections a run measured, in the report's order. */
function sections(r: BenchResults): Section[] {
  const smoke = r.plan.mode === 'smoke';
  const out: Section[] = [];
  const add = (letter: string, title: string, body: string) => out.push({ letter, title, body });
  if (isFull(r)) {
    add(
      'a',
      'Against the physical limit',
      `waymark at ${smoke ? 'the smoke spec' : 'its defaults'} (S = ${r.plan.spec.sliceSize ?? DEFAULTS.sliceSize}, N = ${int(r.plan.spec.checkpointEvery ?? DEFAULTS.checkpointEvery)}, ` +
        `C = ${describeConcurrency(r.plan.spec.concurrency ?? DEFAULTS.concurrency)}, k = ${r.plan.spec.commitGroup ?? DEFAULTS.commitGroup}), in-process worker, versus a bare loop: the same items read ` +
        'and parsed up front, the same processor, C lanes, no durability at all. For noop items the limit is the ledger: its raw commit rate is SqliteLedger.commit in C lanes ' +
        'with the same rows, S and k, and no Temporal, source or processor. The last column is the bare loop again with one thing added: each lane commits every k outcomes to ' +
        'a SqliteLedger, as a slice does. Throughput is items over the time from starting the workflow to its result.\n\n' +
        limitSection(r),
    );
    add(
      'b',
      'Against the per-item pattern',
      "The pattern of Temporal's batch samples (samples-typescript `batch/iterator`, activity variant), in bench/per-item: an activity reads a page of items, " +
        'the workflow starts one activity per item for the whole page at once, waits for all, and continues-as-new per page. The durable record is the history itself.\n\n' +
        perItemSection(r),
    );
    add('c', 'History and worker memory at scale', scaleSection(r));
  }
  if (r.tradeOff) add('d', 'Trade-off: slice size, commit group, concurrency', tradeOffSection(r.tradeOff));
  if (r.lanes) add('f', 'Every lane busy: slow items at the default slice size', lanesSection(r.lanes));
  if (r.manyLanes) add('i', 'Hundreds of lanes: slow items at C up to 1,000', manyLanesSection(r.manyLanes));
  if (r.orchestrationCost)
    add('j', 'Orchestration cost: Temporal Cloud actions per 1,000 items', orchestrationCostSection(r.orchestrationCost));
  if (r.processes) {
    add(
      'g',
      'A Python processor: a process per item, persistent, many items per call',
      `${int(r.processes.items)} items, C = 1, one Python script (examples/persistent/sha256_client.py: imports hashlib, json, decimal and datetime, returns the SHA-256 of the item) ` +
        'run by `exec` (a process per item), by `exec-persistent` (one process, one item per request line) and by `exec-persistent` with `itemsPerCall`; the in-process `sha256` processor is the reference.\n\n' +
        processesSection(r.processes),
    );
  }
  if (r.rateLimits) add('h', 'Named rate limits', rateLimitsSection(r.rateLimits));
  if (r.adaptiveLanes) add('k', 'Adaptive lanes: limits they are not told', adaptiveLanesSection(r.adaptiveLanes));
  if (r.providerBatch)
    add('l', `Provider batch APIs: ${int(r.providerBatch.plan.items)} items through the fakes`, providerBatchSection(r.providerBatch));
  if (r.scaling) add('e', 'Scaling: worker processes and the ledger', scalingSection(r.scaling, r.machine.cores));
  return out;
}

function isFull(r: BenchResults): r is FullResults {
  return r.limit !== undefined && r.perItem !== undefined && r.scale !== undefined && r.budgetProbe !== undefined;
}

const heading = (s: Section) => `## (${s.letter}) ${s.title}`;

export function renderReport(r: BenchResults, notes?: string): string {
  if (!isFull(r))
    throw new Error(`a run of sections ${(r.only ?? []).join(', ')} only updates a report (renderUpdate), it cannot write one`);
  const t = targets(r);
  const smoke = r.plan.mode === 'smoke';
  const parts = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run-bench.ts) from one run on ${r.machine.date.slice(0, 10)}; do not edit by hand, run it again. ` +
      'Every comparison ran side by side in that one run: the same items, processor and concurrency, against one embedded dev server ' +
      '(`temporal server start-dev` with a SQLite file in a temp dir), rounds alternating the order of the systems; the tables give medians and ranges. ' +
      'A section marked as from a later run was measured again alone by `--only` (below), and says when and under what load.',
    '',
    '> **The machine is shared and noisy.** Other agents ran builds and test suites (their own dev servers and SQLite files) on the same 2 cores and disk during this run: ' +
      'see the load averages below. Absolute rates moved by up to 3x between identical runs while writing this bench; ratios measured side by side in one round are steadier than rates, ' +
      'and the noop and ledger numbers are the noisiest because they are bound by disk writes.',
    '',
    'How to run: `npm run bench` (its duration on the machine below is in the table there; writes this file and `dist-bench/results-full.json`), `npm run bench:smoke` (a minute or two; checks that every part works ' +
      'and that no workflow run has more events than the budget, exit code 1 otherwise). Both compile src and bench with `tsc -p bench/tsconfig.json` into `dist-bench/` and run ' +
      '`node dist-bench/bench/run-bench.js [--smoke] [--only LETTERS] [--out FILE]`; `--only i,k,l` measures those sections alone and replaces them (or adds them) in this file; ' +
      '`--from dist-bench/results-full.json` renders this file again from saved results. ' +
      'Section (e) needs a PostgreSQL server: `WAYMARK_BENCH_PG_URL`, else `WAYMARK_TEST_PG_URL`, else the bench runs `scripts/postgres.sh start` (and `stop` at its end, unless that server was already running).',
    '',
    ...(smoke
      ? ['> **Smoke run**: a few thousand items with small slices; numbers and targets below are not meaningful at this scale.', '']
      : []),
    '## Machine',
    '',
    machineSection(r),
    '',
    '## Targets',
    '',
    table(
      ['target', 'goal', 'measured', 'met'],
      t.map((row) => [row.what, row.goal, row.measured, row.met ? 'yes' : '**no**']),
    ),
    '',
    ...(t.some((row) => !row.met)
      ? [
          'What bounds the targets missed in this run:',
          '',
          ...boundsOfMisses(
            r,
            t.filter((row) => !row.met),
          ),
          '',
        ]
      : []),
    ...sections(r).flatMap((s) => [heading(s), '', s.body, '']),
  ];
  if (r.timePerItem) parts.push("## Where a noop item's time goes", '', timePerItemSection(r.timePerItem), '');
  if (r.tuning) parts.push('## Tuning', '', tuningSection(r.tuning), '');
  if (notes) parts.push(notes.trim(), '');
  return `${parts.join('\n')}\n`;
}

/** The order of the lettered sections in a full report: where a section a report lacks goes. */
const ORDER = ['a', 'b', 'c', 'd', 'f', 'i', 'j', 'g', 'h', 'k', 'l', 'e'];

/**
 * A report with the sections of a run of some sections only (`--only`) put in: each replaces the
 * section of the same letter, or goes after the one before it in ORDER, and says which run it is from.
 */
export function renderUpdate(r: BenchResults, report: string): string {
  const m = r.machine;
  const from =
    `*From a later run of this section alone (\`--only ${(r.only ?? []).join(',')}\`) on ${m.date.slice(0, 16).replace('T', ' ')} UTC, ` +
    `${duration(r.durationSeconds)} for the sections run, load average at start / end ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} / ` +
    `${r.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' ')}.*`;
  const lines = report.split('\n');
  // Where the section of `letter` starts, and where it ends (the next heading of its level or above).
  const find = (letter: string) => {
    const start = lines.findIndex((l) => l.startsWith(`## (${letter}) `));
    if (start < 0) return undefined;
    const next = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
    return { start, end: next < 0 ? lines.length : next };
  };
  for (const s of sections(r)) {
    const block = [heading(s), '', from, '', s.body, ''];
    const at = find(s.letter);
    if (at) {
      lines.splice(at.start, at.end - at.start, ...block);
      continue;
    }
    const before = ORDER.slice(0, ORDER.indexOf(s.letter))
      .reverse()
      .map(find)
      .find((f) => f !== undefined);
    if (!before) throw new Error(`the report has no section before (${s.letter}) to put it after; run the whole bench`);
    lines.splice(before.end, 0, ...block);
  }
  return lines.join('\n');
}

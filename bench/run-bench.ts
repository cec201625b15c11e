/**
 * `npm run bench`: every measurement of BENCHMARKS.md in one run, against one embedded dev
 * server, and the report written from it. `npm run bench:smoke` (`--smoke`): the same parts on a
 * few thousand items, in seconds, exiting non-zero if any part fails or any workflow run of any
 * batch has more events than the budget (EVENTS_PER_RUN_BUDGET). Timings are reported, never asserted.
 * Section (e) shares a PostgreSQL ledger between worker processes; where its server comes from is
 * in bench/bench-postgres.ts.
 *
 *   node dist-bench/bench/run-bench.js [--smoke] [--only LETTERS] [--out FILE]
 *   node dist-bench/bench/run-bench.js --only i,k,l   (those sections alone, put into BENCHMARKS.md in place of their last run)
 *   node dist-bench/bench/run-bench.js --from dist-bench/results-full.json   (render again, e.g. after editing bench/notes.md;
 *   results of `--only` go into the report as when they were measured)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EVENTS_PER_RUN_BUDGET } from '../src/workflows/batch-workflow';
import { findPackageRoot } from '../src/server/install-dir';
import { startBenchEnv } from './bench-env';
import { BenchPostgres, benchPostgresServer } from './bench-postgres';
import { calibrateIterations, CPU_PROCESSOR, registerCpuProcessor } from './cpu-processor';
import { itemsFile } from './items-file';
import { log } from './log';
import { machineInfo, type MachineInfo } from './machine-info';
import { FULL_PLAN, SMOKE_PLAN, type BenchPlan } from './plan';
import { renderReport, renderUpdate, type BenchResults } from './report';
import { runWaymarkBatch } from './run-waymark';
import { runScaleBatch } from './scale-batch';
import { measurePerItem } from './sections/per-item';
import { measurePhysicalLimit } from './sections/physical-limit';
import { measureProcesses } from './sections/processes';
import { measureScaling } from './sections/scaling';
import { measureTimePerItem } from './sections/time-per-item';
import { measureTradeOff } from './sections/trade-off';
import { measureTuning } from './sections/tuning';
import { measureLanes } from './sections/lanes';
import { measureRateLimits } from './sections/rate-limits';
import { measureManyLanes } from './sections/many-lanes';
import { measureOrchestrationCost } from './sections/orchestration-cost';
import { measureAdaptiveLanes } from './sections/adaptive-lanes';
import { measureProviderBatch } from './sections/provider-batch';

/** The sections `--only` can run alone: (a), (b) and (c) make the targets, and run together with the rest. */
const ALONE = ['d', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
const USAGE = 'usage: run-bench [--smoke] [--only LETTERS] [--out FILE] [--from RESULTS.json]';

function parseArgs(argv: string[]): { smoke: boolean; out?: string; from?: string; only?: Set<string> } {
  const args = {
    smoke: false,
    out: undefined as string | undefined,
    from: undefined as string | undefined,
    only: undefined as Set<string> | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--smoke') args.smoke = true;
    else if (argv[i] === '--out') args.out = argv[++i];
    else if (argv[i] === '--from') args.from = argv[++i];
    else if (argv[i] === '--only') {
      const letters = (argv[++i] ?? '').split(',').map((l) => l.trim().replace(/^\((.)\)$/, '$1'));
      const wrong = letters.filter((l) => !ALONE.includes(l));
      if (wrong.length > 0) {
        throw new Error(
          `--only takes section letters among ${ALONE.join(',')} (e.g. --only i,k,l), not "${wrong.join(',')}"; (a), (b) and (c) run only with the whole bench`,
        );
      }
      args.only = new Set(letters);
    } else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
  }
  return args;
}

async function measure(plan: BenchPlan, root: string, only?: Set<string>): Promise<BenchResults> {
  const started = Date.now();
  const machine = machineInfo();
  log(`${plan.mode} bench on ${machine.cpu} x${machine.cores}, load ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
  // Found first: a bench without its PostgreSQL server fails now, not after the sections before (e).
  const pgServer = plan.scaling && (only?.has('e') ?? true) ? await benchPostgresServer(root) : undefined;
  try {
    const pg = pgServer ? await BenchPostgres.connect(pgServer.url) : undefined;
    try {
      return await measureSections(plan, started, machine, pg, only);
    } finally {
      await pg?.close();
    }
  } finally {
    await pgServer?.stop();
  }
}

async function measureSections(
  plan: BenchPlan,
  started: number,
  machine: MachineInfo,
  pg: BenchPostgres | undefined,
  only: Set<string> | undefined,
): Promise<BenchResults> {
  const run = (letter: string) => only?.has(letter) ?? true;
  registerCpuProcessor();
  const env = await startBenchEnv();
  log(`dev server ${machine.temporalCli.split('\n')[0]} on ${env.server.address}, data in ${env.dir}`);
  try {
    const cpuIterations = calibrateIterations(1);
    log(`bench-cpu: ${cpuIterations} iterations ~ 1 ms`);

    let core;
    if (only === undefined) {
      log('(a) against the physical limit');
      const limit = await measurePhysicalLimit(
        env,
        [
          { label: 'noop', processor: 'noop', items: plan.limit.noopItems, ledger: true },
          { label: 'sleep 1 ms', processor: 'sleep', options: { ms: 1 }, items: plan.limit.sleepItems, ledger: false },
          {
            label: '1 ms CPU',
            processor: CPU_PROCESSOR,
            options: { iterations: cpuIterations },
            items: plan.limit.cpuItems,
            ledger: false,
          },
        ],
        plan.rounds,
        plan.spec,
      );

      log('(b) against the per-item pattern');
      const perItem = await measurePerItem(env, { ...plan.perItem, spec: plan.spec });

      log(`(c) ${plan.scale.items.toLocaleString('en-US')} noop items on a worker process`);
      const scale = await runScaleBatch(env, plan.scale);
      log(`  ${scale.itemsPerSecond.toFixed(0)}/s, ${scale.runs} runs, at most ${Math.max(...scale.eventsPerRun)} events per run`);
      const budgetProbe = await runWaymarkBatch(env, {
        file: itemsFile(env.dir, plan.budgetProbe.items),
        items: plan.budgetProbe.items,
        processor: 'noop',
        spec: plan.budgetProbe.spec,
      });
      log(`  budget probe: ${budgetProbe.runs} runs, at most ${Math.max(...budgetProbe.eventsPerRun)} events per run`);
      core = { limit, perItem, scale, budgetProbe };
    }

    let tradeOff;
    if (plan.tradeOff && run('d')) {
      log('(d) trade-off: S, k and C');
      tradeOff = await measureTradeOff(env, plan.tradeOff);
    }
    let tuning;
    if (plan.tuning && only === undefined) {
      log('tuning');
      tuning = await measureTuning(env, { ...plan.tuning, cpuIterations });
    }
    let timePerItem;
    if (plan.timePerItem && only === undefined) {
      log("where a noop item's time goes");
      timePerItem = await measureTimePerItem(env, plan.timePerItem.items, path.resolve(__dirname, '..', 'noop.cpuprofile'));
    }
    let processes;
    if (plan.processes && run('g')) {
      log('(g) a Python processor: a process per item, persistent, many items per call');
      processes = await measureProcesses(env, plan.processes);
    }
    let scaling;
    if (plan.scaling && pg && run('e')) {
      log('(e) scaling: worker processes and the ledger');
      scaling = await measureScaling(env, pg, plan.scaling);
    }
    let lanes;
    if (plan.lanes && run('f')) {
      log('(f) every lane busy: slow items at the default slice size');
      lanes = await measureLanes(env, plan.lanes);
    }
    let rateLimits;
    if (plan.rateLimits && run('h')) {
      log('(h) named rate limits: what the limiter costs, how closely a batch keeps to it');
      rateLimits = await measureRateLimits(env, plan.rateLimits, pg);
    }
    let manyLanes;
    if (plan.manyLanes && run('i')) {
      log('(i) hundreds of lanes: slow items at C up to 1,000');
      manyLanes = await measureManyLanes(env, plan.manyLanes);
    }
    let orchestrationCost;
    if (plan.orchestrationCost && run('j')) {
      log('(j) orchestration cost: Temporal Cloud actions per 1,000 items');
      orchestrationCost = await measureOrchestrationCost(env, plan.orchestrationCost);
    }
    let adaptiveLanes;
    if (plan.adaptiveLanes && run('k')) {
      log('(k) adaptive lanes: limits they are not told, beside batches that are told');
      adaptiveLanes = await measureAdaptiveLanes(env, plan.adaptiveLanes);
    }
    let providerBatch;
    if (plan.providerBatch && run('l')) {
      log(`(l) provider batch APIs: ${plan.providerBatch.items.toLocaleString('en-US')} items through the fakes`);
      providerBatch = await measureProviderBatch(env, plan.providerBatch);
    }
    return {
      plan,
      machine,
      loadAverageAtEnd: os.loadavg(),
      durationSeconds: (Date.now() - started) / 1000,
      cpuIterations,
      eventsPerRunBudget: EVENTS_PER_RUN_BUDGET,
      ...core,
      tradeOff,
      tuning,
      timePerItem,
      scaling,
      lanes,
      processes,
      rateLimits,
      manyLanes,
      orchestrationCost,
      adaptiveLanes,
      providerBatch,
      ...(only ? { only: [...only] } : {}),
    };
  } finally {
    await env.close();
  }
}

/** Every workflow run of every waymark batch measured, against the budget: the smoke run's check. */
function budgetViolations(results: BenchResults): string[] {
  const batches: Array<[string, number[]]> = [
    ...(results.limit ?? []).flatMap((l) =>
      l.rounds.map((r, i): [string, number[]] => [`(a) ${l.label} round ${i + 1}`, r.waymark.eventsPerRun]),
    ),
    ...(results.perItem?.rounds ?? []).map((r, i): [string, number[]] => [`(b) round ${i + 1}`, r.waymark.eventsPerRun]),
    ...(results.scale ? [[`(c) ${results.scale.items} items`, results.scale.eventsPerRun] as [string, number[]]] : []),
    ...(results.budgetProbe ? [['budget probe', results.budgetProbe.eventsPerRun] as [string, number[]]] : []),
    ...(results.tradeOff?.grid ?? []).flatMap((c) =>
      c.waymark.map((w): [string, number[]] => [`(d) S=${c.sliceSize} k=${c.commitGroup}`, w.eventsPerRun]),
    ),
    ...(results.lanes?.cells ?? []).map((c): [string, number[]] => [
      `(f) ${c.items} x ${c.itemMs} ms C=${c.concurrency}`,
      c.waymark.eventsPerRun,
    ]),
    ...(results.processes?.runs ?? []).map((p): [string, number[]] => [`(g) ${p.label}`, p.run.eventsPerRun]),
    ...(results.rateLimits ? [['(h) pacing', results.rateLimits.pacing.waymark.eventsPerRun] as [string, number[]]] : []),
    ...(results.manyLanes ?? []).map((c): [string, number[]] => [
      `(i) ${c.items} x ${c.itemMs} ms C=${c.concurrency}`,
      c.waymark.eventsPerRun,
    ]),
    ...(results.orchestrationCost ?? []).map((c): [string, number[]] => [`(j) ${c.itemMs} ms C=${c.concurrency}`, c.waymark.eventsPerRun]),
    ...(results.adaptiveLanes
      ? (['inFlight', 'rate'] as const).flatMap((c): Array<[string, number[]]> => [
          [`(k) ${c} reference`, results.adaptiveLanes![c].referenceRun.eventsPerRun],
          [`(k) ${c} adaptive`, results.adaptiveLanes![c].adaptive.eventsPerRun],
        ])
      : []),
    ...(results.adaptiveLanes ? [['(k) halving', results.adaptiveLanes.halving.adaptive.eventsPerRun] as [string, number[]]] : []),
    ...(results.providerBatch?.cells ?? []).map((c): [string, number[]] => [`(l) ${c.provider}`, c.run.eventsPerRun]),
    ...(results.scaling?.cases ?? []).flatMap((c) =>
      c.runs.map((w): [string, number[]] => [`(e) ${c.label} k=${c.commitGroup} on ${w.workers} workers`, w.eventsPerRun]),
    ),
  ];
  return batches
    .filter(([, runs]) => runs.some((n) => n > results.eventsPerRunBudget))
    .map(([name, runs]) => `${name}: a run has ${Math.max(...runs)} events (budget ${results.eventsPerRunBudget})`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = args.smoke ? SMOKE_PLAN : FULL_PLAN;
  const root = findPackageRoot(__dirname);
  const out = args.out ?? (args.smoke ? path.join(os.tmpdir(), 'waymark-bench-smoke.md') : path.join(root, 'BENCHMARKS.md'));
  const notes = path.join(root, 'bench', 'notes.md');
  // Results of some sections only (`--only`) go into the report as it is; a whole run writes it anew.
  const write = (results: BenchResults): string => {
    fs.writeFileSync(
      out,
      results.only
        ? renderUpdate(results, fs.readFileSync(out, 'utf8'))
        : renderReport(results, fs.existsSync(notes) ? fs.readFileSync(notes, 'utf8') : undefined),
    );
    return results.only ? 'updated' : 'written';
  };
  if (args.from) {
    log(`report ${write(JSON.parse(fs.readFileSync(args.from, 'utf8')) as BenchResults)}: ${out} from ${args.from}`);
    return;
  }
  // Checked before measuring: a run of some sections only has a report to go into.
  if (args.only && !fs.existsSync(out)) {
    throw new Error(
      `--only puts its sections into an existing report, and ${out} does not exist: run the whole bench first, or name one with --out`,
    );
  }
  const results = await measure(plan, root, args.only);
  fs.mkdirSync(path.join(root, 'dist-bench'), { recursive: true });
  const saved = path.join(root, 'dist-bench', `results-${plan.mode}${args.only ? `-only-${[...args.only].join('')}` : ''}.json`);
  fs.writeFileSync(saved, JSON.stringify(results, null, 2));
  log(`report ${write(results)}: ${out} (${results.durationSeconds.toFixed(0)} s; results in ${saved})`);

  const violations = budgetViolations(results);
  for (const v of violations) console.error(`events budget exceeded: ${v}`);
  if (args.smoke) {
    if (violations.length > 0) process.exitCode = 1;
    else console.error(`bench smoke: every part ran; no workflow run had more than ${results.eventsPerRunBudget} events`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

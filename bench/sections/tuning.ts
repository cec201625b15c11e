/**
 * Tuning measurements: the ledger's write path, heartbeats, the source's read path, worker
 * options, and N (items per workflow run). Each is set against waymark at its defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchEnv } from '../bench-env';
import type { WorkerTuning } from '../bench-worker';
import { itemsFile } from '../items-file';
import { benchSpec, planWindowSeconds, sourceReadRate } from '../item-path';
import { ledgerCommitRate } from '../ledger-rate';
import { LEDGER_VARIANTS, ledgerVariantRate } from '../ledger-variants';
import { heartbeatCallMicros } from '../per-item/run-per-item';
import { runWaymarkBatch, type WaymarkRun, type WaymarkRunOptions } from '../run-waymark';
import { CPU_PROCESSOR } from '../cpu-processor';
import { DEFAULTS } from '../../src/contract/batch-spec';
import type { Throughput } from '../throughput';
import { log } from '../log';

export interface NamedRates {
  name: string;
  note: string;
  rates: Throughput[];
}

export interface NamedRuns {
  name: string;
  note: string;
  runs: WaymarkRun[];
}

export interface TuningResult {
  ledgerItems: number;
  ledger: NamedRates[];
  heartbeat: {
    callMicros: number;
    timeouts: NamedRuns[];
    starvation: { items: number; heartbeatTimeoutMs: number; run: WaymarkRun };
  };
  source: { items: number; jsonl: Throughput; text: Throughput; planWindowSeconds: number; checkpointEvery: number };
  worker: NamedRuns[];
  checkpointEvery: NamedRuns[];
  runItems: number;
}

export interface TuningPlan {
  ledgerItems: number;
  runItems: number;
  rounds: number;
  heartbeatProbeCalls: number;
  starvationItems: number;
  cpuIterations: number;
  checkpointEvery: number[];
}

const TMPFS = '/dev/shm';

export async function measureTuning(env: BenchEnv, plan: TuningPlan): Promise<TuningResult> {
  const shape = { items: plan.ledgerItems, sliceSize: DEFAULTS.sliceSize, commitGroup: 1, concurrency: DEFAULTS.concurrency };

  // The ledger's write path, k = 1, rounds interleaved across variants.
  const ledger: NamedRates[] = [
    {
      name: 'SqliteLedger.commit',
      note: 'the ledger as shipped: group commit, the commits due in one turn of the event loop in one transaction (temp dir on disk)',
      rates: [],
    },
    ...LEDGER_VARIANTS.map((v) => ({ name: v.name, note: v.note, rates: [] as Throughput[] })),
  ];
  const tmpfs = fs.existsSync(TMPFS) ? fs.mkdtempSync(path.join(TMPFS, 'waymark-bench-')) : undefined;
  if (tmpfs)
    ledger.push({ name: 'SqliteLedger.commit on tmpfs', note: `the ledger as shipped, file in ${TMPFS} (RAM): no disk at all`, rates: [] });
  try {
    for (let r = 0; r < plan.rounds; r++) {
      ledger[0].rates.push(await ledgerCommitRate(env.dir, shape));
      for (const [i, variant] of LEDGER_VARIANTS.entries()) ledger[i + 1].rates.push(await ledgerVariantRate(env.dir, shape, variant));
      if (tmpfs) ledger[ledger.length - 1].rates.push(await ledgerCommitRate(tmpfs, shape));
    }
  } finally {
    if (tmpfs) fs.rmSync(tmpfs, { recursive: true, force: true });
  }
  log('  ledger write path measured');

  const file = itemsFile(env.dir, plan.runItems);
  interface Case extends NamedRuns {
    spec: WaymarkRunOptions['spec'];
    worker?: WorkerTuning;
  }
  const caseOf = (name: string, note: string, spec: WaymarkRunOptions['spec'], worker?: WorkerTuning): Case => ({
    name,
    note,
    spec,
    worker,
    runs: [],
  });
  // Noop items at the defaults but for the one setting; rounds alternate the order of the cases.
  const interleave = async (cases: Case[]): Promise<NamedRuns[]> => {
    for (let r = 0; r < plan.rounds; r++) {
      const order = r % 2 === 0 ? cases : [...cases].reverse();
      for (const c of order)
        c.runs.push(await runWaymarkBatch(env, { file, items: plan.runItems, processor: 'noop', spec: c.spec, worker: c.worker }));
    }
    return cases.map(({ name, note, runs }) => ({ name, note, runs }));
  };

  // Heartbeats: what one call costs, what a short heartbeat timeout (beats every 333 ms instead
  // of every 5 s) costs, and whether a slice of synchronous CPU work still heartbeats in time.
  const callMicros = await heartbeatCallMicros(env, plan.heartbeatProbeCalls);
  const timeouts = await interleave([
    caseOf('heartbeatTimeoutMs 30000 (default)', 'heartbeat every 5 s', {}),
    caseOf('heartbeatTimeoutMs 1000', 'heartbeat every 333 ms', { heartbeatTimeoutMs: 1000 }),
  ]);
  const starvationTimeout = 2000;
  const starvationFile = itemsFile(env.dir, plan.starvationItems);
  const starvation = {
    items: plan.starvationItems,
    heartbeatTimeoutMs: starvationTimeout,
    run: await runWaymarkBatch(env, {
      file: starvationFile,
      items: plan.starvationItems,
      processor: CPU_PROCESSOR,
      options: { iterations: plan.cpuIterations },
      spec: { heartbeatTimeoutMs: starvationTimeout },
    }),
  };
  log(`  heartbeats measured (starvation probe: ${starvation.run.retriedSlices} of ${starvation.run.slices} slices retried)`);

  // The source's read path, without Temporal or ledger.
  const jsonlSpec = benchSpec(file, 'noop', undefined);
  const source = {
    items: plan.runItems,
    jsonl: await sourceReadRate(jsonlSpec, env.dir),
    text: await sourceReadRate(benchSpec(file, 'noop', undefined, {}, 'text'), env.dir),
    planWindowSeconds: await planWindowSeconds(jsonlSpec, env.dir),
    checkpointEvery: jsonlSpec.checkpointEvery,
  };
  log('  source read path measured');

  const slots = DEFAULTS.concurrency;
  const worker = await interleave([
    caseOf('SDK defaults', 'createWaymarkWorker as shipped', {}),
    caseOf(
      `maxConcurrentActivityTaskExecutions ${slots}`,
      'activity slots = C (SDK default 100)',
      {},
      { maxConcurrentActivityTaskExecutions: slots },
    ),
    caseOf('maxCachedWorkflows 10', 'a small sticky cache', {}, { maxCachedWorkflows: 10 }),
    caseOf('reuseV8Context false', 'one V8 context per workflow (SDK default true)', {}, { reuseV8Context: false }),
  ]);
  log('  worker options measured');

  const checkpointEvery = await interleave(
    plan.checkpointEvery.map((n) =>
      caseOf(`N ${n}${n === DEFAULTS.checkpointEvery ? ' (default)' : ''}`, `${Math.ceil(plan.runItems / n)} window(s)`, {
        checkpointEvery: n,
      }),
    ),
  );
  log('  N measured');

  return {
    ledgerItems: plan.ledgerItems,
    ledger,
    heartbeat: { callMicros, timeouts, starvation },
    source,
    worker,
    checkpointEvery,
    runItems: plan.runItems,
  };
}

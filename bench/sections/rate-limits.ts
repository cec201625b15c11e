/**
 * (h) Named rate limits (INVARIANTS.md I13): what the limiter costs an item on each ledger, with a
 * token per take (burst 0) and with tokens in blocks, far from the limit so that nothing waits;
 * and how closely a batch keeps to a limit: the rate it reaches after the first period against
 * the limit, and the most items started in any one period against limit + burst.
 */
import type { BenchEnv } from '../bench-env';
import type { BenchPostgres } from '../bench-postgres';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { itemsFile } from '../items-file';
import { log } from '../log';
import { Pacer } from '../../src/activities/pacer';
import type { RateLimits } from '../../src/ledger/rate-limits';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { PostgresLedger } from '../../src/ledger/postgres-ledger';
import { mostInAnyWindow, rateAfterFirstPeriod } from '../../tools/support/rate-windows';
import path from 'node:path';

export interface RateLimitsPlan {
  /** Items paced through the limiter alone, per ledger and burst. */
  items: number;
  bursts: number[];
  pacing: { items: number; limit: number; burst: number; concurrency: number; itemMs: number };
}

export interface LimiterCost {
  ledger: string;
  burst: number;
  items: number;
  takes: number;
  microsPerItem: number;
}

export interface PacingResult {
  limit: number;
  burst: number;
  concurrency: number;
  itemMs: number;
  waymark: WaymarkRun;
  /** Items started per second after the first second. */
  achieved: number;
  /** The most items started in any one second. */
  mostInASecond: number;
}

export interface RateLimitsResult {
  costs: LimiterCost[];
  pacing: PacingResult;
}

/**
 * The limit the cost is measured against, and the pace of the items: half of it, so that no item
 * waits and what is timed is the limiter's own work, and blocks have tokens to take.
 */
const COST_LIMIT_PER_SECOND = 1000;
const ITEM_EVERY_MS = (2 * 1000) / COST_LIMIT_PER_SECOND;

async function limiterCost(ledger: RateLimits, label: string, items: number, burst: number): Promise<LimiterCost> {
  let takes = 0;
  const counted: RateLimits = {
    takeTokens: (...args) => {
      takes++;
      return ledger.takeTokens(...args);
    },
    holdRateLimit: (...args) => ledger.holdRateLimit(...args),
    chargeUsage: (...args) => ledger.chargeUsage(...args),
    rateLimits: (...args) => ledger.rateLimits(...args),
  };
  const key = `bench-${label}-${burst}-${Date.now()}`;
  const pacer = new Pacer(counted, { key, limit: COST_LIMIT_PER_SECOND, per: 'second', burst, unit: 'items' }, 'bench');
  // The limiter is told the time (both clocks, its own and the ledger's): items come at half the
  // limit's pace whatever the ledger's speed, so none waits, and a slow ledger is not paced faster.
  const start = Date.now();
  const t0 = performance.now();
  for (let i = 0; i < items; i++) {
    const at = start + i * ITEM_EVERY_MS;
    const wait = await pacer.acquire(at, at);
    if (wait !== undefined) throw new Error(`the limiter made item ${i} wait ${wait.waitMs} ms at half its limit`);
  }
  const microsPerItem = ((performance.now() - t0) * 1000) / items;
  log(`  ${label}, burst ${burst}: ${microsPerItem.toFixed(1)} µs per item, ${takes} takes for ${items} items`);
  return { ledger: label, burst, items, takes, microsPerItem };
}

export async function measureRateLimits(env: BenchEnv, plan: RateLimitsPlan, pg: BenchPostgres | undefined): Promise<RateLimitsResult> {
  const costs: LimiterCost[] = [];
  const sqlite = new SqliteLedger(path.join(env.dir, `rate-limits-${Date.now()}.sqlite`));
  try {
    for (const burst of plan.bursts) costs.push(await limiterCost(sqlite, 'SQLite', plan.items, burst));
  } finally {
    await sqlite.close();
  }
  if (pg) {
    await pg.inFreshSchema(async (url) => {
      const ledger = await PostgresLedger.connect(url);
      try {
        for (const burst of plan.bursts) costs.push(await limiterCost(ledger, 'PostgreSQL', plan.items, burst));
      } finally {
        await ledger.close();
      }
    });
  }
  const p = plan.pacing;
  const waymark = await runWaymarkBatch(env, {
    file: itemsFile(env.dir, p.items),
    items: p.items,
    processor: 'sleep',
    options: { ms: p.itemMs },
    spec: { concurrency: p.concurrency, rateLimit: { key: `bench-pacing-${Date.now()}`, limit: p.limit, per: 'second', burst: p.burst } },
    startTimes: true,
  });
  const starts = waymark.startTimes!;
  const pacing = { ...p, waymark, achieved: rateAfterFirstPeriod(starts, 1000), mostInASecond: mostInAnyWindow(starts, 1000) };
  log(
    `  pacing at ${p.limit}/s, burst ${p.burst}: ${pacing.achieved.toFixed(1)} items/s after the first second, at most ${pacing.mostInASecond} in a second`,
  );
  return { costs, pacing };
}

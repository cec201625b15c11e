/**
 * `npm run demo:quota`: an enrichment batch against a rate-limited API, on the embedded default.
 * A small HTTP API on loopback (tools/support/quota-api-server.ts) allows 20 requests every 2 s
 * and answers 429 with Retry-After beyond that, and reports the tokens each answer used. The
 * first batch calls it as fast as its lanes go: it runs into the quota, waits what Retry-After
 * says (no attempt charged) and finishes. The second names a rate limit under the API's quota
 * and meets no 429 at all. Both print what their items used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateSpecForStart } from '../../src/cli/start-batch';
import { dataDir } from '../../src/settings';
import { formatUsage } from '../../src/workflows/details';
import { startQuotaApi } from '../support/quota-api-server';
import { printWhereToLook, runDemo, withDemoStage } from './demo-stage';

const USERS = 100;
/** The API's quota: 20 requests every 2 s, 10 a second. */
const API_CAPACITY = 20;
const API_PERIOD_MS = 2000;

async function main(): Promise<void> {
  // The worker runs in this process: the API key reaches the http processor from its environment, never from history.
  process.env.DEMO_API_TOKEN = 'demo';
  const api = await startQuotaApi({ capacity: API_CAPACITY, periodMs: API_PERIOD_MS, bearerToken: 'demo' });
  const users = path.join(dataDir(), 'demo-quota-users.jsonl');
  fs.mkdirSync(path.dirname(users), { recursive: true });
  fs.writeFileSync(users, Array.from({ length: USERS }, (_, i) => `${JSON.stringify({ id: `user-${i}` })}\n`).join(''));
  console.log(`API on ${api.url}: ${API_CAPACITY} requests every ${API_PERIOD_MS / 1000} s, 429 with Retry-After beyond`);
  try {
    const processor = {
      name: 'http',
      options: {
        url: `${api.url}/enrich/{id}`,
        headers: { Authorization: 'Bearer ${env:DEMO_API_TOKEN}' },
        resultPointer: '/score',
        usagePointer: '/usage',
      },
    };
    const stamp = Date.now();
    const runs = [
      { label: 'as fast as the lanes go', batchId: `demo-quota-${stamp}`, extra: {} },
      {
        label: 'under a rate limit of 9 a second',
        batchId: `demo-quota-limited-${stamp}`,
        extra: { rateLimit: { key: `demo-api-${stamp}`, limit: 9, per: 'second', burst: 1 } },
      },
    ];
    await withDemoStage(async (stage) => {
      for (const { label, batchId, extra } of runs) {
        // The API's quota full again, as for a batch started on its own.
        await new Promise((resolve) => setTimeout(resolve, API_PERIOD_MS));
        const before = api.requests.length;
        console.log('');
        console.log(`${USERS} users, ${label}:`);
        const spec = validateSpecForStart({ source: { kind: 'jsonl', path: users }, processor, concurrency: 4, sliceSize: 25, ...extra });
        const run = await stage.run(spec, batchId, users);
        const { summary } = run;
        const requests = api.requests.slice(before);
        console.log('');
        console.log(
          `done: ${summary.succeeded} enriched, ${summary.failed} in the compensating record, over ${(summary.durationMs / 1000).toFixed(1)} s`,
        );
        console.log(
          `      ${requests.length} requests, ${requests.filter((r) => r.status === 429).length} answered 429 (each a wait, no attempt charged), redone ${summary.redone}`,
        );
        console.log(`usage:     ${summary.usage ? formatUsage(summary.usage) : 'none reported'}`);
        printWhereToLook(run);
      }
    });
  } finally {
    await api.close();
  }
}

runDemo(main);

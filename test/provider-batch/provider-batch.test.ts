/**
 * openai-batch and anthropic-batch on the dev server against the loopback fakes of their APIs
 * (tools/support): every item one outcome, each in exactly one provider job unless an earlier job
 * ended without its result (INVARIANTS.md I17); results mapped by custom_id though the fakes
 * return them in reverse order; expiry with partial results; per-line errors by class; a job
 * refused at validation; 500s, 429s and a token limit on create; results that come late and a 404
 * just after a create.
 */
import type { BatchSummary } from '../../src/contract/messages';
import type { StoredOutcome } from '../../src/ledger/ledger';
import { startBatch, validateSpecForStart } from '../../src/cli/start-batch';
import { batchTag, customId } from '../../src/processors/provider-batch/custom-id';
import type { BatchFakeCore, BatchFakeOptions, FakeLineError } from '../../tools/support/batch-fake-core';
import { startOpenAiBatchFake } from '../../tools/support/openai-batch-fake';
import { startAnthropicBatchFake } from '../../tools/support/anthropic-batch-fake';
import { devServerSuite } from '../helpers/dev-server-suite';
import { allOutcomes } from '../helpers/ledger-rows';
import { FAKE_KEY, KEY_ENV, echoOf, jobsPerItem, providerSpec, writeItems, type Provider } from '../helpers/provider-batch';

const PROVIDERS: Provider[] = ['openai', 'anthropic'];
const closers: (() => Promise<void>)[] = [];

interface Ran {
  summary: BatchSummary;
  rows: StoredOutcome[];
  fake: BatchFakeCore;
  /** Jobs the fake created holding each item, by index. */
  jobs: number[];
}

describe('provider batch processors on the fakes', () => {
  const suite = devServerSuite('waymark-provider-batch-', { beforeTeardown: () => Promise.all(closers.map((close) => close())) });

  beforeAll(() => {
    for (const provider of PROVIDERS) process.env[KEY_ENV[provider]] = FAKE_KEY;
  });

  async function run(
    provider: Provider,
    batchId: string,
    items: number,
    fakeOptions: BatchFakeOptions,
    over: Parameters<typeof providerSpec>[3] = {},
    options: Record<string, unknown> = {},
  ): Promise<Ran> {
    const start = provider === 'openai' ? startOpenAiBatchFake : startAnthropicBatchFake;
    const fake = await start({ processingMs: 300, apiKey: FAKE_KEY, ...fakeOptions });
    closers.push(() => fake.close());
    const file = writeItems(suite.dir, `${batchId}.jsonl`, items);
    const spec = validateSpecForStart(providerSpec(provider, fake.baseUrl, file, over, options));
    const worker = await suite.worker(batchId);
    const summary = await worker.runUntil(async () => (await startBatch(suite.env.client, spec, batchId, batchId)).result());
    return { summary, rows: await allOutcomes(suite.ledger, batchId), fake: fake.core, jobs: jobsPerItem(fake.core, batchId, items) };
  }

  describe.each(PROVIDERS)('%s', (provider) => {
    const answerOf = (row: StoredOutcome) =>
      provider === 'openai'
        ? (row.result as { choices: { message: { content: string } }[] }).choices[0].message.content
        : (row.result as { content: { text: string }[] }).content[0].text;

    it('sends 20,000 items as jobs at the provider and commits each one outcome, its own answer, from exactly one job', async () => {
      const n = 20_000;
      const { summary, rows, fake, jobs } = await run(
        provider,
        `${provider}-20k`,
        n,
        {},
        { sliceSize: 5000, concurrency: 4, checkpointEvery: 20_000 },
        { pricePerMTok: { input: 1, output: 4 } },
      );
      expect(summary).toMatchObject({ status: 'completed', total: n, succeeded: n, failed: 0, pending: 0, redone: 0 });
      expect(rows.map((r) => r.index)).toEqual(Array.from({ length: n }, (_, i) => i));
      // The fake answers in reverse order: an item's answer is its own only if mapped by custom_id.
      for (const row of rows) expect(answerOf(row)).toBe(echoOf(row.index));
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      expect(jobs).toEqual(Array(n).fill(1));
      // Four slices of 5,000: four jobs, at the provider at once.
      expect(fake.jobs.map((j) => j.requests.length)).toEqual([5000, 5000, 5000, 5000]);
      // costUsd is the batch price: half of what the same tokens cost at the standard prices given.
      const input = provider === 'openai' ? 'prompt_tokens' : 'input_tokens';
      const output = provider === 'openai' ? 'completion_tokens' : 'output_tokens';
      const usage = summary.usage!;
      expect(usage.costUsd).toBeCloseTo(((usage[input] * 1 + usage[output] * 4) / 1e6) * 0.5, 9);
    }, 240_000);

    it('keeps the finished lines of an expired job and sends only the rest again, in a later job', async () => {
      const n = 400;
      const { summary, rows, fake, jobs } = await run(provider, `${provider}-expired`, n, { expireFraction: 0.25, expireJobs: 1 });
      expect(summary).toMatchObject({ status: 'completed', succeeded: n, failed: 0 });
      const first = new Set(fake.jobs[0].requests.map((r) => r.customId));
      const expired = new Set(fake.jobs[0].ended!.results.filter((r) => r.error === 'expired').map((r) => r.customId));
      expect(expired.size).toBe(25);
      const tag = batchTag(`${provider}-expired`);
      for (const row of rows) {
        const id = customId(tag, row.index);
        const twice = expired.has(id);
        expect([row.index, jobs[row.index], row.attempts]).toEqual([row.index, twice ? 2 : 1, twice ? 2 : 1]);
        expect(answerOf(row)).toBe(echoOf(row.index));
        if (!first.has(id)) expect(twice).toBe(false);
      }
      // The later job held the expired requests and nothing else of the first job.
      const later = fake.jobs.filter((j) => j.requests.some((r) => expired.has(r.customId)) && j !== fake.jobs[0]);
      expect(new Set(later.flatMap((j) => j.requests.map((r) => r.customId)).filter((id) => first.has(id)))).toEqual(expired);
    }, 120_000);

    it('classifies each error line: invalid requests fail at once, rate limits and server errors go again up to itemAttempts', async () => {
      const n = 300;
      // Item i: i % 50 == 1 invalid; == 2 rate limited in its first job only; == 3 a server error every time.
      const errorLine = (id: string, earlier: number): FakeLineError | undefined => {
        const i = Number(id.split('_')[2]) % 50;
        if (i === 1) return 'invalid';
        if (i === 2 && earlier === 0) return 'rate_limit';
        if (i === 3) return provider === 'openai' ? 'server' : 'overloaded';
        return undefined;
      };
      const { summary, rows, jobs } = await run(provider, `${provider}-errors`, n, { errorLine }, { itemAttempts: 3 });
      expect(summary).toMatchObject({ status: 'completed', succeeded: n - 12, failed: 12 });
      for (const row of rows) {
        const kind = row.index % 50;
        if (kind === 1) {
          expect(row).toMatchObject({
            status: 'failed',
            attempts: 1,
            errorType: provider === 'openai' ? 'openai-400' : 'anthropic-invalid_request_error',
          });
          expect(jobs[row.index]).toBe(1);
        } else if (kind === 2) {
          expect(row).toMatchObject({ status: 'succeeded', attempts: 2 });
          expect(jobs[row.index]).toBe(2);
        } else if (kind === 3) {
          expect(row).toMatchObject({
            status: 'failed',
            attempts: 3,
            errorType: provider === 'openai' ? 'openai-500' : 'anthropic-overloaded_error',
          });
          expect(row.errorMessage).toContain('in 3 jobs, itemAttempts 3');
          expect(jobs[row.index]).toBe(3);
        } else {
          expect(row).toMatchObject({ status: 'succeeded', attempts: 1 });
          expect(jobs[row.index]).toBe(1);
        }
      }
    }, 120_000);

    it('turns the lines a validation names into failure rows and sends the others again, uncharged', async () => {
      const n = 200;
      const rejectLine = (body: unknown) => {
        const text = JSON.stringify(body);
        return /"item (7|77|177)"/.test(text) ? 'messages.0.content: this request is not allowed' : undefined;
      };
      const { summary, rows, fake, jobs } = await run(provider, `${provider}-validation`, n, { rejectLine });
      expect(summary).toMatchObject({ status: 'completed', succeeded: n - 3, failed: 3 });
      const failed = rows.filter((r) => r.status === 'failed');
      expect(failed.map((r) => r.index)).toEqual([7, 77, 177]);
      for (const row of failed) expect(row.errorMessage).toContain('this request is not allowed');
      // The others were sent again, and their first (refused) job was not charged as an attempt.
      expect(rows.filter((r) => r.status === 'succeeded').every((r) => r.attempts === 1)).toBe(true);
      // OpenAI creates each job and fails those holding a refused line at validation (the slices of
      // 50 put 7, 77 and 177 in three jobs); Anthropic refuses the create: no job holds a refused line.
      const refusedJobs = fake.jobs.filter((j) => j.ended?.status === 'failed').length;
      expect(refusedJobs).toBe(provider === 'openai' ? 3 : 0);
      expect([7, 77, 177].map((i) => jobs[i])).toEqual(Array(3).fill(provider === 'openai' ? 1 : 0));
    }, 120_000);

    it('polls again when a job ended without its results yet and when it answers 404 just after its create: one job each', async () => {
      const n = 200;
      const { summary, rows, fake, jobs } = await run(provider, `${provider}-quirks`, n, { lateResultsPolls: 3, transient404Polls: 3 });
      expect(summary).toMatchObject({ status: 'completed', succeeded: n, failed: 0 });
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      expect(jobs).toEqual(Array(n).fill(1));
      // Each job was polled past its 404s and past the polls that showed no results.
      for (const job of fake.jobs) expect(job.polls).toBeGreaterThanOrEqual(3 + 3 + 1);
    }, 120_000);

    it('finds a job whose create answered 500 after making it, and sends again one that was never made: one job each', async () => {
      const n = 200;
      const made = await run(provider, `${provider}-500-made`, n, { createFailures: 2, createdAnyway: true });
      expect(made.summary).toMatchObject({ status: 'completed', succeeded: n });
      expect(made.jobs).toEqual(Array(n).fill(1));
      const lost = await run(provider, `${provider}-500-lost`, n, { createFailures: 2 });
      expect(lost.summary).toMatchObject({ status: 'completed', succeeded: n });
      expect(lost.jobs).toEqual(Array(n).fill(1));
    }, 180_000);

    it('waits out a 429 on create as a quota wait, no attempt charged', async () => {
      const n = 100;
      const { summary, rows, jobs } = await run(provider, `${provider}-429`, n, { createQuotas: 2 });
      expect(summary).toMatchObject({ status: 'completed', succeeded: n });
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
      expect(jobs).toEqual(Array(n).fill(1));
    }, 120_000);
  });

  it('openai: a job refused at its enqueued-token limit is a quota wait; its items go again, uncharged', async () => {
    const n = 100;
    const { summary, rows, fake, jobs } = await run('openai', 'openai-token-limit', n, { tokenLimitOnce: true }, { concurrency: 1 });
    expect(summary).toMatchObject({ status: 'completed', succeeded: n });
    expect(fake.jobs[0].ended?.status).toBe('failed');
    // The refused job ended without running them: the next one is their first attempt.
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(jobs).toEqual(Array(n).fill(2));
  }, 120_000);
});

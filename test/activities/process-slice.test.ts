/**
 * processSlice in a mocked activity context (no Temporal server): a real SQLite ledger and a
 * real source file in a temp dir, with test processors that record how they were called.
 * Each case checks what a user sees after a run: which items a processor ran on, the ledger
 * rows, the tally, the heartbeats, and what a later run of the same slice does.
 */
import path from 'node:path';
import fs from 'node:fs';
import { ActivityCancellationDetails, CancelledFailure } from '@temporalio/common';
import { LeaseLostError, type InFlight, type Ledger, type OutcomeToCommit } from '../../src/ledger/ledger';
import {
  defineProcessor,
  NonRetryableItemError,
  QuotaExhaustedError,
  type ProcessorContext,
  type ProcessorFn,
} from '../../src/processors/processor';
import { registerProcessor } from '../../src/processors/registry';
import { execProcessor } from '../../src/processors/exec';
import { parseBatchSpec } from '../../src/contract/batch-spec';
import { waitFor } from '../helpers/wait-for';
import { rejectionOf } from '../helpers/rejection';
import { sliceHarness, makeSpec, range, endOf, succeeded } from '../helpers/slice-harness';
import type { SliceHeartbeat } from '../../src/contract/slices';

const slices = sliceHarness();
const { writeSource, textSource, sliceOf, rows, startSlice } = slices;

// ---------------------------------------------------------------------------------------------
// Helpers

/** Processors live in a process-wide registry: a fresh name per test keeps tests independent. */
let processorCount = 0;

interface Recorder {
  name: string;
  calls: ProcessorContext[];
  /** Indexes in call order, one entry per attempt. */
  indexes(): number[];
}

/** Registers a processor that records every call, then does `behaviour` (default: upper-case the text). */
function recordingProcessor(behaviour?: ProcessorFn): Recorder {
  const name = `process-slice-test-${++processorCount}`;
  const calls: ProcessorContext[] = [];
  registerProcessor(
    name,
    defineProcessor((item, ctx) => {
      calls.push(ctx);
      return behaviour ? behaviour(item, ctx) : Promise.resolve(String(item).toUpperCase());
    }),
  );
  return { name, calls, indexes: () => calls.map((c) => c.index) };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// ---------------------------------------------------------------------------------------------

describe('processSlice: where a retried attempt resumes', () => {
  it('resumes at the heartbeat cursor the ledger confirms: earlier items are not processed again', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(120), proc.name, { sliceSize: 40, checkpointEvery: 120 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'hb-resume';
    const resumeAt = slice.start + 37;
    // What a previous attempt leaves when it dies right after a commit and its heartbeat.
    await slices.ledger.commit(
      batchId,
      slice.start,
      range(slice.start, resumeAt).map((i) => succeeded(i, `previous-${i}`)),
      resumeAt,
    );

    const attempt = startSlice(batchId, spec, slice, { heartbeatDetails: { cursor: resumeAt } });
    const result = await attempt.result;

    expect(proc.indexes()).toEqual(range(resumeAt, end));
    // redone 1: the previous attempt's in-flight item counts as redone, and nothing else does.
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 1, heartbeats: expect.any(Number) } });
    // The first beat of the new attempt already carries the resumed cursor: a crash right away
    // must not send the next attempt back to the slice start. And the slice's committed tally,
    // the previous attempt's items included: what status shows while the slice runs (I12).
    expect(attempt.heartbeats[0]).toEqual({ cursor: resumeAt, sliceStart: slice.start, succeeded: 37, failed: 0, redone: 1, lanes: 0 });
    expect(attempt.warnings).toEqual([]);
  });

  it('redoes rather than skips items a heartbeat cursor claims but the ledger does not hold', async () => {
    // The ledger is the truth (src/activities/slice-session.ts): a heartbeat cursor ahead of it
    // means the ledger lost its last commits, and skipping to the cursor would leave those
    // items with no outcome at all.
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(120), proc.name, { sliceSize: 40, checkpointEvery: 120 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'hb-ahead';

    const attempt = startSlice(batchId, spec, slice, { heartbeatDetails: { cursor: slice.start + 37 } });
    const result = await attempt.result;

    expect(proc.indexes()).toEqual(range(slice.start, end));
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(await slices.ledger.committedIndexes(batchId, slice.start, end)).toEqual(range(slice.start, end));
    // An operator must be told, since it means commits were lost.
    expect(attempt.warnings).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: expect.stringContaining('heartbeat cursor is ahead of the ledger'),
        meta: expect.objectContaining({ heartbeat: slice.start + 37, ledger: slice.start }),
      }),
    ]);
  });

  it('skips what the ledger holds even when the heartbeat cursor is older, and leaves those outcomes untouched', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(120), proc.name, { sliceSize: 40, checkpointEvery: 120 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'ledger-resume';
    // A previous attempt committed the first 20 items and then died before its heartbeat got
    // through; one item further on (a redrive, say) is committed too, so the skip cannot be a
    // mere "first uncommitted index".
    const previous = range(slice.start, slice.start + 20).map((i) => succeeded(i, `previous-${i}`, 2));
    const hole = slice.start + 25;
    const previousFailure: OutcomeToCommit = {
      index: hole,
      status: 'failed',
      errorType: 'earlier',
      errorMessage: 'from before',
      attempts: 3,
      startedAt: 5,
      finishedAt: 6,
    };
    await slices.ledger.commit(batchId, slice.start, [...previous, previousFailure], null);
    const before = await rows(batchId);

    const result = await startSlice(batchId, spec, slice, { heartbeatDetails: { cursor: slice.start + 3 } }).result;

    expect(proc.indexes()).toEqual(range(slice.start + 20, end).filter((i) => i !== hole));
    const after = await rows(batchId);
    expect(after.filter((r) => r.index < slice.start + 20 || r.index === hole)).toEqual(before);
    expect(after.map((r) => r.index)).toEqual(range(slice.start, end));
    expect(result).toEqual({
      outcome: 'done',
      tally: { succeeded: slice.count - 1, failed: 1, redone: 0, failedByType: { earlier: 1 }, heartbeats: expect.any(Number) },
    });
  });
});

describe('processSlice: interrupted attempts', () => {
  it('counts the item a dead attempt left in flight as redone once, and processes it again', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(120), proc.name, { sliceSize: 40, checkpointEvery: 120 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'interrupted';
    const k = slice.start + 5;
    // What a worker killed mid-item leaves: items before k committed, k marked in flight, no outcome for k.
    await slices.ledger.commit(
      batchId,
      slice.start,
      range(slice.start, k).map((i) => succeeded(i, i)),
      k,
    );

    const result = await startSlice(batchId, spec, slice).result;

    expect(proc.indexes()).toEqual(range(k, end));
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 1, heartbeats: expect.any(Number) } });
    // A finished slice leaves no marker, so running it again (a duplicate delivery) counts nothing more.
    expect(await slices.ledger.inFlight(batchId, slice.start)).toBeNull();
    const again = await startSlice(batchId, spec, slice).result;
    expect(again).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 1, heartbeats: expect.any(Number) } });
    expect(proc.indexes()).toEqual(range(k, end));
  });

  it('counts no redone item when the in-flight item was committed before the attempt died', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(120), proc.name, { sliceSize: 40, checkpointEvery: 120 });
    const slice = await sliceOf(spec, 1);
    const batchId = 'interrupted-after-commit';
    const k = slice.start + 5;
    await slices.ledger.commit(
      batchId,
      slice.start,
      range(slice.start, k + 1).map((i) => succeeded(i, i)),
      null,
    );
    await slices.ledger.markInFlight(batchId, slice.start, k);

    const result = await startSlice(batchId, spec, slice).result;

    expect(proc.indexes()).toEqual(range(k + 1, endOf(slice)));
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
  });
});

describe('processSlice: failed items go to the compensating record and the slice goes on', () => {
  it('routes retryable, non-retryable and unparseable items to failure rows with their attempts and type', async () => {
    const lines = ['{"n":0}', '{"n":1,"fail":"always"}', '{"n":2}', '', '{"n":4,"fail":"bad-data"}', '{"n":5}'];
    const proc = recordingProcessor(async (item) => {
      const { n, fail } = item as { n: number; fail?: string };
      if (fail === 'always') throw new Error(`downstream refused item ${n}`);
      if (fail === 'bad-data') throw new NonRetryableItemError(`item ${n} can never work`, 'bad-data');
      return { doubled: n * 2 };
    });
    const spec = makeSpec(writeSource('items.jsonl', lines), proc.name, { sliceSize: 6, checkpointEvery: 6, itemAttempts: 3 });
    const slice = await sliceOf(spec, 0);

    const result = await startSlice('failures', spec, slice).result;

    expect(result).toEqual({
      outcome: 'done',
      tally: { succeeded: 3, failed: 3, redone: 0, failedByType: { Error: 1, parse: 1, 'bad-data': 1 }, heartbeats: expect.any(Number) },
    });
    const byIndex = (await rows('failures')).map((r) => ({
      index: r.index,
      status: r.status,
      result: r.result,
      errorType: r.errorType,
      errorMessage: r.errorMessage,
      attempts: r.attempts,
    }));
    expect(byIndex).toEqual([
      { index: 0, status: 'succeeded', result: { doubled: 0 }, errorType: undefined, errorMessage: undefined, attempts: 1 },
      { index: 1, status: 'failed', result: undefined, errorType: 'Error', errorMessage: 'downstream refused item 1', attempts: 3 },
      { index: 2, status: 'succeeded', result: { doubled: 4 }, errorType: undefined, errorMessage: undefined, attempts: 1 },
      {
        index: 3,
        status: 'failed',
        result: undefined,
        errorType: 'parse',
        errorMessage: expect.stringContaining('line 4 is empty'),
        attempts: 0,
      },
      { index: 4, status: 'failed', result: undefined, errorType: 'bad-data', errorMessage: 'item 4 can never work', attempts: 1 },
      { index: 5, status: 'succeeded', result: { doubled: 10 }, errorType: undefined, errorMessage: undefined, attempts: 1 },
    ]);
    // Attempts in the rows are the attempts actually made; the unparseable line never reached the processor.
    expect(proc.indexes()).toEqual([0, 1, 1, 1, 2, 4, 5]);
  });

  it('fails the slice non-retryably, spending no attempts and writing no failure rows, when exec cannot start its program mid-batch', async () => {
    // The program was there when the batch was planned and is gone now (removed, or absent on this worker).
    const program = path.join(slices.dir, 'enrich.sh');
    fs.writeFileSync(program, '#!/bin/sh\ncat\n', { mode: 0o755 });
    const spec = parseBatchSpec({
      source: { kind: 'text', path: textSource(6) },
      processor: { name: 'exec', options: { command: [program] } },
      sliceSize: 6,
      checkpointEvery: 6,
      itemAttempts: 3,
      itemBackoffMs: 10_000,
    });
    const slice = await sliceOf(spec, 0);
    expect(() => execProcessor.checkCanStart?.({ command: [program] })).not.toThrow();
    fs.rmSync(program);

    const startedAt = Date.now();
    const err = await rejectionOf(startSlice('gone-program', spec, slice).result, 'the slice to fail');
    // No backoff of 10 s between attempts: the first spawn that fails so stops the slice.
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(err).toMatchObject({ name: 'ApplicationFailure', type: 'ProcessorCannotStartError', nonRetryable: true });
    expect(err.message).toContain(`processor "exec" cannot start "${program}"`);
    expect(err.message).toContain(`${program} does not exist (ENOENT)`);
    expect(err.message).toContain('Fix command[0] in processor.options');
    expect(await rows('gone-program')).toEqual([]);
  });

  // 5 s limit: if the per-item timeout broke, the slice would hang on the item; fail in seconds, not minutes.
  it('fails an item that never finishes with a timeout row, keeps heartbeating while it hangs, and goes on', async () => {
    const hanging = 2;
    let hangingNow = false;
    const proc = recordingProcessor((item, ctx) => {
      if (ctx.index === hanging) {
        hangingNow = true;
        // Ignores its abort signal on purpose: the slice must not wait for a processor to cooperate.
        return new Promise(() => {});
      }
      hangingNow = false;
      return Promise.resolve(item);
    });
    const spec = makeSpec(textSource(5), proc.name, { sliceSize: 5, checkpointEvery: 5, itemTimeoutMs: 200, itemAttempts: 3 });
    const slice = await sliceOf(spec, 0);
    const beatsWhileHanging: SliceHeartbeat[] = [];

    // heartbeatTimeoutMs 600: the activity beats every 200 ms, so the ~600 ms the item hangs
    // over its three attempts span at least two beats.
    const attempt = startSlice('timeout', spec, slice, { heartbeatTimeoutMs: 600 });
    attempt.env.on('heartbeat', (details: SliceHeartbeat) => {
      if (hangingNow) beatsWhileHanging.push(details);
    });
    const result = await attempt.result;

    expect(result).toEqual({
      outcome: 'done',
      tally: { succeeded: 4, failed: 1, redone: 0, failedByType: { timeout: 1 }, heartbeats: expect.any(Number) },
    });
    const timedOut = (await rows('timeout'))[hanging];
    expect(timedOut).toMatchObject({ status: 'failed', errorType: 'timeout', attempts: 3 });
    expect(timedOut.errorMessage).toContain('itemTimeoutMs');
    expect(proc.indexes()).toEqual([0, 1, 2, 2, 2, 3, 4]);
    // Without these beats Temporal would declare a slow item's slice lost; they carry the item
    // being worked on as the resume point, and the slice's committed tally so far.
    expect(beatsWhileHanging.length).toBeGreaterThanOrEqual(2);
    expect(beatsWhileHanging).toEqual(
      beatsWhileHanging.map(() => ({
        cursor: hanging,
        sliceStart: slice.start,
        succeeded: hanging - slice.start,
        failed: 0,
        redone: 0,
        lanes: 1,
      })),
    );
  }, 5_000);

  it('times each item from its own start: items that each take most of the timeout all succeed', async () => {
    // One timer serves the whole slice; were it to fire on an earlier item's deadline, the second
    // item would be cut off 80 ms into its 120.
    const proc = recordingProcessor(async (item) => {
      await new Promise((resolve) => setTimeout(resolve, 120));
      return item;
    });
    const spec = makeSpec(textSource(4), proc.name, { sliceSize: 4, checkpointEvery: 4, itemTimeoutMs: 200, itemAttempts: 1 });
    const result = await startSlice('own-deadline', spec, await sliceOf(spec, 0)).result;

    expect(result).toEqual({ outcome: 'done', tally: { succeeded: 4, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
    expect(proc.indexes()).toEqual([0, 1, 2, 3]);
  });

  it('gives a processor that looks at its signal only after the timeout an already aborted signal with the timeout as reason', async () => {
    let seen: { aborted: boolean; reason: unknown } | undefined;
    const proc = recordingProcessor(async (item, ctx) => {
      // Busy elsewhere past the timeout, then asks whether to stop: the answer must be yes.
      await new Promise((resolve) => setTimeout(resolve, 150));
      seen = { aborted: ctx.signal.aborted, reason: ctx.signal.reason };
      return item;
    });
    const spec = makeSpec(textSource(1), proc.name, { sliceSize: 1, checkpointEvery: 1, itemTimeoutMs: 50, itemAttempts: 1 });
    const result = await startSlice('late-signal', spec, await sliceOf(spec, 0)).result;

    expect(result.tally).toMatchObject({ succeeded: 0, failed: 1, failedByType: { timeout: 1 } });
    await waitFor('the processor to look at its signal', async () => seen !== undefined, 2000);
    expect(seen!.aborted).toBe(true);
    expect((seen!.reason as Error).message).toContain('item did not finish within 50 ms');
  });
});

describe('processSlice: quota', () => {
  // k=3: the quota lands on a group boundary, nothing pending, but the in-flight marker must be
  // cleared; k=4: the item before it is processed but not committed and must be committed too.
  it.each([3, 4])(
    'stops cleanly before the item that hit the quota, commits what came before, and charges it no attempt (k=%i)',
    async (commitGroup) => {
      let quotaLeft = false;
      const proc = recordingProcessor(async (item, ctx) => {
        if (ctx.index === quotaAt && !quotaLeft) throw new QuotaExhaustedError(400);
        return item;
      });
      const spec = makeSpec(textSource(40), proc.name, { sliceSize: 20, checkpointEvery: 40, commitGroup });
      const slice = await sliceOf(spec, 1);
      const end = endOf(slice);
      const batchId = `quota-${commitGroup}`;
      const quotaAt = slice.start + 9;

      const first = await startSlice(batchId, spec, slice).result;

      expect(first).toEqual({
        outcome: 'quota',
        retryAfterMs: 400,
        nextIndex: quotaAt,
        tally: { succeeded: 9, failed: 0, redone: 0, heartbeats: expect.any(Number) },
      });
      expect(await slices.ledger.committedIndexes(batchId, slice.start, end)).toEqual(range(slice.start, quotaAt));
      // A quota stop is not an interruption: nothing is left in flight to be counted as redone.
      expect(await slices.ledger.inFlight(batchId, slice.start)).toBeNull();
      // The quota item was tried once, not retried up to itemAttempts.
      expect(proc.indexes()).toEqual(range(slice.start, quotaAt + 1));

      // The hold reaches the batch's other slices through the ledger: one started during it stops at once.
      const other = await sliceOf(spec, 0);
      const held = await startSlice(batchId, spec, other).result;
      expect(held).toMatchObject({ outcome: 'quota', nextIndex: other.start, tally: { succeeded: 0 } });
      expect(proc.indexes()).toEqual(range(slice.start, quotaAt + 1));

      // After the wait (the workflow's durable timer), the slice runs on.
      await new Promise((resolve) => setTimeout(resolve, 450));
      quotaLeft = true;
      proc.calls.length = 0;
      const second = await startSlice(batchId, spec, slice).result;

      expect(second).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
      expect(proc.indexes()).toEqual(range(quotaAt, end));
      expect(proc.calls[0].attempt).toBe(1);
      expect((await rows(batchId)).every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    },
  );
});

describe('processSlice: cancellation', () => {
  it('on cancel, rejects with CancelledFailure, keeps every finished item and commits nothing half-done', async () => {
    const started = deferred();
    let blockAt: number | undefined;
    const proc = recordingProcessor(async (item, ctx) => {
      if (ctx.index === blockAt) {
        started.resolve();
        // A well-behaved long item: it stops when its signal says so.
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }));
      }
      return String(item).toUpperCase();
    });
    // commitGroup 3: when the cancel lands, the item before the blocked one is processed but
    // not yet committed; it must be committed on the way out, not thrown away.
    const spec = makeSpec(textSource(40), proc.name, { sliceSize: 20, checkpointEvery: 40, commitGroup: 3 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'cancel';
    blockAt = slice.start + 4;

    const attempt = startSlice(batchId, spec, slice);
    await started.promise;
    attempt.env.cancel();

    await expect(attempt.result).rejects.toBeInstanceOf(CancelledFailure);
    const committed = await rows(batchId);
    expect(committed.map((r) => r.index)).toEqual(range(slice.start, blockAt));
    for (const row of committed) {
      expect(row).toMatchObject({ status: 'succeeded', result: `ITEM-${row.index}`, attempts: 1 });
      expect(row.finishedAt).toBeGreaterThanOrEqual(row.startedAt);
    }
    // The item cut short stays marked, so the run that resumes the slice counts its redo.
    expect(await slices.ledger.inFlight(batchId, slice.start)).toBe(blockAt);

    // A later run (a new activity attempt: the cancelled context stays cancelled) picks up at
    // the item cut short, redoes it (one redone item), and does not count it as a crash.
    blockAt = undefined;
    proc.calls.length = 0;
    const later = await startSlice(batchId, spec, slice).result;
    expect(later).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 1, heartbeats: expect.any(Number) } });
    expect(proc.indexes()).toEqual(range(slice.start + 4, end));
    expect(await slices.ledger.interruptedIndexes(batchId, slice.start, end)).toEqual([]);
  });

  it('does not turn the item it cut short into a failure row, whatever error the processor rejects with', async () => {
    const started = deferred();
    const blockAt = 3;
    const proc = recordingProcessor((item, ctx) => {
      if (ctx.index !== blockAt) return Promise.resolve(item);
      started.resolve();
      // A processor that reports the abort with an error of its own, straight from the signal
      // listener (a plain promise, no async wrapper): that error must not be mistaken for the
      // item failing, or a cancelled batch would leave a failure row no retry ever revisits.
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('request aborted')), { once: true }));
    });
    const spec = makeSpec(textSource(10), proc.name, { sliceSize: 10, checkpointEvery: 10, itemAttempts: 1 });
    const slice = await sliceOf(spec, 0);
    const batchId = 'cancel-own-error';

    const attempt = startSlice(batchId, spec, slice);
    await started.promise;
    attempt.env.cancel();

    await expect(attempt.result).rejects.toBeInstanceOf(CancelledFailure);
    expect(await slices.ledger.committedIndexes(batchId, 0, 10)).toEqual([0, 1, 2]);
  });

  it('on worker shutdown, lets the running item finish and commits it before stopping', async () => {
    const started = deferred();
    const release = deferred();
    let signalAborted: boolean | undefined;
    const proc = recordingProcessor(async (item, ctx) => {
      if (ctx.index === 4) {
        started.resolve();
        await release.promise;
        signalAborted = ctx.signal.aborted;
      }
      return item;
    });
    const spec = makeSpec(textSource(10), proc.name, { sliceSize: 10, checkpointEvery: 10 });
    const slice = await sliceOf(spec, 0);
    const batchId = 'shutdown';

    const attempt = startSlice(batchId, spec, slice);
    await started.promise;
    attempt.env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    release.resolve();

    await expect(attempt.result).rejects.toBeInstanceOf(CancelledFailure);
    // The item was not aborted, it finished and is committed; nothing after it was started, so
    // the slice resumes on another worker with nothing to redo.
    expect(signalAborted).toBe(false);
    expect(await slices.ledger.committedIndexes(batchId, 0, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(proc.indexes()).toEqual([0, 1, 2, 3, 4]);
    expect(await slices.ledger.inFlight(batchId, slice.start)).toBeNull();
  });
});

describe('processSlice: a superseded attempt', () => {
  it("stops an attempt the server gave up on at its next commit, leaving the newer attempt's state alone", async () => {
    // A worker cut off from the server keeps running its attempt while Temporal retries the
    // slice elsewhere; the old attempt must not keep processing or rewrite the slice's marker.
    const started = deferred();
    const release = deferred();
    let blockOnce = true;
    const proc = recordingProcessor(async (item, ctx) => {
      if (ctx.index === blockAt && blockOnce) {
        blockOnce = false;
        started.resolve();
        await release.promise;
      }
      return String(item).toUpperCase();
    });
    const spec = makeSpec(textSource(20), proc.name, { sliceSize: 10, checkpointEvery: 20 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'superseded';
    const blockAt = slice.start + 4;

    const stale = startSlice(batchId, spec, slice);
    await started.promise;
    const newer = await startSlice(batchId, spec, slice).result;
    release.resolve();

    await expect(stale.result).rejects.toBeInstanceOf(LeaseLostError);
    // The newer attempt redid the item the stale one had in flight, and nothing more was run after.
    expect(newer).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 1, heartbeats: expect.any(Number) } });
    expect(proc.indexes()).toEqual([...range(slice.start, blockAt + 1), ...range(blockAt, end)]);
    expect(await slices.ledger.inFlight(batchId, slice.start)).toBeNull();
    expect((await rows(batchId)).map((r) => r.index)).toEqual(range(slice.start, end));
  });
});

describe('processSlice: what the processor sees', () => {
  it('passes a stable idempotency key, attempt numbers from 1 and the spec options', async () => {
    const options = { greeting: 'hej', nested: { n: 2 } };
    const proc = recordingProcessor(async (item, ctx) => {
      if (ctx.index === slice.start + 1 && ctx.attempt < 3) throw new Error(`flaky on attempt ${ctx.attempt}`);
      return item;
    });
    const spec = makeSpec(textSource(10), proc.name, { sliceSize: 5, checkpointEvery: 10, itemAttempts: 3 });
    const withOptions = { ...spec, processor: { ...spec.processor, options } };
    const slice = await sliceOf(spec, 1);
    const batchId = 'ctx-batch';

    await startSlice(batchId, withOptions, slice).result;

    const seen = proc.calls.map((c) => ({ batchId: c.batchId, index: c.index, attempt: c.attempt, key: c.idempotencyKey }));
    const s = slice.start;
    expect(seen).toEqual([
      { batchId, index: s, attempt: 1, key: `${batchId}:${s}` },
      { batchId, index: s + 1, attempt: 1, key: `${batchId}:${s + 1}` },
      { batchId, index: s + 1, attempt: 2, key: `${batchId}:${s + 1}` },
      { batchId, index: s + 1, attempt: 3, key: `${batchId}:${s + 1}` },
      { batchId, index: s + 2, attempt: 1, key: `${batchId}:${s + 2}` },
      { batchId, index: s + 3, attempt: 1, key: `${batchId}:${s + 3}` },
      { batchId, index: s + 4, attempt: 1, key: `${batchId}:${s + 4}` },
    ]);
    for (const ctx of proc.calls) {
      expect(ctx.options).toEqual(options);
      expect(ctx.file).toBeUndefined();
    }
    expect((await rows(batchId)).find((r) => r.index === s + 1)).toMatchObject({ status: 'succeeded', attempts: 3 });
  });
});

describe('processSlice: commit groups', () => {
  it('commits k=5 outcomes per transaction, the last group short, each item exactly once, each group marking the next in flight', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, commitGroup: 5 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'groups';

    // Record each commit as it arrives; copies, because the caller may reuse its array afterwards.
    const commits: { indexes: number[]; inFlight: InFlight }[] = [];
    const marks: InFlight[] = [];
    const recording: Ledger = Object.create(slices.ledger, {
      commit: {
        value: (...args: Parameters<Ledger['commit']>) => {
          const [, , outcomes, inFlight] = args;
          commits.push({ indexes: outcomes.map((o) => o.index), inFlight });
          return slices.ledger.commit(...args);
        },
      },
      markInFlight: {
        value: (...args: Parameters<Ledger['markInFlight']>) => {
          marks.push(args[2]);
          return slices.ledger.markInFlight(...args);
        },
      },
    });

    const result = await startSlice(batchId, spec, slice, {}, recording).result;

    const s = slice.start;
    // The first group is marked before it starts; each group's commit marks the next group, and
    // the last leaves nothing in flight. The in-flight range starts at the first item the attempt marked.
    expect(commits).toEqual([
      { indexes: [], inFlight: { from: s, to: s + 5 } },
      { indexes: range(s, s + 5), inFlight: { from: s, to: s + 10 } },
      { indexes: range(s + 5, s + 10), inFlight: { from: s, to: s + 15 } },
      { indexes: range(s + 10, s + 15), inFlight: { from: s, to: s + 20 } },
      { indexes: range(s + 15, s + 20), inFlight: { from: s, to: end } },
      { indexes: range(s + 20, end), inFlight: null },
    ]);
    expect(marks).toEqual([]);
    const all = commits.flatMap((c) => c.indexes);
    expect(new Set(all).size).toBe(all.length);
    expect((await rows(batchId)).map((r) => r.index)).toEqual(range(s, end));
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 0, heartbeats: expect.any(Number) } });
  });

  it('counts every item of the open commit group a dead attempt left as redone, since it may have run them all', async () => {
    const proc = recordingProcessor();
    const spec = makeSpec(textSource(46), proc.name, { sliceSize: 23, checkpointEvery: 46, commitGroup: 5 });
    const slice = await sliceOf(spec, 1);
    const end = endOf(slice);
    const batchId = 'groups-interrupted';
    const s = slice.start;
    // Two groups committed, the third open (marked from the attempt's first item) when the worker died.
    await slices.ledger.claimSlice(batchId, s, 'dead-attempt');
    await slices.ledger.commit(
      batchId,
      s,
      range(s, s + 10).map((i) => succeeded(i, i)),
      { from: s, to: s + 15 },
      'dead-attempt',
    );

    const result = await startSlice(batchId, spec, slice).result;

    expect(proc.indexes()).toEqual(range(s + 10, end));
    expect(result).toEqual({ outcome: 'done', tally: { succeeded: slice.count, failed: 0, redone: 5, heartbeats: expect.any(Number) } });
    // Any of the group's items may have been the one in flight: each is charged the crash, runs
    // like any item while one more crash would not dead-letter it, and alone once it would.
    expect(await slices.ledger.interruptedIndexes(batchId, s, end)).toEqual(range(s + 10, s + 15));
  });
});

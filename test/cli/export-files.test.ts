/**
 * `waymark export` as a user runs it, on a batch that stopped early: results, failures and
 * pending items each in a file of its own, and manifest.json listing them with their counts
 * (like Step Functions' ResultWriter), as JSON lines and as CSV, byte for byte.
 *
 * Export reads only the ledger, so no server is needed: the ledger is filled directly and the
 * manifest is written by the real `finalize` activity, which computes the pending ranges.
 */
import fs from 'node:fs';
import path from 'node:path';
import { finalize } from '../../src/activities/finalize';
import type { BatchManifest } from '../../src/contract/activity-io';
import type { OutcomeToCommit } from '../../src/ledger/ledger';
import { openLedger } from '../../src/ledger/open-ledger';
import { parseBatchSpec } from '../../src/contract/batch-spec';
import { makeRealTempDir, runCli, type CliRun } from './run-cli';

const NO_SERVER = '127.0.0.1:1';
const BATCH = 'stopped-early';

const succeeded = (index: number, result: unknown): OutcomeToCommit => ({
  index,
  status: 'succeeded',
  ...(result === undefined ? {} : { resultJson: JSON.stringify(result) }),
  attempts: 1,
  startedAt: 1000,
  finishedAt: 1001,
});

describe('waymark export writes SUCCEEDED, FAILED and PENDING files and a manifest listing them', () => {
  let dir: string;
  let manifest: BatchManifest;
  const waymark = (...args: string[]): Promise<CliRun> =>
    runCli(args, { cwd: dir, env: { TEMPORAL_ADDRESS: NO_SERVER, WAYMARK_DATA_DIR: path.join(dir, 'data') } });
  const read = (out: string, file: string) => fs.readFileSync(path.join(dir, out, file), 'utf8');

  beforeAll(async () => {
    dir = makeRealTempDir('waymark-cli-export-');
    const ledger = openLedger(path.join(dir, 'data'));
    try {
      // 10 items: 0-2 and 6 succeeded, 3 failed, 4-5 and 7-9 have no outcome (the batch stopped).
      await ledger.commit(
        BATCH,
        0,
        [
          succeeded(0, 'plain text, with a comma'),
          { ...succeeded(1, { word: 'aa', length: 2 }), usage: { tokens: 12, costUsd: 0.5 } },
          succeeded(2, 42),
        ],
        null,
      );
      await ledger.commit(
        BATCH,
        0,
        [
          {
            index: 3,
            status: 'failed',
            errorType: 'exec-data-error',
            errorMessage: 'bad "data"\nsecond line',
            attempts: 1,
            usage: { tokens: 3 },
            startedAt: 1000,
            finishedAt: 1002,
          },
        ],
        null,
      );
      await ledger.commit(BATCH, 6, [succeeded(6, ['x', 'y'])], null);
      const spec = parseBatchSpec({
        source: { kind: 'text', path: path.join(dir, 'words.txt') },
        processor: { name: 'sha256' },
        sliceSize: 2,
        checkpointEvery: 10,
      });
      ({ manifest } = await finalize(
        { ledger, dataDir: path.join(dir, 'data') },
        {
          batchId: BATCH,
          spec,
          status: 'failed-tolerance',
          stopReason: '1 failed item(s), more than the 0 tolerated',
          total: 10,
          runs: 1,
          startedAt: 0,
          finishedAt: 5000,
        },
      ));
    } finally {
      await ledger.close();
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the batch manifest has the pending ranges the export expands, and the usage summed per unit', () => {
    expect(manifest).toMatchObject({
      total: 10,
      succeeded: 4,
      failed: 1,
      usage: { costUsd: 0.5, tokens: 15 },
      pending: 5,
      pendingRanges: [
        [4, 5],
        [7, 9],
      ],
    });
  });

  it('jsonl (the default): results.jsonl, failures.jsonl, pending.jsonl', async () => {
    const out = path.join(dir, 'out-jsonl');
    expect(await waymark('export', BATCH, '--out', 'out-jsonl')).toEqual({
      code: 0,
      stdout: `wrote 4 results, 1 failures, 5 pending and manifest.json to ${out}\n`,
      stderr: '',
    });
    expect(read('out-jsonl', 'results.jsonl')).toBe(
      [
        '{"index":0,"result":"plain text, with a comma"}',
        '{"index":1,"result":{"word":"aa","length":2},"usage":{"tokens":12,"costUsd":0.5}}',
        '{"index":2,"result":42}',
        '{"index":6,"result":["x","y"]}',
        '',
      ].join('\n'),
    );
    expect(read('out-jsonl', 'failures.jsonl')).toBe(
      '{"index":3,"error":{"type":"exec-data-error","message":"bad \\"data\\"\\nsecond line"},"attempts":1,"usage":{"tokens":3}}\n',
    );
    expect(read('out-jsonl', 'pending.jsonl')).toBe('{"index":4}\n{"index":5}\n{"index":7}\n{"index":8}\n{"index":9}\n');
    expect(read('out-jsonl', 'manifest.json')).toBe(
      `${JSON.stringify(
        {
          ...manifest,
          files: {
            SUCCEEDED: { file: 'results.jsonl', items: 4 },
            FAILED: { file: 'failures.jsonl', items: 1 },
            PENDING: { file: 'pending.jsonl', items: 5 },
          },
        },
        null,
        2,
      )}\n`,
    );
    expect(fs.readdirSync(out).sort()).toEqual(['failures.jsonl', 'manifest.json', 'pending.jsonl', 'results.jsonl']);
  });

  it('--format csv: results.csv with object results and usage as JSON text, failures.csv, pending.csv', async () => {
    const out = path.join(dir, 'out-csv');
    expect(await waymark('export', BATCH, '--out', 'out-csv', '--format', 'csv')).toEqual({
      code: 0,
      stdout: `wrote 4 results, 1 failures, 5 pending and manifest.json to ${out}\n`,
      stderr: '',
    });
    expect(read('out-csv', 'results.csv')).toBe(
      [
        'index,result,usage',
        '0,"plain text, with a comma",',
        '1,"{""word"":""aa"",""length"":2}","{""tokens"":12,""costUsd"":0.5}"',
        '2,42,',
        '6,"[""x"",""y""]",',
        '',
      ].join('\n'),
    );
    expect(read('out-csv', 'failures.csv')).toBe(
      'index,errorType,errorMessage,attempts,usage\n3,exec-data-error,"bad ""data""\nsecond line",1,"{""tokens"":3}"\n',
    );
    expect(read('out-csv', 'pending.csv')).toBe('index\n4\n5\n7\n8\n9\n');
    expect(JSON.parse(read('out-csv', 'manifest.json'))).toEqual({
      ...manifest,
      files: {
        SUCCEEDED: { file: 'results.csv', items: 4 },
        FAILED: { file: 'failures.csv', items: 1 },
        PENDING: { file: 'pending.csv', items: 5 },
      },
    });
    expect(fs.readdirSync(out).sort()).toEqual(['failures.csv', 'manifest.json', 'pending.csv', 'results.csv']);
  });

  it('refuses an unknown format, naming the choices', async () => {
    expect(await waymark('export', BATCH, '--out', 'out-xml', '--format', 'xml')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "waymark: option '--format <format>' argument 'xml' is invalid. Allowed choices are jsonl, csv.\n(run `waymark help` for the commands)\n",
    });
    expect(fs.existsSync(path.join(dir, 'out-xml'))).toBe(false);
  });
});

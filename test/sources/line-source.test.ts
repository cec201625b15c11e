import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { openSource } from '../../src/sources/open-source';
import { CHUNK_BYTES, scanLines } from '../../src/sources/line-scanner';
import { SourceUnavailableError } from '../../src/sources/source';
import type { SourceSpec } from '../../src/contract/batch-spec';
import { planAndReadAll, readAll, removeTempDirs, tempDir, values, writeTemp } from './helpers';

const dataDir = tempDir();
const ctx = { dataDir, batchId: 'line-test' };

function jsonl(content: string | Buffer, extra: Partial<SourceSpec> = {}) {
  return openSource({ kind: 'jsonl', path: writeTemp(tempDir(), 'items.jsonl', content), ...extra }, ctx);
}

function text(content: string | Buffer, extra: Partial<SourceSpec> = {}) {
  return openSource({ kind: 'text', path: writeTemp(tempDir(), 'items.txt', content), ...extra }, ctx);
}

afterAll(removeTempDirs);

describe('line sources: planning and reading', () => {
  const records = Array.from({ length: 1000 }, (_, n) => ({ n, name: `item ${n} é ✓ 𝄞`.repeat((n % 5) + 1) }));
  const content = records.map((r) => JSON.stringify(r)).join('\n') + '\n';

  it('reads every line once, in order, across windows that continue from the previous plan', async () => {
    const source = jsonl(content);
    const { items, plans } = await planAndReadAll(source, 100, 7);
    expect(values(items)).toEqual(records);
    expect(plans).toHaveLength(10);
    expect(plans[9].exhausted).toBe(true);
    expect(plans[9].next).toEqual({ index: 1000, offset: Buffer.byteLength(content) });
  });

  it('records the exact byte offset of every slice', async () => {
    const source = jsonl(content);
    const plan = await source.planWindow({ index: 0, offset: 0 }, 1000, 250);
    const lineStarts = [0];
    for (const r of records) lineStarts.push(lineStarts[lineStarts.length - 1] + Buffer.byteLength(JSON.stringify(r)) + 1);
    expect(plan.slices).toEqual(
      [0, 250, 500, 750].map((start) => ({
        start,
        count: 250,
        startOffset: lineStarts[start],
        endOffset: lineStarts[start + 250],
      })),
    );
  });

  it('handles windows that are not a multiple of the slice size, and a last line without newline', async () => {
    const source = text(['a', 'b', 'c', 'd', 'e', 'f', 'g'].join('\n'));
    const { items, plans } = await planAndReadAll(source, 3, 2);
    expect(values(items)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(plans.map((p) => p.slices.map((s) => s.count))).toEqual([[2, 1], [2, 1], [1]]);
  });

  it('is exhausted exactly when no line follows the window', async () => {
    const ten = text('x\n'.repeat(10));
    const full = await ten.planWindow({ index: 0, offset: 0 }, 10, 4);
    expect(full.exhausted).toBe(true);
    expect(full.next).toEqual({ index: 10, offset: 20 });

    const eleven = text('x\n'.repeat(11));
    const first = await eleven.planWindow({ index: 0, offset: 0 }, 10, 4);
    expect(first.exhausted).toBe(false);
    const second = await eleven.planWindow(first.next, 10, 4);
    expect(second).toEqual({
      slices: [{ start: 10, count: 1, startOffset: 20, endOffset: 22 }],
      next: { index: 11, offset: 22 },
      exhausted: true,
    });
  });

  it('ends a window before a huge line without needing its end', async () => {
    const source = text(`a\n${'x'.repeat(3 * CHUNK_BYTES)}`);
    expect(await source.planWindow({ index: 0, offset: 0 }, 1, 1)).toEqual({
      slices: [{ start: 0, count: 1, startOffset: 0, endOffset: 2 }],
      next: { index: 1, offset: 2 },
      exhausted: false,
    });
  });

  it('plans nothing for an empty file', async () => {
    const source = text('');
    expect(await source.countItems()).toBe(0);
    expect(await source.planWindow({ index: 0, offset: 0 }, 100, 10)).toEqual({
      slices: [],
      next: { index: 0, offset: 0 },
      exhausted: true,
    });
  });

  it.each([
    ['', 0],
    ['\n', 1],
    ['a', 1],
    ['a\n', 1],
    ['a\nb', 2],
    ['a\n\n', 2],
    ['a\r\nb\r\n', 2],
    ['\n\n\n', 3],
  ])('counts %j as %i items', async (content, expected) => {
    const source = text(content);
    expect(await source.countItems()).toBe(expected);
    const { items } = await planAndReadAll(source, 100, 10);
    expect(items).toHaveLength(expected);
  });

  it('plans a 100,000-line window in well under a second', async () => {
    const lines = Array.from({ length: 100_000 }, (_, n) => JSON.stringify({ id: n, payload: 'x'.repeat(40) }));
    const source = jsonl(lines.join('\n') + '\n');
    const started = performance.now();
    const plan = await source.planWindow({ index: 0, offset: 0 }, 100_000, 1000);
    const planMs = performance.now() - started;
    expect(plan.slices).toHaveLength(100);
    expect(plan.exhausted).toBe(true);
    expect(planMs).toBeLessThan(500);
    expect(await source.countItems()).toBe(100_000);
    const last = await readAll(source, plan.slices[99]);
    expect(last[999]).toEqual({ index: 99_999, value: { id: 99_999, payload: 'x'.repeat(40) } });
  });
});

describe('line sources: line endings', () => {
  it('ends lines at "\\r\\n" as at "\\n", without the "\\r" in the value', async () => {
    const source = text('one\r\ntwo\nthree\r\n\r\nfour');
    const { items } = await planAndReadAll(source, 100, 2);
    expect(values(items)).toEqual(['one', 'two', 'three', { parseError: 'line 4 is empty (remove blank lines from the file)' }, 'four']);
  });

  it('handles a "\\r\\n" split across two read chunks', async () => {
    const long = 'a'.repeat(CHUNK_BYTES - 1);
    const source = text(`${long}\r\nnext\r\n`, { maxItemBytes: 2 * CHUNK_BYTES });
    const { items } = await planAndReadAll(source, 10, 10);
    expect(values(items)).toEqual([long, 'next']);
  });

  it('does not count the "\\r" of "\\r\\n" toward maxItemBytes', async () => {
    const source = text('12345678\r\n123456789\r\n', { maxItemBytes: 8 });
    const { items } = await planAndReadAll(source, 10, 10);
    expect(values(items)).toEqual([
      '12345678',
      { parseError: 'line 2 is 9 bytes, over the limit of 8 bytes (raise source.maxItemBytes to accept it)' },
    ]);
  });
});

describe('line sources: bad lines fail alone', () => {
  it('reports each bad JSONL line and reads its neighbours', async () => {
    const content = Buffer.concat([
      Buffer.from('{"a":1}\n{bad\n\n[1,2]\n"str"\nnull\n42\n'),
      Buffer.from([0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), // {"x":"<FF FE>"}
      Buffer.from('{"b":2}\n'),
    ]);
    const source = jsonl(content, { requireObject: true });
    const { items } = await planAndReadAll(source, 100, 3);
    expect(items.map((item) => item.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(items[0].value).toEqual({ a: 1 });
    expect(items[1].parseError).toMatch(/^line 2 is not valid JSON: /);
    expect(items[1].value).toBeUndefined();
    expect(items[2].parseError).toBe('line 3 is empty (remove blank lines from the file)');
    expect(items[3].parseError).toBe('line 4 is a JSON array, not an object (source.requireObject is set)');
    expect(items[4].parseError).toBe('line 5 is a JSON string, not an object (source.requireObject is set)');
    expect(items[5].parseError).toBe('line 6 is a JSON null, not an object (source.requireObject is set)');
    expect(items[6].parseError).toBe('line 7 is a JSON number, not an object (source.requireObject is set)');
    expect(items[7].parseError).toBe('line 8 is not valid UTF-8 (save the file as UTF-8)');
    expect(items[8].value).toEqual({ b: 2 });
  });

  it('accepts any JSON value when requireObject is not set', async () => {
    const { items } = await planAndReadAll(jsonl('[1,2]\n"str"\nnull\n42\n'), 10, 10);
    expect(values(items)).toEqual([[1, 2], 'str', null, 42]);
  });

  it('reports non-UTF-8 bytes in a text line', async () => {
    const source = text(Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\nalso ok\n')]));
    const { items } = await planAndReadAll(source, 10, 10);
    expect(values(items)).toEqual(['ok', { parseError: 'line 2 is not valid UTF-8 (save the file as UTF-8)' }, 'also ok']);
  });

  it('keeps whitespace-only text lines as values', async () => {
    const { items } = await planAndReadAll(text('  \n\t\n'), 10, 10);
    expect(values(items)).toEqual(['  ', '\t']);
  });

  it('fails a 10 MB line without stopping, and without assembling it', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const path = writeTemp(tempDir(), 'huge.txt', `before\n${huge}\nafter\n`);
    const source = openSource({ kind: 'text', path }, ctx);
    const { items, plans } = await planAndReadAll(source, 10, 2);
    expect(plans[0].slices.map((s) => s.count)).toEqual([2, 1]);
    expect(values(items)).toEqual([
      'before',
      { parseError: 'line 2 is 10485760 bytes, over the limit of 1048576 bytes (raise source.maxItemBytes to accept it)' },
      'after',
    ]);

    // The scanner measures the long line but never hands out (or builds) its bytes.
    const file = await fsp.open(path, 'r');
    try {
      const scanned = [];
      for await (const lines of scanLines(file, 0, Infinity, 1024 * 1024)) scanned.push(...lines);
      expect(scanned.map((l) => [l.length, l.bytes?.length])).toEqual([
        [6, 6],
        [huge.length, undefined],
        [5, 5],
      ]);
    } finally {
      await file.close();
    }
  });

  it('reads a 10 MB line whole when maxItemBytes allows it', async () => {
    const huge = 'y'.repeat(10 * 1024 * 1024);
    const source = text(`${huge}\nafter`, { maxItemBytes: 16 * 1024 * 1024 });
    const { items } = await planAndReadAll(source, 10, 10);
    expect(items[0].value).toBe(huge);
    expect(items[1].value).toBe('after');
  });
});

describe('line sources: a file that changes under a batch', () => {
  it('refuses to read a slice whose bytes are gone', async () => {
    const path = writeTemp(tempDir(), 'shrinks.txt', 'a\nb\nc\n');
    const source = openSource({ kind: 'text', path }, ctx);
    const plan = await source.planWindow({ index: 0, offset: 0 }, 10, 10);
    fs.writeFileSync(path, 'a\n');
    await expect(readAll(source, plan.slices[0])).rejects.toThrow(SourceUnavailableError);
    await expect(readAll(source, plan.slices[0])).rejects.toThrow(
      /changed since its window was planned: .*shrinks\.txt .*the file is now 2 bytes/,
    );
  });

  it('refuses to read a slice whose bytes now hold a different number of lines', async () => {
    const path = writeTemp(tempDir(), 'rewritten.txt', 'ab\ncd\n');
    const source = openSource({ kind: 'text', path }, ctx);
    const plan = await source.planWindow({ index: 0, offset: 0 }, 10, 10);
    fs.writeFileSync(path, 'a\nb\nc\nd\n');
    await expect(readAll(source, plan.slices[0])).rejects.toThrow(/those bytes now hold more lines/);
  });
});

import { openSource } from '../../src/sources/open-source';
import { SourceUnavailableError } from '../../src/sources/source';
import type { SourceSpec } from '../../src/contract/batch-spec';
import { planAndReadAll, readAll, removeTempDirs, tempDir, values, writeTemp } from './helpers';

const ctx = { dataDir: tempDir(), batchId: 'csv-test' };

function csv(content: string | Buffer, extra: Partial<SourceSpec> = {}) {
  return openSource({ kind: 'csv', path: writeTemp(tempDir(), 'items.csv', content), ...extra }, ctx);
}

/** Quotes a field the way a spreadsheet would when it holds a comma, quote or line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

afterAll(removeTempDirs);

describe('csv source: planning and reading', () => {
  // Rows whose fields hold CRLF, LF, commas and quotes, so that many records span several lines.
  const rows = Array.from({ length: 95 }, (_, n) => ({
    id: String(n),
    note: n % 3 === 0 ? `line one\r\nline "two" of ${n}` : n % 3 === 1 ? `a, b\nand c ✓ ${n}` : `plain ${n} é`,
    empty: n % 4 === 0 ? '' : 'x',
  }));
  const header = 'id,note,empty\r\n';
  const records = rows.map((r) => `${field(r.id)},${field(r.note)},${field(r.empty)}\r\n`);
  const content = header + records.join('');
  /** Byte offset of each record's start, and of the end of the file last. */
  const recordStarts = records.reduce(
    (starts, record) => [...starts, starts[starts.length - 1] + Buffer.byteLength(record)],
    [Buffer.byteLength(header)],
  );

  it('reads every record once, with its quoted newlines, across windows from the previous plan', async () => {
    const { items, plans } = await planAndReadAll(csv(content), 10, 3);
    expect(values(items)).toEqual(rows);
    expect(plans).toHaveLength(10);
    expect(plans[9].next).toEqual({ index: 95, offset: Buffer.byteLength(content) });
  });

  it('cuts slices exactly at record boundaries, starting after the header', async () => {
    const plan = await csv(content).planWindow({ index: 0, offset: 0 }, 95, 10);
    expect(plan.slices.map((s) => [s.start, s.startOffset, s.endOffset])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i * 10, recordStarts[i * 10], recordStarts[Math.min(95, i * 10 + 10)]]),
    );
    expect(plan.exhausted).toBe(true);
  });

  it('finds record boundaries across read chunks in a multi-megabyte file', async () => {
    const many = Array.from({ length: 5000 }, (_, n) => ({ id: String(n), note: `row ${n}\r\n"quoted", ${'z'.repeat(n % 900)}` }));
    const big = 'id,note\n' + many.map((r) => `${r.id},${field(r.note)}\r\n`).join('');
    expect(Buffer.byteLength(big)).toBeGreaterThan(2 * 1024 * 1024);
    const { items } = await planAndReadAll(csv(big), 2000, 500);
    expect(values(items)).toEqual(many);
  });

  it('counts records, not lines', async () => {
    expect(await csv(content).countItems()).toBe(95);
  });

  it.each([
    ['an empty file', ''],
    ['a header without newline', 'a,b'],
    ['a header', 'a,b\n'],
    ['a CRLF header', 'a,b\r\n'],
    ['a header and blank lines', 'a,b\n\n\r\n'],
    ['a BOM and a header', '\uFEFFa,b\n'],
  ])('has no items in %s', async (_, content) => {
    const source = csv(content);
    expect(await source.countItems()).toBe(0);
    const plan = await source.planWindow({ index: 0, offset: 0 }, 10, 5);
    expect(plan.slices).toEqual([]);
    expect(plan.exhausted).toBe(true);
    expect(plan.next.index).toBe(0);
  });

  it('skips blank lines, so trailing ones do not keep the source open', async () => {
    const source = csv('a,b\n1,2\n\n3,4\n\n\n');
    expect(await source.countItems()).toBe(2);
    const first = await source.planWindow({ index: 0, offset: 0 }, 2, 2);
    expect(first.exhausted).toBe(true);
    expect(values(await readAll(source, first.slices[0]))).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
  });

  it('reads a header after a UTF-8 BOM without the BOM in its first name', async () => {
    const { items } = await planAndReadAll(csv('\uFEFFid,name\n1,one\n'), 10, 10);
    expect(values(items)).toEqual([{ id: '1', name: 'one' }]);
  });

  it('reads a header longer than one header read', async () => {
    const long = 'h'.repeat(100_000);
    const { items } = await planAndReadAll(csv(`a,"${long}\n"\n1,2\n`), 10, 10);
    expect(values(items)).toEqual([{ a: '1', [`${long}\n`]: '2' }]);
  });

  it('keeps a column named __proto__ as a plain key', async () => {
    const { items } = await planAndReadAll(csv('__proto__,b\nx,y\n'), 10, 10);
    const value = items[0].value as Record<string, string>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'b']);
    expect(value.b).toBe('y');
  });

  it('takes a stray quote inside an unquoted field as text', async () => {
    const { items } = await planAndReadAll(csv('item,size\ntv,55" screen\nradio,small\n'), 10, 10);
    expect(values(items)).toEqual([
      { item: 'tv', size: '55" screen' },
      { item: 'radio', size: 'small' },
    ]);
  });
});

describe('csv source: bad rows fail alone', () => {
  it('reports ragged rows and reads their neighbours', async () => {
    const { items } = await planAndReadAll(csv('a,b\n1,2\n1,2,3\n4\n5,6\n'), 10, 2);
    expect(values(items)).toEqual([
      { a: '1', b: '2' },
      { parseError: 'row 2 has 3 fields, the header has 2 (fix the row; a value containing a comma must be quoted)' },
      { parseError: 'row 3 has 1 fields, the header has 2 (fix the row; a value containing a comma must be quoted)' },
      { a: '5', b: '6' },
    ]);
  });

  it('reports a row that is not UTF-8', async () => {
    const content = Buffer.concat([Buffer.from('a,b\n1,ok\n2,'), Buffer.from([0xff, 0x41]), Buffer.from('\n3,fine\n')]);
    const { items } = await planAndReadAll(csv(content), 10, 10);
    expect(values(items)).toEqual([
      { a: '1', b: 'ok' },
      { parseError: 'row 2 is not valid UTF-8 (save the file as UTF-8)' },
      { a: '3', b: 'fine' },
    ]);
  });

  it('reports a row over maxItemBytes', async () => {
    const { items } = await planAndReadAll(csv(`a,b\n1,2\n2,${'x'.repeat(30)}\n3,4\n`, { maxItemBytes: 20 }), 10, 10);
    expect(values(items)).toEqual([
      { a: '1', b: '2' },
      { parseError: 'row 2 is 33 bytes, over the limit of 20 bytes (raise source.maxItemBytes to accept it)' },
      { a: '3', b: '4' },
    ]);
  });

  const unclosed = (row: number, at: number) => ({
    parseError: `row ${row} opens a quoted field at byte ${at} that is never closed; the row ends with the line that quote opened on, and the rows after it are read on their own (close the quote; a quote inside a quoted field is written "")`,
  });

  it('turns a quote that never closes into one bad row, its line, and reads every later row as its own item', async () => {
    const source = csv('a,b\n1,2\n3,"open\n4,5\n6,7\n');
    expect(await source.countItems()).toBe(4);
    const { items, plans } = await planAndReadAll(source, 10, 10);
    expect(plans[0].exhausted).toBe(true);
    expect(items.map((item) => item.index)).toEqual([0, 1, 2, 3]);
    expect(values(items)).toEqual([{ a: '1', b: '2' }, unclosed(2, 10), { a: '4', b: '5' }, { a: '6', b: '7' }]);
  });

  it('keeps multi-line quoted fields whole around an unclosed quote, in the same row and after it', async () => {
    // Row 2 holds a legit two-line field and a field whose quote closes early (taken as text)
    // before the quote that never closes. Rows after it hold no quote: with relax_quotes, a later
    // quote would close the open one, as csv-parse reads it.
    const content = 'a,b,c\r\n1,x,y\r\n2,"two\r\nlines","q" tail,"never closed\r\n3,p,q\r\n4,three line field,z\r\n5,"",r\r\n';
    const expected = [
      { a: '1', b: 'x', c: 'y' },
      unclosed(2, content.indexOf('"never')),
      { a: '3', b: 'p', c: 'q' },
      { a: '4', b: 'three line field', c: 'z' },
      { a: '5', b: '', c: 'r' },
    ];
    expect(await csv(content).countItems()).toBe(5);
    // Slices that start or end next to the bad row read what the plan counted.
    for (const [windowSize, sliceSize] of [
      [10, 10],
      [5, 1],
      [4, 2],
      [3, 3],
    ]) {
      const { items } = await planAndReadAll(csv(content), windowSize, sliceSize);
      expect(items.map((item) => item.index)).toEqual([0, 1, 2, 3, 4]);
      expect(values(items)).toEqual(expected);
    }
  });

  it('finds the unclosed quote and the rows after it across read chunks of a large file', async () => {
    const before = Array.from({ length: 2000 }, (_, n) => `${n},"row ${n}\nsecond line ${'z'.repeat(n % 500)}"\n`);
    const after = Array.from({ length: 2000 }, (_, n) => `${n + 2001},row ${n + 2001} ${'y'.repeat(n % 500)}\n`);
    const content = 'id,note\n' + before.join('') + '2000,"open\n' + after.join('');
    expect(Buffer.byteLength(content)).toBeGreaterThan(700 * 1024);
    const source = csv(content);
    expect(await source.countItems()).toBe(4001);
    const { items } = await planAndReadAll(source, 1000, 300);
    expect(items.map((item) => item.index)).toEqual(Array.from({ length: 4001 }, (_, i) => i));
    expect(items.filter((item) => item.parseError !== undefined).map((item) => [item.index, item.parseError])).toEqual([
      [2000, unclosed(2001, Buffer.byteLength(content.slice(0, content.indexOf('"open')))).parseError],
    ]);
    expect(items[1999].value).toEqual({ id: '1999', note: `row 1999\nsecond line ${'z'.repeat(1999 % 500)}` });
    expect(items[2001].value).toEqual({ id: '2001', note: 'row 2001 ' });
    expect(items[4000].value).toEqual({ id: '4000', note: `row 4000 ${'y'.repeat(1999 % 500)}` });
  });

  it('reports a quote left open on the last line, without a line ending', async () => {
    const { items } = await planAndReadAll(csv('a,b\n1,2\n3,"open'), 10, 10);
    expect(values(items)).toEqual([{ a: '1', b: '2' }, unclosed(2, 10)]);
  });

  it('refuses a header that names a column twice', async () => {
    const source = csv('id,name,id\n1,2,3\n');
    await expect(source.countItems()).rejects.toThrow(SourceUnavailableError);
    await expect(source.planWindow({ index: 0, offset: 0 }, 10, 10)).rejects.toThrow(
      /the header row of .*items\.csv names column "id" twice \(columns 1 and 3\); give every column its own name/,
    );
  });

  it('refuses a header that is not UTF-8', async () => {
    const source = csv(Buffer.concat([Buffer.from('id,'), Buffer.from([0xfe]), Buffer.from('\n1,2\n')]));
    await expect(source.countItems()).rejects.toThrow(/the header row of .*items\.csv is not valid UTF-8/);
  });
});

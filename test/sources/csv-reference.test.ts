/**
 * waymark's CSV rows against a reference reader, Python's csv module (csv.DictReader with its
 * default dialect, the file opened with newline='' and encoding utf-8-sig, as its docs say to).
 * Where the two agree, a quoted field that spans lines is one field of one row, in both, so a
 * quote left open on one line and closed lines later takes those lines into one field: that is
 * CSV (RFC 4180), not a loss, and docs/spec.md says so. Where waymark differs, on purpose,
 * this test names the difference: a row with the wrong number of fields, and a quote that never
 * closes, are failure rows in waymark where Python pads, spills or swallows the rest of the file;
 * a field with text after its closing quote is kept as written, where Python drops the quotes.
 */
import { execFileSync } from 'node:child_process';
import { openSource } from '../../src/sources/open-source';
import type { SourceItem } from '../../src/sources/source';
import { planAndReadAll, removeTempDirs, tempDir, writeTemp } from './helpers';

const ctx = { dataDir: tempDir(), batchId: 'csv-reference' };

/** Files on which the two readers must give the same rows. */
const AGREED: Record<string, string> = {
  'a quote left open, closed lines later: one field takes the lines between': 'id,name\n1,"abc\n2,def\n3,gh"\n4,jkl\n5,mno\n',
  'a quoted field over lines with CRLF endings': 'a,b\r\n1,"two\r\nlines"\r\n2,x\r\n',
  'a stray quote inside an unquoted field': 'a,b\n1,5" screen\n2,x\n',
  'doubled quotes inside a quoted field': 'a,b\n1,"say ""hi"""\n',
  'blank lines': 'a,b\n1,2\n\n3,4\n\n',
  'a quoted empty field and an empty last field': 'a,b\n"",\n',
  'a byte order mark before the header': '\ufeffa,b\n1,2\n',
  'CR line endings': 'a,b\r1,2\r3,4\r',
};

/** Files on which waymark differs from Python's csv on purpose: what each gives. */
const DIFFERING: Record<string, { content: string; python: unknown[]; waymark: unknown[] }> = {
  'a row with more or fewer fields than the header': {
    content: 'a,b\n1,2,3\n4\n5,6\n',
    python: [
      { a: '1', b: '2', '': ['3'] },
      { a: '4', b: null },
      { a: '5', b: '6' },
    ],
    waymark: [
      { parseError: 'row 1 has 3 fields, the header has 2 (fix the row; a value containing a comma must be quoted)' },
      { parseError: 'row 2 has 1 fields, the header has 2 (fix the row; a value containing a comma must be quoted)' },
      { value: { a: '5', b: '6' } },
    ],
  },
  'text after a closing quote, kept as written rather than unquoted': {
    content: 'a,b\n1,"ab"c\n2,x\n',
    python: [
      { a: '1', b: 'abc' },
      { a: '2', b: 'x' },
    ],
    waymark: [{ value: { a: '1', b: '"ab"c' } }, { value: { a: '2', b: 'x' } }],
  },
  'a quote that never closes': {
    content: 'a,b\n1,2\n3,"open\n4,5\n',
    python: [
      { a: '1', b: '2' },
      { a: '3', b: 'open\n4,5\n' },
    ],
    waymark: [
      { value: { a: '1', b: '2' } },
      { parseError: expect.stringMatching(/^row 2 opens a quoted field at byte 10 that is never closed/) },
      { value: { a: '4', b: '5' } },
    ],
  },
};

/** Every file's rows as Python's csv.DictReader reads them, in one python3 run. The extra fields of a long row go under "". */
function pythonRows(files: Record<string, string>): Record<string, unknown[]> {
  const script = [
    'import csv, json, sys',
    'files = json.load(sys.stdin)',
    "print(json.dumps({name: list(csv.DictReader(open(path, newline='', encoding='utf-8-sig'), restkey='')) for name, path in files.items()}))",
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(files), encoding: 'utf8' })) as Record<
    string,
    unknown[]
  >;
}

async function waymarkItems(path: string): Promise<SourceItem[]> {
  // Small windows and slices, so rows that span lines also sit across slice boundaries.
  const { items } = await planAndReadAll(openSource({ kind: 'csv', path }, ctx), 2, 1);
  return items;
}

afterAll(removeTempDirs);

describe("CSV rows against Python's csv module", () => {
  const dir = tempDir();
  const paths = Object.fromEntries(
    [...Object.entries(AGREED), ...Object.entries(DIFFERING).map(([name, c]) => [name, c.content] as const)].map(([name, content], i) => [
      name,
      writeTemp(dir, `case-${i}.csv`, content),
    ]),
  );
  let python: Record<string, unknown[]>;
  beforeAll(() => {
    python = pythonRows(paths);
  });

  it.each(Object.keys(AGREED))('the same rows: %s', async (name) => {
    const items = await waymarkItems(paths[name]);
    expect(items.filter((item) => item.parseError !== undefined)).toEqual([]);
    expect(items.map((item) => item.value)).toEqual(python[name]);
  });

  it('five lines with a quote open over three of them are three rows in both, the first holding the three lines', async () => {
    const items = await waymarkItems(paths[Object.keys(AGREED)[0]]);
    expect(items.map((item) => item.value)).toEqual([
      { id: '1', name: 'abc\n2,def\n3,gh' },
      { id: '4', name: 'jkl' },
      { id: '5', name: 'mno' },
    ]);
  });

  it.each(Object.keys(DIFFERING))('a difference, on purpose: %s', async (name) => {
    expect(python[name]).toEqual(DIFFERING[name].python);
    const items = await waymarkItems(paths[name]);
    expect(items.map((item) => (item.parseError !== undefined ? { parseError: item.parseError } : { value: item.value }))).toEqual(
      DIFFERING[name].waymark,
    );
  });
});

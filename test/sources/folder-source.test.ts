import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSource } from '../../src/sources/open-source';
import { snapshotPath } from '../../src/sources/folder-source';
import { planAndReadAll, removeTempDirs, tempDir, writeTemp } from './helpers';

function folder(root: string, dataDir: string, batchId: string) {
  return openSource({ kind: 'folder', path: root }, { dataDir, batchId });
}

afterAll(removeTempDirs);

describe('folder source', () => {
  /** A tree whose byte order differs from both per-folder order and JavaScript's UTF-16 string order. */
  function makeTree(): string {
    const root = tempDir();
    for (const name of [
      'b.txt',
      'a.txt',
      'a-b.txt',
      'a/x.txt',
      'a/y/z.txt',
      'A.txt',
      'Z/n.txt',
      'é.txt',
      '\uFF01.txt',
      '𝄞.txt',
      'new\nline.txt',
    ]) {
      writeTemp(root, name, name);
    }
    fs.mkdirSync(path.join(root, 'empty-folder'));
    fs.symlinkSync(path.join(root, 'a'), path.join(root, 'link-to-a'));
    fs.symlinkSync(path.join(root, 'b.txt'), path.join(root, 'link-to-b.txt'));
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'broken-link'));
    fs.mkdirSync(path.join(root, 'loop'));
    fs.symlinkSync(root, path.join(root, 'loop', 'back-to-root'));
    return root;
  }

  const expectedOrder = [
    'A.txt',
    'Z/n.txt',
    'a-b.txt',
    'a.txt',
    'a/x.txt',
    'a/y/z.txt',
    'b.txt',
    'link-to-b.txt',
    'new\nline.txt',
    'é.txt',
    '\uFF01.txt',
    '𝄞.txt',
  ];

  it('lists files recursively in byte order of their relative paths, following file links only', async () => {
    const root = makeTree();
    const source = folder(root, tempDir(), 'tree');
    expect(await source.countItems()).toBe(expectedOrder.length);
    const { items } = await planAndReadAll(source, 5, 2);
    expect(items.map((item) => item.value)).toEqual(expectedOrder);
    expect(items.map((item) => item.file)).toEqual(expectedOrder.map((relative) => path.join(root, relative)));
    expect(items.every((item) => item.parseError === undefined)).toBe(true);
  });

  it('keeps indexes fixed for the whole batch: the first listing is the only one', async () => {
    const root = makeTree();
    const dataDir = tempDir();
    const first = await planAndReadAll(folder(root, dataDir, 'batch-1'), 100, 10);

    writeTemp(root, '0-added-later.txt', 'late');
    fs.rmSync(path.join(root, 'b.txt'));
    const again = await planAndReadAll(folder(root, dataDir, 'batch-1'), 100, 10);
    expect(again.items).toEqual(first.items);

    const otherBatch = await planAndReadAll(folder(root, dataDir, 'batch-2'), 100, 10);
    expect(otherBatch.items[0].value).toBe('0-added-later.txt');
    expect(otherBatch.items.map((item) => item.value)).not.toContain('b.txt');
  });

  it('writes the snapshot under <dataDir>/sources, leaving no temp files', async () => {
    const dataDir = tempDir();
    await folder(makeTree(), dataDir, 'snap').countItems();
    expect(fs.readdirSync(path.join(dataDir, 'sources'))).toEqual(['snap.files']);
    const lines = fs.readFileSync(path.join(dataDir, 'sources', 'snap.files'), 'utf8').split('\n');
    expect(lines.slice(0, -1).map((line) => JSON.parse(line))).toEqual(expectedOrder);
  });

  it('agrees with itself when several workers take the first listing at once', async () => {
    const root = makeTree();
    const dataDir = tempDir();
    const counts = await Promise.all(Array.from({ length: 8 }, () => folder(root, dataDir, 'race').countItems()));
    expect(counts).toEqual(Array(8).fill(expectedOrder.length));
    expect(fs.readdirSync(path.join(dataDir, 'sources'))).toEqual(['race.files']);
  });

  it('names snapshots safely whatever the batch id', () => {
    expect(snapshotPath('/data', 'imports/2024-06')).toBe('/data/sources/imports%2F2024-06.files');
    expect(snapshotPath('/data', '..')).toBe('/data/sources/...files');
    const long = snapshotPath('/data', 'x'.repeat(1000));
    expect(path.dirname(long)).toBe('/data/sources');
    expect(path.basename(long).length).toBeLessThan(255);
    expect(long).not.toBe(snapshotPath('/data', `${'x'.repeat(999)}y`));
  });

  it('plans and reads many files across windows', async () => {
    const root = tempDir();
    const names = Array.from({ length: 250 }, (_, n) => `d${String(n % 7)}/f${String(n).padStart(3, '0')}.txt`);
    for (const name of names) writeTemp(root, name, name);
    const { items, plans } = await planAndReadAll(folder(root, tempDir(), 'many'), 60, 25);
    expect(items.map((item) => item.value)).toEqual([...names].sort());
    expect(plans).toHaveLength(5);
  });

  it('has no items in an empty folder', async () => {
    const source = folder(tempDir(), tempDir(), 'empty');
    expect(await source.countItems()).toBe(0);
    expect((await source.planWindow({ index: 0, offset: 0 }, 10, 5)).exhausted).toBe(true);
  });

  it('fails a file whose name is not UTF-8 and lists its neighbours', async () => {
    const root = tempDir();
    writeTemp(root, 'a.txt', 'a');
    fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/b-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'b');
    writeTemp(root, 'c.txt', 'c');
    const { items } = await planAndReadAll(folder(root, tempDir(), 'bad-name'), 10, 10);
    expect(items.map((item) => item.value)).toEqual(['a.txt', undefined, 'c.txt']);
    expect(items[1].parseError).toBe(
      `file "b-\uFFFD.txt" under ${root} has a name that is not valid UTF-8, so it cannot be handed to a processor (rename it)`,
    );
  });
});

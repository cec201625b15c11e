/** The items every compared system reads: a JSONL file of small objects, one per line. */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `count` items to `<dir>/items-<count>.jsonl` once and returns the path. */
export function itemsFile(dir: string, count: number): string {
  const file = path.join(dir, `items-${count}.jsonl`);
  if (fs.existsSync(file)) return file;
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = 10_000;
    for (let from = 0; from < count; from += chunk) {
      const lines: string[] = [];
      for (let i = from; i < Math.min(count, from + chunk); i++) lines.push(`{"id":${i},"name":"item-${i}"}`);
      fs.writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** The items as the bare loop sees them: read and parsed up front, as any plain script would. */
export function readItems(file: string): unknown[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => JSON.parse(line));
}

/** The execution log test/fixtures/paced-processor.js writes: "index pid" as an item starts, "index pid done" as it ends. */
import fs from 'node:fs';

export interface LogLine {
  index: number;
  pid: number;
  done: boolean;
}

export function readLog(file: string): LogLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [index, pid, done] = line.split(' ');
      return { index: Number(index), pid: Number(pid), done: done === 'done' };
    });
}

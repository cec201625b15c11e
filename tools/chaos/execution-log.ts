/**
 * The chaos processor's side-effect log: one line `index pid epochMs` per execution of an item,
 * appended by every worker process (small O_APPEND writes, so lines never interleave).
 */
import fs from 'node:fs';

export interface Execution {
  index: number;
  pid: number;
  /** Epoch milliseconds when the execution started. */
  at: number;
}

const LINE = /^(\d+) (\d+) (\d+)$/;

function parseLine(line: string, lineNumber: number, file: string): Execution {
  const match = LINE.exec(line);
  if (!match) throw new Error(`${file} line ${lineNumber} is not "index pid epochMs": ${JSON.stringify(line)}`);
  return { index: Number(match[1]), pid: Number(match[2]), at: Number(match[3]) };
}

export function readExecutionLog(file: string): Execution[] {
  const text = fs.readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => parseLine(line, i + 1, file));
}

/** Reads the log as it grows: each call returns the executions appended since the last one. */
export class ExecutionLogTail {
  private offset = 0;
  private lineNumber = 0;
  private partial = '';

  constructor(private readonly file: string) {}

  readNew(): Execution[] {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      // No item has run yet.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let text: string;
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= this.offset) return [];
      const bytes = Buffer.alloc(size - this.offset);
      fs.readSync(fd, bytes, 0, bytes.length, this.offset);
      this.offset = size;
      text = this.partial + bytes.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
    // A line whose writer has not finished yet is kept for the next call.
    const lines = text.split('\n');
    this.partial = lines.pop()!;
    return lines.map((line) => parseLine(line, ++this.lineNumber, this.file));
  }
}

/**
 * The byte-level line scanner under every line-based source (jsonl, text, a folder's listing).
 * It reads big chunks and finds newlines with Buffer.indexOf, which runs at memory speed, so
 * planning a window costs one pass over its bytes and no decoding.
 */
import type { FileHandle } from 'node:fs/promises';

/** Bytes per read: large enough that the per-read cost disappears next to the scan itself. */
export const CHUNK_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const NOTHING = Buffer.alloc(0);

export interface ScannedLine {
  /** Byte offset just past the line's "\n"; for a last line without one, the end of the data. */
  end: number;
  /** Bytes in the line, its "\n" or "\r\n" not counted. */
  length: number;
  /** The line without its terminator; absent when `length` is over the scan's keep limit. */
  bytes?: Buffer;
}

/**
 * The lines in bytes [start, end) of a file, handed out one read chunk at a time so that callers
 * pay one await per chunk, not per line. A line longer than `keepLimit` is measured but never
 * assembled: it costs the reading, not the memory. `keepLimit` -1 keeps no bytes at all.
 */
export async function* scanLines(file: FileHandle, start: number, end: number, keepLimit: number): AsyncGenerator<ScannedLine[]> {
  // The line under construction, which may span chunks. Its pieces are kept only while the
  // line may still be short enough to keep (one byte of slack for a "\r" before the "\n").
  let pieces: Buffer[] = [];
  let pendingLength = 0;
  let pendingLastByte = -1;

  const finish = (tail: Buffer, lineEnd: number): ScannedLine => {
    const raw = pendingLength + tail.length;
    const lastByte = tail.length > 0 ? tail[tail.length - 1] : pendingLastByte;
    const length = lastByte === CR ? raw - 1 : raw;
    let bytes: Buffer | undefined;
    if (length <= keepLimit) {
      bytes = (pieces.length === 0 ? tail : Buffer.concat([...pieces, tail])).subarray(0, length);
    }
    pieces = [];
    pendingLength = 0;
    pendingLastByte = -1;
    return { end: lineEnd, length, bytes };
  };

  let position = start;
  while (position < end) {
    // A fresh buffer per read: kept lines are views into it, and they must outlive the next read.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    const lines: ScannedLine[] = [];
    let lineStart = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, lineStart)) {
      lines.push(finish(chunk.subarray(lineStart, newline), position + newline + 1));
      lineStart = newline + 1;
    }
    if (lineStart < bytesRead) {
      const rest = chunk.subarray(lineStart);
      if (pendingLength + rest.length <= keepLimit + 1) pieces.push(rest);
      else pieces = [];
      pendingLength += rest.length;
      pendingLastByte = rest[rest.length - 1];
    }
    position += bytesRead;
    if (lines.length > 0) yield lines;
  }
  if (pendingLength > 0) yield [finish(NOTHING, position)];
}

/** Lines in the whole file: its newlines, plus one for a last line that has none. */
export async function countLines(file: FileHandle): Promise<number> {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let newlines = 0;
  let lastByte = LF;
  let position = 0;
  for (;;) {
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) newlines++;
    lastByte = chunk[bytesRead - 1];
    position += bytesRead;
  }
  return lastByte === LF ? newlines : newlines + 1;
}

/**
 * A CSV file with a header row. Item i is data record i (0-based, header not counted); its value
 * is an object keyed by the header's names. "row N" in messages is item N-1: the data row
 * number counted from 1, which is not the line number when quoted fields hold newlines.
 *
 * Slices must start on record boundaries, and only the parser knows where those are (a newline
 * inside quotes is data), so boundaries come from csv-parse's own byte count (`info.bytes`)
 * at each record. Parsing is restartable at any such boundary because nothing carries over
 * between records: line endings are fixed rather than auto-detected, and the BOM and header
 * are read separately from the start of the file.
 *
 * A quote that never closes would make the rest of the file one record. Instead the record is
 * cut at the end of the line where that quote opened, becomes one bad row, and parsing starts
 * afresh on the next line. Planning and reading agree on this cut: both find the same opening
 * quote, since a quote open to the end of the file is open to the end of any slice holding it.
 */
import { parse, CsvError, type Parser } from 'csv-parse';
import type { FileHandle } from 'node:fs/promises';
import type { Source, SourceItem } from './source';
import { SourceUnavailableError } from './source';
import { checkSliceFits, openSourceFile, sourceChanged, withSourceFile } from './source-file';
import { CHUNK_BYTES } from './line-scanner';
import { planFromItemEnds, type SliceCut } from './window-planner';
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

/**
 * A field this long is not a long row but a runaway quote swallowing the rest of the file. The
 * parser must hold a record whole to find its end, so past this it stops instead of reading on.
 */
const RUNAWAY_FIELD_BYTES = 64 * 1024 * 1024;

/** Read size for the header: every slice reads it, and a header is rarely more than a line. */
const HEADER_CHUNK_BYTES = 64 * 1024;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface CsvRecord {
  /** Byte offset just past the record and its line ending. */
  end: number;
  /** Raw field bytes; absent for a record whose quote never closes before the end of the data. */
  fields?: Uint8Array[];
  /** For a record without fields: byte offset of the quote that never closes. */
  unclosedQuoteAt?: number;
}

interface CsvLayout {
  header: string[];
  /** Byte offset of the first data record. */
  dataStart: number;
}

export class CsvSource implements Source {
  private layout?: Promise<CsvLayout>;

  constructor(
    private readonly path: string,
    private readonly maxItemBytes: number,
  ) {}

  async countItems(): Promise<number> {
    const { dataStart } = await this.readLayout();
    return withSourceFile(this.path, async (file) => {
      let count = 0;
      for await (const records of this.scan(file, dataStart, Infinity)) count += records.length;
      return count;
    });
  }

  async planWindow(from: SourcePosition, maxItems: number, cut: SliceCut): Promise<WindowPlan> {
    const { dataStart } = await this.readLayout();
    // The workflow starts every source at offset 0, which for CSV is the header.
    const first = Math.max(from.offset, dataStart);
    return withSourceFile(this.path, (file) => planFromItemEnds(from, first, maxItems, cut, this.scan(file, first, Infinity)));
  }

  async *readSlice(slice: SliceBounds): AsyncGenerator<SourceItem> {
    const { header } = await this.readLayout();
    const file = await openSourceFile(this.path);
    try {
      await checkSliceFits(file, this.path, slice);
      const end = slice.start + slice.count;
      let index = slice.start;
      let recordStart = slice.startOffset;
      for await (const records of this.scan(file, slice.startOffset, slice.endOffset)) {
        for (const record of records) {
          if (index === end) throw sourceChanged(this.path, slice, 'those bytes now hold more records');
          yield { index, ...this.toItem(record, record.end - recordStart, header, index + 1) };
          recordStart = record.end;
          index++;
        }
      }
      if (index !== end) throw sourceChanged(this.path, slice, `those bytes now hold ${index - slice.start} records`);
    } finally {
      await file.close();
    }
  }

  private toItem(record: CsvRecord, size: number, header: string[], row: number): Omit<SourceItem, 'index'> {
    if (record.fields === undefined) {
      return {
        parseError: `row ${row} opens a quoted field at byte ${record.unclosedQuoteAt} that is never closed; the row ends with the line that quote opened on, and the rows after it are read on their own (close the quote; a quote inside a quoted field is written "")`,
      };
    }
    if (size > this.maxItemBytes) {
      return {
        parseError: `row ${row} is ${size} bytes, over the limit of ${this.maxItemBytes} bytes (raise source.maxItemBytes to accept it)`,
      };
    }
    if (record.fields.length !== header.length) {
      return {
        parseError: `row ${row} has ${record.fields.length} fields, the header has ${header.length} (fix the row; a value containing a comma must be quoted)`,
      };
    }
    let values: string[];
    try {
      values = record.fields.map((field) => utf8.decode(field));
    } catch {
      return { parseError: `row ${row} is not valid UTF-8 (save the file as UTF-8)` };
    }
    // fromEntries defines own properties, so a column named "__proto__" stays a plain key.
    return { value: Object.fromEntries(header.map((name, i) => [name, values[i]])) };
  }

  /** The header and where data starts; read once per source from the start of the file. */
  private readLayout(): Promise<CsvLayout> {
    this.layout ??= withSourceFile(this.path, async (file) => {
      const start = (await startsWithBom(file)) ? UTF8_BOM.length : 0;
      for await (const [first] of this.scan(file, start, Infinity, HEADER_CHUNK_BYTES)) {
        return { header: this.decodeHeader(first), dataStart: first.end };
      }
      return { header: [], dataStart: start };
    });
    return this.layout;
  }

  private decodeHeader(record: CsvRecord): string[] {
    if (record.fields === undefined) {
      throw new SourceUnavailableError(
        `the header row of ${this.path} opens a quoted field that is never closed (close the quote; a quote inside a quoted field is written "")`,
      );
    }
    let names: string[];
    try {
      names = record.fields.map((field) => utf8.decode(field));
    } catch {
      throw new SourceUnavailableError(`the header row of ${this.path} is not valid UTF-8 (save the file as UTF-8)`);
    }
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      const earlier = seen.get(name);
      if (earlier !== undefined) {
        throw new SourceUnavailableError(
          `the header row of ${this.path} names column ${JSON.stringify(name)} twice (columns ${earlier + 1} and ${i + 1}); give every column its own name`,
        );
      }
      seen.set(name, i);
    });
    return names;
  }

  /**
   * The records in bytes [start, end), a read chunk at a time. `start` must be a record boundary.
   * A quote still open at the end of the data yields one last record without fields.
   */
  private async *scan(file: FileHandle, start: number, end: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<CsvRecord[]> {
    const records: CsvRecord[] = [];
    const maxFieldBytes = Math.max(this.maxItemBytes, RUNAWAY_FIELD_BYTES);
    const parser = recordParser(start, maxFieldBytes, records);
    let position = start;
    let lastYieldedEnd = start;
    // Where the record being parsed began: the end of the last one parsed.
    const recordStart = () => (records.length > 0 ? records[records.length - 1].end : lastYieldedEnd);
    const take = () => {
      lastYieldedEnd = recordStart();
      return records.splice(0);
    };
    try {
      while (position < end) {
        const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, end - position));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        await write(parser, buffer.subarray(0, bytesRead));
        position += bytesRead;
        if (records.length > 0) yield take();
      }
      await finish(parser);
      if (records.length > 0) yield take();
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
        const start = recordStart();
        const quote = await lastOpeningQuote(file, start, position);
        const lineEnd = await endOfLine(file, quote, position);
        yield [...take(), { end: lineEnd, unclosedQuoteAt: quote }];
        if (lineEnd < end) yield* this.scan(file, lineEnd, end, chunkBytes);
        return;
      }
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        throw new SourceUnavailableError(
          `the CSV row starting at byte ${recordStart()} of ${this.path} runs past ${maxFieldBytes} bytes without ending, most likely a quote that is never closed (close the quote; a quote inside a quoted field is written "")`,
        );
      }
      throw new SourceUnavailableError(
        `cannot parse the CSV row starting at byte ${recordStart()} of ${this.path}: ${err.message} (fix the row)`,
      );
    } finally {
      parser.destroy();
    }
  }
}

/** A parser that appends each record, with the absolute offset of its end, to `sink`. */
function recordParser(start: number, maxFieldBytes: number, sink: CsvRecord[]): Parser {
  const parser = parse({
    // Bytes, not strings: invalid UTF-8 must fail its row, not turn into U+FFFD.
    encoding: null,
    // The BOM is skipped by readLayout: csv-parse would switch to string fields when it sees one.
    bom: false,
    record_delimiter: ['\r\n', '\n', '\r'],
    // A stray quote inside a field ("5" screen") is common in real data and is taken as is.
    relax_quotes: true,
    // Ragged rows reach toItem, which fails just that row.
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: maxFieldBytes,
    on_record: (fields, info) => {
      sink.push({ end: start + info.bytes, fields: fields as unknown as Uint8Array[] });
      // Records leave through the sink, not the stream: a stream that errors drops what it buffered.
      return null;
    },
  });
  // Errors also reach the write and end callbacks below; without a listener they would crash the worker.
  parser.on('error', () => {});
  return parser;
}

function write(parser: Parser, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => parser.write(chunk, (err) => (err ? reject(err) : resolve())));
}

function finish(parser: Parser): Promise<void> {
  return new Promise((resolve, reject) => {
    parser.once('error', reject);
    parser.once('finish', resolve);
    parser.end();
  });
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The offset of the quote that opens the field still open at `end`, for a record starting at
 * `start` that csv-parse found unclosed there. Follows csv-parse's rules for the options in
 * recordParser: a quote opens a field only at its start; inside, "" is a quote, and a quote
 * followed by a comma, a line ending or the end of the data closes it, any other (relax_quotes)
 * ends the quoting and the rest of the field is text.
 */
async function lastOpeningQuote(file: FileHandle, start: number, end: number): Promise<number> {
  let quoting = false;
  let fieldEmpty = true;
  let openedAt = start;
  // A quote's meaning depends on the next byte, so each chunk is read one byte past what it decides.
  let position = start;
  while (position < end) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position) + 1);
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) break;
    const last = position + bytesRead >= end;
    const decided = last ? bytesRead : bytesRead - 1;
    if (decided === 0) break;
    let i = 0;
    for (; i < decided; i++) {
      const byte = buffer[i];
      if (quoting) {
        if (byte !== QUOTE) continue;
        const next = i + 1 < bytesRead ? buffer[i + 1] : undefined;
        if (next === QUOTE) {
          i++;
          continue;
        }
        quoting = false;
        fieldEmpty = false;
      } else if (byte === QUOTE && fieldEmpty) {
        quoting = true;
        openedAt = position + i;
      } else if (byte === COMMA || byte === LF || byte === CR) {
        fieldEmpty = true;
      } else {
        fieldEmpty = false;
      }
    }
    // An escaped pair may have consumed the byte past the decided ones.
    position += i;
  }
  return openedAt;
}

/** The offset just past the line ending (\r\n, \n or \r) that follows `from`, or `end` when none does. */
async function endOfLine(file: FileHandle, from: number, end: number): Promise<number> {
  let position = from;
  while (position < end) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
    const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i++) {
      if (buffer[i] === LF) return position + i + 1;
      if (buffer[i] === CR) {
        if (position + i + 1 >= end) return end;
        const next = Buffer.alloc(1);
        await file.read(next, 0, 1, position + i + 1);
        return position + i + (next[0] === LF ? 2 : 1);
      }
    }
    position += bytesRead;
  }
  return end;
}

async function startsWithBom(file: FileHandle): Promise<boolean> {
  const head = Buffer.alloc(UTF8_BOM.length);
  const { bytesRead } = await file.read(head, 0, head.length, 0);
  return bytesRead === head.length && head.equals(UTF8_BOM);
}

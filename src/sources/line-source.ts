/**
 * Sources with one item per line: JSONL, plain text, and a folder's listing. Item i is line i
 * (0-based); a final "\n" does not start another item, and "\r\n" ends a line like "\n".
 * Slices are byte ranges of whole lines, so a slice reads only its own bytes.
 */
import type { Source, SourceItem } from './source';
import { checkSliceFits, openSourceFile, sourceChanged, withSourceFile } from './source-file';
import { countLines, scanLines, type ScannedLine } from './line-scanner';
import { planFromItemEnds, type SliceCut } from './window-planner';
import type { SliceBounds, SourcePosition, WindowPlan } from '../contract/slices';

/** What a line's text means: a value, or the reason it is not one. `lineNumber` counts from 1. */
export type LineParser = (text: string, lineNumber: number) => Omit<SourceItem, 'index'>;

// fatal: a byte that is not UTF-8 must fail the item, not slip in as U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class LineSource implements Source {
  constructor(
    private readonly path: string,
    private readonly maxItemBytes: number,
    private readonly parseLine: LineParser,
  ) {}

  countItems(): Promise<number> {
    return withSourceFile(this.path, countLines);
  }

  planWindow(from: SourcePosition, maxItems: number, cut: SliceCut): Promise<WindowPlan> {
    return withSourceFile(this.path, async (file) => {
      const { size } = await file.stat();
      const lines = scanLines(file, from.offset, size, -1);
      return planFromItemEnds(from, from.offset, maxItems, cut, lines, (offset) => offset >= size);
    });
  }

  async *readSlice(slice: SliceBounds): AsyncGenerator<SourceItem> {
    const file = await openSourceFile(this.path);
    try {
      await checkSliceFits(file, this.path, slice);
      const end = slice.start + slice.count;
      let index = slice.start;
      for await (const lines of scanLines(file, slice.startOffset, slice.endOffset, this.maxItemBytes)) {
        for (const line of lines) {
          if (index === end) throw sourceChanged(this.path, slice, 'those bytes now hold more lines');
          yield { index, ...this.toItem(line, index + 1) };
          index++;
        }
      }
      if (index !== end) throw sourceChanged(this.path, slice, `those bytes now hold ${index - slice.start} lines`);
    } finally {
      await file.close();
    }
  }

  private toItem(line: ScannedLine, lineNumber: number): Omit<SourceItem, 'index'> {
    if (line.bytes === undefined) {
      return {
        parseError: `line ${lineNumber} is ${line.length} bytes, over the limit of ${this.maxItemBytes} bytes (raise source.maxItemBytes to accept it)`,
      };
    }
    if (line.length === 0) return { parseError: `line ${lineNumber} is empty (remove blank lines from the file)` };
    let text: string;
    try {
      text = utf8.decode(line.bytes);
    } catch {
      return { parseError: `line ${lineNumber} is not valid UTF-8 (save the file as UTF-8)` };
    }
    return this.parseLine(text, lineNumber);
  }
}

export const parseTextLine: LineParser = (text) => ({ value: text });

export function jsonLineParser(requireObject: boolean): LineParser {
  return (text, lineNumber) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { parseError: `line ${lineNumber} is not valid JSON: ${(err as Error).message}` };
    }
    if (requireObject && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      return { parseError: `line ${lineNumber} is a JSON ${jsonType(value)}, not an object (source.requireObject is set)` };
    }
    return { value };
  };
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

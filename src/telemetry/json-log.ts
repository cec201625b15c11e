/**
 * One JSON object per log line (WAYMARK_LOG_FORMAT=json), for log shippers: `time`, `level`,
 * `message`, then the entry's attributes (the SDK adds workflow and activity ids, task queue, ...).
 */
import type { LogEntry } from '@temporalio/worker';

export function formatJsonLogLine(entry: LogEntry): string {
  const { time: _t, level: _l, message: _m, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
  const record = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    ...meta,
  };
  try {
    return JSON.stringify(record, jsonSafe);
  } catch {
    // A circular attribute: keep the line, drop what cannot be written.
    return JSON.stringify({ time: record.time, level: record.level, message: record.message, unserializableMeta: true });
  }
}

export function jsonLogFunction(entry: LogEntry): void {
  process.stderr.write(`${formatJsonLogLine(entry)}\n`);
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  return value;
}

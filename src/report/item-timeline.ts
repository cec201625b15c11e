/**
 * What a batch's items say over time, from the ledger alone: commits, failures by type, items in
 * flight (lanes in use), usage, and the items redone after interruptions. Each item row holds
 * when it started and finished, so one pass over the rows gives every series; they are then cut
 * into at most MAX_BUCKETS buckets, which keeps a report of a million items small.
 */
import type { OutcomeTimes } from '../ledger/ledger';

/** Points per series: about one per pixel of a wide chart. */
export const MAX_BUCKETS = 400;
const MIN_BUCKET_MS = 250;
/** Failure types charted each on its own; the rest are summed as "other types". */
const CHARTED_TYPES = 8;
/** Failure messages listed, the most frequent first. */
const LISTED_MESSAGES = 10;
/** Messages are grouped by this much of their text: enough to tell them apart, bounded in memory. */
const MESSAGE_KEY_CHARS = 300;
/**
 * Redone items whose redo started within this long of the previous one are counted as one
 * interruption: one kill cuts every lane short at once, and their slices resume together.
 */
export const INTERRUPTION_GAP_MS = 5000;

export interface Interruption {
  /** When the first of its redone items started again (epoch ms). */
  at: number;
  redone: number;
}

export interface ItemTimeline {
  /** Epoch ms of the first bucket's start, and each bucket's width. */
  from: number;
  bucketMs: number;
  buckets: number;
  succeeded: number[];
  failed: number[];
  failedByType: { type: string; counts: number[] }[];
  /** Mean items in flight in each bucket. */
  inFlight: number[];
  /** Usage per unit, summed up to the end of each bucket. */
  usage: { unit: string; cumulative: number[] }[];
  interruptions: Interruption[];
  topFailures: { type: string; message: string; count: number }[];
  /** Totals over every row read, for the summary. */
  items: number;
  redone: number;
}

/** Grows as rows come in; typed arrays keep a million items in a few tens of MB. */
class Column {
  values = new Float64Array(1024);
  push(i: number, v: number): void {
    if (i >= this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[i] = v;
  }
}

/**
 * Reads every outcome once. `interrupted` maps an item's index to how often it was interrupted
 * (Interruptions.interruptedItems); a dead-lettered item's last interruption was not followed by
 * a redo, as the ledger's tally counts it.
 */
export async function itemTimeline(pages: AsyncIterable<OutcomeTimes[]>, interrupted: Map<number, number>): Promise<ItemTimeline> {
  const started = new Column();
  const finished = new Column();
  /** 0 succeeded, else 1 + the failure type's number. */
  const kind = new Column();
  const typeNames: string[] = [];
  const typeIds = new Map<string, number>();
  const usageByUnit = new Map<string, Column>();
  const messages = new Map<string, number>();
  const redos: { at: number; redone: number }[] = [];
  let n = 0;
  for await (const page of pages)
    for (const o of page) {
      started.push(n, o.startedAt);
      finished.push(n, o.finishedAt);
      if (o.status === 'failed') {
        const type = o.errorType ?? 'unknown';
        let id = typeIds.get(type);
        if (id === undefined) typeIds.set(type, (id = typeNames.push(type) - 1));
        kind.push(n, id + 1);
        const key = `${type}\u0000${(o.errorMessage ?? '').slice(0, MESSAGE_KEY_CHARS)}`;
        messages.set(key, (messages.get(key) ?? 0) + 1);
      } else kind.push(n, 0);
      for (const [unit, amount] of Object.entries(o.usage ?? {})) {
        let column = usageByUnit.get(unit);
        if (column === undefined) usageByUnit.set(unit, (column = new Column()));
        column.push(n, amount);
      }
      const times = interrupted.get(o.index);
      if (times !== undefined) {
        const redone = times - (o.errorType === 'crashed-worker' ? 1 : 0);
        if (redone > 0) redos.push({ at: o.startedAt, redone });
      }
      n++;
    }
  return cutIntoBuckets({ n, started, finished, kind, typeNames, usageByUnit, messages, redos });
}

interface Rows {
  n: number;
  started: Column;
  finished: Column;
  kind: Column;
  typeNames: string[];
  usageByUnit: Map<string, Column>;
  messages: Map<string, number>;
  redos: { at: number; redone: number }[];
}

function cutIntoBuckets(rows: Rows): ItemTimeline {
  const { n } = rows;
  const started = rows.started.values;
  const finished = rows.finished.values;
  const kind = rows.kind.values;
  let from = Infinity;
  let to = -Infinity;
  for (let i = 0; i < n; i++) {
    if (started[i] < from) from = started[i];
    if (finished[i] > to) to = finished[i];
  }
  if (n === 0) from = to = 0;
  const span = Math.max(1, to - from + 1);
  // At least a quarter second per bucket, so a short batch's rates are not counts of one or two items.
  const bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(span / MAX_BUCKETS));
  const buckets = Math.max(1, Math.ceil(span / bucketMs));
  const bucketOf = (t: number) => Math.min(buckets - 1, Math.floor((t - from) / bucketMs));

  const succeeded = new Array<number>(buckets).fill(0);
  const failed = new Array<number>(buckets).fill(0);
  const byType = rows.typeNames.map(() => new Array<number>(buckets).fill(0));
  const busyMs = new Float64Array(buckets);
  for (let i = 0; i < n; i++) {
    const b = bucketOf(finished[i]);
    if (kind[i] === 0) succeeded[b]++;
    else {
      failed[b]++;
      byType[kind[i] - 1][b]++;
    }
    // The time the item was in flight, spread over the buckets it spans.
    const first = bucketOf(started[i]);
    for (let k = first; k <= b; k++) {
      const lo = Math.max(started[i], from + k * bucketMs);
      const hi = Math.min(finished[i], from + (k + 1) * bucketMs);
      if (hi > lo) busyMs[k] += hi - lo;
    }
  }
  const usage = [...rows.usageByUnit].map(([unit, column]) => {
    const perBucket = new Array<number>(buckets).fill(0);
    for (let i = 0; i < n; i++) perBucket[bucketOf(finished[i])] += column.values[i];
    let sum = 0;
    return { unit, cumulative: perBucket.map((v) => (sum += v)) };
  });
  return {
    from,
    bucketMs,
    buckets,
    succeeded,
    failed,
    failedByType: chartedTypes(rows.typeNames, byType),
    inFlight: Array.from(busyMs, (ms) => ms / bucketMs),
    usage,
    interruptions: groupRedos(rows.redos),
    topFailures: topMessages(rows.messages),
    items: n,
    redone: rows.redos.reduce((sum, r) => sum + r.redone, 0),
  };
}

/** The most frequent types each as a series; the rest summed into one. */
function chartedTypes(names: string[], counts: number[][]): ItemTimeline['failedByType'] {
  const ranked = names.map((type, i) => ({ type, counts: counts[i], total: counts[i].reduce((a, b) => a + b, 0) }));
  ranked.sort((a, b) => b.total - a.total || (a.type < b.type ? -1 : 1));
  const shown = ranked.slice(0, CHARTED_TYPES).map(({ type, counts }) => ({ type, counts }));
  const rest = ranked.slice(CHARTED_TYPES);
  if (rest.length > 0) {
    shown.push({
      type: `${rest.length} other types`,
      counts: rest[0].counts.map((_, b) => rest.reduce((sum, r) => sum + r.counts[b], 0)),
    });
  }
  return shown;
}

function topMessages(messages: Map<string, number>): ItemTimeline['topFailures'] {
  return [...messages]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, LISTED_MESSAGES)
    .map(([key, count]) => {
      const [type, message] = key.split('\u0000');
      return { type, message, count };
    });
}

/** Redone items, by the time their redo started, grouped into the interruptions that caused them. */
export function groupRedos(redos: { at: number; redone: number }[]): Interruption[] {
  const sorted = [...redos].sort((a, b) => a.at - b.at);
  const out: Interruption[] = [];
  let last = -Infinity;
  for (const r of sorted) {
    if (r.at - last > INTERRUPTION_GAP_MS || out.length === 0) out.push({ at: r.at, redone: 0 });
    out[out.length - 1].redone += r.redone;
    last = r.at;
  }
  return out;
}

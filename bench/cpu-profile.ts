/**
 * A sampling CPU profile of this process (where activities run) while something runs, summed
 * by self time into the parts of waymark's item path. Workflow code runs in worker threads and
 * the SDK core in native threads: neither is sampled, which is the point (the item path is here).
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

export interface ProfileShare {
  part: string;
  /** Fraction of the samples taken while the work ran. */
  share: number;
}

/** Which part of the item path a stack frame belongs to, from its file. Order matters: first match wins. */
const PARTS: [string, RegExp][] = [
  ['ledger (SqliteLedger + better-sqlite3 + SQLite)', /sqlite-ledger|better-sqlite3/],
  ['source read (LineSource, line scanner, JSON.parse)', /line-source|line-scanner|source-file/],
  ['item runner (timeout, abort wiring, attempts)', /run-item/],
  ['processSlice (item loop, slice session, suspects)', /process-slice|slice-session|suspect-items/],
  ['processor', /processors\//],
  ['Temporal SDK (activity dispatch, heartbeats, payloads, native bridge)', /@temporalio/],
  ['Node internals (timers, promises, events, fs)', /^node:|^internal\//],
];

/**
 * Self time by part. A frame without a file (a V8 builtin such as a Promise method or
 * JSON.stringify, or a native addon function such as better-sqlite3's Statement.run) is charged
 * to its nearest caller that has one, so the time lands on the code that asked for it.
 */
function sharesByPart(nodes: ProfileNode[]): ProfileShare[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of nodes) for (const child of n.children ?? []) parent.set(child, n);
  const partOf = (node: ProfileNode): string => {
    const { functionName } = node.callFrame;
    if (functionName === '(idle)') return 'idle (waiting for I/O or timers)';
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'native / V8 (program)';
    for (let at: ProfileNode | undefined = node; at; at = parent.get(at.id)) {
      const { url } = at.callFrame;
      if (!url) continue;
      for (const [part, pattern] of PARTS) if (pattern.test(url)) return part;
      return 'other JS';
    }
    return 'V8 builtins called from no JS frame (microtask queue, timers)';
  };
  const byPart = new Map<string, number>();
  let total = 0;
  for (const node of byId.values()) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const part = partOf(node);
    byPart.set(part, (byPart.get(part) ?? 0) + hits);
  }
  return [...byPart.entries()].map(([part, hits]) => ({ part, share: hits / total })).sort((a, b) => b.share - a.share);
}

/** `saveTo`: also write the raw profile there (open it in Chrome DevTools or speedscope). */
export async function profileWhile<T>(
  work: () => Promise<T>,
  saveTo?: string,
  intervalUs = 200,
): Promise<{ result: T; shares: ProfileShare[] }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[] } };
  session.disconnect();
  if (saveTo) fs.writeFileSync(saveTo, JSON.stringify(profile));
  if (!outcome.ok) throw outcome.error;
  const result = outcome.value;
  return { result, shares: sharesByPart(profile.nodes) };
}

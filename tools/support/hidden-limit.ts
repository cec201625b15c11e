/**
 * How adaptive lanes measure against an API whose limit they are not told (quota-api-server.ts
 * with `maxInFlight`, or a rate): when the batch converged, its throughput and its share of 429s
 * after that, and how long its lanes took to follow a limit that changed. Pure functions of what
 * the API recorded and of the batch's lane samples, shared by the tests and the bench.
 */
import type { RecordedRequest } from './quota-api-server';

/** A batch has converged once this share of the reference throughput holds over a window. */
export const CONVERGED_SHARE = 0.8;
/** The window a throughput is measured over while looking for convergence. */
export const CONVERGENCE_WINDOW_MS = 10_000;
/** The first and last moments of a run (planning, the last slices ending) are left out of its steady throughput. */
const EDGE_MS = 1000;

/** Requests the API answered 200 per second within [from, to). */
export function successRate(requests: RecordedRequest[], from: number, to: number): number {
  const ok = requests.filter((r) => r.status === 200 && r.at >= from && r.at < to).length;
  return ok / ((to - from) / 1000);
}

/** 429s among all requests within [from, to). */
export function refusedShare(requests: RecordedRequest[], from: number, to: number): number {
  const within = requests.filter((r) => r.at >= from && r.at < to);
  return within.length === 0 ? 0 : within.filter((r) => r.status === 429).length / within.length;
}

/** The run's first and last request. */
export function span(requests: RecordedRequest[]): { from: number; to: number } {
  const at = requests.map((r) => r.at);
  return { from: Math.min(...at), to: Math.max(...at) };
}

/** A reference batch's throughput (a fixed C, or a named rate limit): 200s a second, its first and last second left out. */
export function steadyRate(requests: RecordedRequest[]): number {
  const { from, to } = span(requests);
  return successRate(requests, from + EDGE_MS, to - EDGE_MS);
}

export interface Convergence {
  /** From the batch's first request to the start of the first window at >= CONVERGED_SHARE of the reference; undefined if none. */
  convergedAfterMs: number | undefined;
  /** From there to the end: 200s a second, and that against the reference. */
  rateAfter: number;
  shareOfReference: number;
  /** From there to the end: 429s among all requests. */
  refusedAfter: number;
  /** 429s over the whole run, convergence included. */
  refusedInAll: number;
}

/** When an adaptive batch reached CONVERGED_SHARE of `reference` (200s a second), and how it did from then on. */
export function convergence(requests: RecordedRequest[], reference: number): Convergence {
  const { from, to } = span(requests);
  let convergedAt: number | undefined;
  for (let t = from; t + CONVERGENCE_WINDOW_MS <= to; t += 250) {
    if (successRate(requests, t, t + CONVERGENCE_WINDOW_MS) >= CONVERGED_SHARE * reference) {
      convergedAt = t;
      break;
    }
  }
  const after = convergedAt ?? to;
  const rateAfter = convergedAt === undefined ? 0 : successRate(requests, after, to - EDGE_MS);
  return {
    convergedAfterMs: convergedAt === undefined ? undefined : convergedAt - from,
    rateAfter,
    shareOfReference: rateAfter / reference,
    refusedAfter: refusedShare(requests, after, to),
    refusedInAll: refusedShare(requests, from, to),
  };
}

/** A batch's lanes at a moment (the ledger's lane samples). */
export interface LanesAt {
  at: number;
  lanes: number;
}

/** How long after `changedAt` the lanes were first at or below `limit`; undefined if never. */
export function followedAfterMs(samples: LanesAt[], changedAt: number, limit: number): number | undefined {
  const first = samples.find((s) => s.at >= changedAt && s.lanes <= limit);
  return first === undefined ? undefined : first.at - changedAt;
}

/** How a series of start (or arrival) times measures against a rate limit (INVARIANTS.md I13). */

/** The most times in any half-open window [t, t + periodMs). */
export function mostInAnyWindow(times: number[], periodMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last] - sorted[first] >= periodMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** Times per period after the first period (which may spend a burst), from the first of them to the last. */
export function rateAfterFirstPeriod(times: number[], periodMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  const steady = sorted.filter((t) => t >= sorted[0] + periodMs);
  return (steady.length - 1) / ((steady[steady.length - 1] - steady[0]) / periodMs);
}

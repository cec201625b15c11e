/** Reading a worker's Prometheus endpoint (WAYMARK_METRICS_PORT) in tests. */

/** The sum of a metric's samples in a Prometheus text page, over the label sets that contain `labels`. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => set[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

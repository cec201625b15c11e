/** Progress lines on stderr, with the seconds since the bench started. */
const t0 = Date.now();

export function log(line: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** What every section of BENCHMARKS.md writes its figures with. */

/** A whole number with thousands separators. */
export const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

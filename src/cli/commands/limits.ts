/** `waymark limits`: the named rate limits in the ledger, read from the ledger alone (no worker needed). */
import type { Command } from 'commander';
import { describeLedger, existingLedger } from '../../ledger/open-ledger';
import type { RateLimitState } from '../../ledger/rate-limits';
import { RATE_PERIODS } from '../../contract/batch-spec';
import { CliError } from '../../user-error';

export function addLimitsCommand(program: Command): void {
  program
    .command('limits')
    .description('named rate limits: each key with its rate, the tokens left now and any hold by a quota signal')
    .option('--json', 'print one JSON line per key')
    .action(limits);
}

async function limits(o: { json?: boolean }): Promise<void> {
  // Read-only: a mistyped data dir must not leave an empty ledger behind.
  const ledger = existingLedger();
  if (ledger === undefined) {
    throw new CliError(
      `no ${describeLedger()}: no worker has run with this data dir; set WAYMARK_DATA_DIR to the worker's data dir (or WAYMARK_LEDGER_URL to its PostgreSQL ledger)`,
    );
  }
  try {
    const keys = await ledger.rateLimits();
    if (o.json) {
      for (const k of keys) console.log(JSON.stringify(k));
      return;
    }
    if (keys.length === 0) {
      console.log('no rate limits yet: a key appears once a batch with a rateLimit (--rate-limit KEY=LIMIT/PERIOD) starts an item');
      return;
    }
    const rows = keys.map(row);
    const header = ['key', 'rate', 'burst', 'tokens', 'held until', 'declared by'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const line of [header, ...rows])
      console.log(
        line
          .map((cell, i) => cell.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      );
  } finally {
    await ledger.close();
  }
}

function row(k: RateLimitState): string[] {
  const per = Object.entries(RATE_PERIODS).find(([, ms]) => ms === k.rate.periodMs)?.[0] ?? `${k.rate.periodMs} ms`;
  return [
    k.key,
    `${k.rate.limit}/${per}`,
    String(k.rate.burst),
    String(k.tokens),
    k.heldUntil === undefined ? '-' : new Date(k.heldUntil).toISOString(),
    k.declaredBy,
  ];
}

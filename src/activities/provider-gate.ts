/**
 * What lets a provider job go (provider-submit.ts), checked before each one: no pause or stop,
 * no quota hold on the batch, the budget not reached (a budget counts what collected jobs used:
 * their items' usage is committed with their outcomes), and the batch's named rate limit
 * (INVARIANTS.md I13). A limit on items counts the requests sent: a job takes a token per item,
 * and goes with as many items as it got; a limit on a usage unit (tokens) lets a job go while
 * the key's bucket is above empty, and is charged what the job used once it is collected.
 */
import type { Usage } from '../contract/usage';
import { ledgerKey } from '../ledger/rate-limit-rows';
import { BudgetGuard } from './budget-guard';
import { rateOf } from './pacer';
import type { ProviderSliceContext } from './provider-context';
import type { SendGate, SendStop } from './provider-submit';

export function providerSendGate(ctx: ProviderSliceContext): SendGate {
  const { session, ledger, spec } = ctx;
  const budget = BudgetGuard.forSpec(ledger, session.batchId, spec);
  return {
    async blocked(): Promise<SendStop | undefined> {
      if (session.stopping) return { kind: 'stopped' };
      const now = Date.now();
      if (session.held(now)) return { kind: 'quota', retryAfterMs: session.heldUntil! - now };
      if (budget !== undefined && (await budget.reached(session.cursor))) return { kind: 'budget' };
      return undefined;
    },
    async take(wanted: number): Promise<number | SendStop> {
      const limit = spec.rateLimit;
      if (limit === undefined) return wanted;
      const rate = rateOf(limit);
      const key = ledgerKey(limit.key, rate.unit);
      let granted = 0;
      // A usage unit's bucket lets a job go while it is above empty: one token says so.
      const asked = rate.unit === undefined ? wanted : 1;
      while (granted < asked) {
        const take = await ledger.takeTokens(key, asked - granted, rate, session.batchId);
        if (take.granted === 0) {
          if (granted > 0) break;
          return { kind: 'quota', retryAfterMs: Math.max(1, (take.retryAt ?? take.now) - take.now), pacedOn: key };
        }
        granted += take.granted;
      }
      return rate.unit === undefined ? granted : wanted;
    },
  };
}

/** A limit on a usage unit is charged what a collected job's items used of it. */
export async function chargeCollected(ctx: ProviderSliceContext, usage: Usage): Promise<void> {
  const limit = ctx.spec.rateLimit;
  if (limit === undefined || limit.unit === 'items') return;
  const amount = usage[limit.unit] ?? 0;
  const rate = rateOf(limit);
  if (amount > 0) await ctx.ledger.chargeUsage(ledgerKey(limit.key, rate.unit), amount, rate, ctx.session.batchId);
}

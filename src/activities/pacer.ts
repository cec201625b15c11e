/**
 * The pacer: a slice's side of a named rate limit (INVARIANTS.md I13). Before each item starts it
 * takes a token from the key's bucket in the ledger, shared with every worker and batch that
 * names the key. Tokens come in blocks (rate-limit-bucket.ts `blockSize`), kept here until they
 * are used or their time (`useWithinMs`) is up, so a fast limit costs one ledger transaction per
 * block rather than per item.
 */
import type { RateLimitRate, RateLimits } from '../ledger/rate-limits';
import { RATE_PERIODS, type RateLimitSpec } from '../contract/batch-spec';
import { blockSize } from '../ledger/rate-limit-bucket';
import { ledgerKey } from '../ledger/rate-limit-rows';
import type { Usage } from '../contract/usage';

/** Why an item may not start yet, and for how long. */
export interface PaceWait {
  key: string;
  waitMs: number;
  /** True when a quota signal holds the key; false when the key's rate paces it. */
  held: boolean;
}

export function rateOf(limit: RateLimitSpec): RateLimitRate {
  const rate = { limit: limit.limit, periodMs: RATE_PERIODS[limit.per], burst: limit.burst };
  return limit.unit === 'items' ? rate : { ...rate, unit: limit.unit };
}

export class Pacer {
  private readonly rate: RateLimitRate;
  private tokens = 0;
  private usableUntil = 0;
  /** Tokens asked for per take: a block, fewer after a block was partly dropped unused. */
  private wanted: number;
  /** The acquire before this one: a slice's lanes take their tokens one after another. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ledger: RateLimits,
    readonly limit: RateLimitSpec,
    private readonly batchId: string,
    /** Told of every wait (the slice's metrics count them). */
    private readonly onWait: (wait: PaceWait) => void = () => {},
  ) {
    this.rate = rateOf(limit);
    this.wanted = blockSize(this.rate);
  }

  /** The key in the ledger, and as status shows it: a usage unit's is `KEY/UNIT`. */
  get key(): string {
    return ledgerKey(this.limit.key, this.rate.unit);
  }

  /**
   * A usage unit's limit: charges what an item used (its reported usage of the unit), once it
   * has ended; an item that reported none charges nothing. Items are not charged again.
   */
  async charge(usage: Usage | undefined): Promise<void> {
    const unit = this.rate.unit;
    const amount = unit === undefined ? 0 : (usage?.[unit] ?? 0);
    if (amount > 0) await this.ledger.chargeUsage(this.key, amount, this.rate, this.batchId);
  }

  /**
   * Takes one token for an item about to start. Returns undefined when it may start now, or the
   * wait before it may. `now` is the local clock (a fake one in tests), which also measures a
   * block's time; the ledger's clock decides the waits. The lanes of a slice acquire in turn:
   * lanes that found no token at once would each take a block, and what a slice takes and does
   * not use in time is lost to every batch that shares the key.
   */
  acquire(now?: number, ledgerNow?: number): Promise<PaceWait | undefined> {
    const turn = this.previous.then(() => this.acquireInTurn(now ?? Date.now(), ledgerNow));
    this.previous = turn.catch(() => undefined);
    return turn;
  }

  private async acquireInTurn(now: number, ledgerNow?: number): Promise<PaceWait | undefined> {
    if (this.tokens > 0 && now <= this.usableUntil) {
      this.tokens--;
      return undefined;
    }
    // A block that ran out of time while tokens were left: items here run slower than the rate,
    // so ask for no more than were used; one used up asks for more again, up to a block.
    if (this.tokens > 0) this.wanted = Math.max(1, this.wanted - this.tokens);
    else this.wanted = Math.min(blockSize(this.rate), this.wanted * 2);
    this.tokens = 0;
    const take = await this.ledger.takeTokens(this.key, this.wanted, this.rate, this.batchId, ledgerNow);
    if (take.granted === 0) {
      const wait = { key: this.key, waitMs: Math.max(1, take.retryAt! - take.now), held: take.heldUntil !== undefined };
      this.onWait(wait);
      return wait;
    }
    this.tokens = take.granted - 1;
    this.usableUntil = now + take.useWithinMs;
    return undefined;
  }

  /**
   * A quota signal from the API: every batch and worker that names the key waits `forMs`.
   * Tokens kept here are dropped, as the API just refused.
   */
  async hold(forMs: number, ledgerNow?: number): Promise<void> {
    this.tokens = 0;
    await this.ledger.holdRateLimit(this.key, forMs, this.rate, this.batchId, ledgerNow);
  }
}

/**
 * The batch-wide lease under which a suspect item runs alone among suspects, so that a crash
 * is charged to the item that caused it and not to a healthy suspect beside it. Expires
 * `ttlMs` after it was taken or renewed, so a holder that died releases it.
 */
export interface SuspectLease {
  acquireSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<boolean>;
  renewSuspectLease(batchId: string, owner: string, ttlMs: number): Promise<void>;
  releaseSuspectLease(batchId: string, owner: string): Promise<void>;
}

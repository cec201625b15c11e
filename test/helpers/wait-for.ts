import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it holds, for state a server reaches asynchronously. Fails naming
 * `what`, so a timeout says what never happened.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

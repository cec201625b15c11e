/**
 * A write to a batch's control in the ledger (lanes lent, a pause, a stop) nudges the batch's
 * slices running in this process to read it at once. Slices in other processes read it on their
 * next poll, within half a second; the ledger stays the one place control is read from, the nudge
 * only says when. Lent lanes at a window's end are worth most the moment they are free: the last
 * slices of a window end within a few hundred milliseconds of each other.
 */
const listening = new Map<string, Set<() => void>>();

/** Calls `read` whenever this process writes the batch's control; returns what stops it. */
export function onControlWritten(batchId: string, read: () => void): () => void {
  let readers = listening.get(batchId);
  if (readers === undefined) listening.set(batchId, (readers = new Set()));
  readers.add(read);
  return () => {
    readers.delete(read);
    // Called twice, it must not drop the set a later slice of the batch made.
    if (readers.size === 0 && listening.get(batchId) === readers) listening.delete(batchId);
  };
}

/** Tells the batch's slices in this process that its control in the ledger changed. */
export function controlWritten(batchId: string): void {
  for (const read of listening.get(batchId) ?? []) read();
}

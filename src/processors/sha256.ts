/**
 * `sha256`: the hex SHA-256 of the item's text (a string as is, anything else as its JSON),
 * or, for folder sources, of the file's bytes.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { defineProcessor } from './processor';
import { rejectUnknownOptions } from './options';
import { itemText } from './item-text';

/** Streams the file so a large file costs a buffer, not its size, in memory. */
async function hashFile(hash: Hash, file: string, signal: AbortSignal): Promise<void> {
  try {
    for await (const chunk of createReadStream(file, { signal })) hash.update(chunk as Buffer);
  } catch (err) {
    // The stream wraps the abort in its own AbortError; rethrow the caller's reason instead.
    throw signal.aborted ? signal.reason : err;
  }
}

export const sha256Processor = defineProcessor(
  async (item, ctx) => {
    const hash = createHash('sha256');
    if (ctx.file === undefined) hash.update(itemText(item));
    else await hashFile(hash, ctx.file, ctx.signal);
    return hash.digest('hex');
  },
  { validateOptions: (options) => rejectUnknownOptions('sha256', options, []) },
);

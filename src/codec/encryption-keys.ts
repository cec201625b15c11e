/**
 * The keys of payload encryption, from the environment:
 *
 *   WAYMARK_ENCRYPTION_KEY       the key new payloads are encrypted with: 32 bytes, base64
 *                                (`openssl rand -base64 32`); unset means no encryption
 *   WAYMARK_ENCRYPTION_KEY_ID    its id, written into every payload it encrypts
 *                                (default: a fingerprint of the key)
 *   WAYMARK_ENCRYPTION_OLD_KEYS  keys that only decrypt, after a rotation: `id:base64,id:base64`
 *
 * Every payload names the id of its key, so after a rotation the old key stays listed for
 * the history written under it, and new payloads use the new one.
 */
import { createHash } from 'node:crypto';

export const KEY_BYTES = 32;

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface EncryptionKeys {
  /** Encrypts new payloads. */
  current: EncryptionKey;
  /** Decrypts payloads by key id; holds the current key too. */
  byId: ReadonlyMap<string, Buffer>;
}

/** A key that is set but unusable: one line naming the variable and the fix. */
export class EncryptionKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionKeyError';
  }
}

/** The configured keys, or undefined when WAYMARK_ENCRYPTION_KEY is not set. */
export function encryptionKeysFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionKeys | undefined {
  const raw = env.WAYMARK_ENCRYPTION_KEY;
  if (!raw) {
    if (env.WAYMARK_ENCRYPTION_KEY_ID || env.WAYMARK_ENCRYPTION_OLD_KEYS) {
      throw new EncryptionKeyError(
        'WAYMARK_ENCRYPTION_KEY_ID or WAYMARK_ENCRYPTION_OLD_KEYS is set but WAYMARK_ENCRYPTION_KEY is not; set the key too, or unset them',
      );
    }
    return undefined;
  }
  const key = parseKey(raw, 'WAYMARK_ENCRYPTION_KEY');
  const id = env.WAYMARK_ENCRYPTION_KEY_ID?.trim() || keyFingerprint(key);
  checkId(id, 'WAYMARK_ENCRYPTION_KEY_ID');
  const byId = new Map<string, Buffer>([[id, key]]);
  for (const entry of (env.WAYMARK_ENCRYPTION_OLD_KEYS ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon <= 0)
      throw new EncryptionKeyError(
        `WAYMARK_ENCRYPTION_OLD_KEYS takes id:base64-key pairs separated by commas, got "${entry.slice(0, 20)}…"`,
      );
    const oldId = entry.slice(0, colon);
    checkId(oldId, 'WAYMARK_ENCRYPTION_OLD_KEYS');
    const oldKey = parseKey(entry.slice(colon + 1), `WAYMARK_ENCRYPTION_OLD_KEYS (key "${oldId}")`);
    const known = byId.get(oldId);
    if (known && !known.equals(oldKey))
      throw new EncryptionKeyError(`key id "${oldId}" is given two different keys; every key needs its own id`);
    byId.set(oldId, oldKey);
  }
  return { current: { id, key }, byId };
}

/** A short id derived from the key: the same key always gets the same id, and it reveals nothing. */
export function keyFingerprint(key: Buffer): string {
  return `sha256:${createHash('sha256').update('waymark payload key').update(key).digest('hex').slice(0, 16)}`;
}

function parseKey(raw: string, name: string): Buffer {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw new EncryptionKeyError(`${name} is not base64; make a key with \`openssl rand -base64 32\``);
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new EncryptionKeyError(
      `${name} must be ${KEY_BYTES} bytes in base64 (AES-256), got ${key.length} bytes; make one with \`openssl rand -base64 32\``,
    );
  }
  return key;
}

function checkId(id: string, name: string): void {
  if (!/^[\w.:@-]{1,64}$/.test(id)) {
    throw new EncryptionKeyError(`${name}: a key id is 1-64 letters, digits or . _ : @ -, got "${id.slice(0, 64)}"`);
  }
}

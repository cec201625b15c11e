/**
 * A PayloadCodec that encrypts every payload with AES-256-GCM before it leaves the process, so
 * the Temporal server (its history, its database, its Web UI without a codec server) only ever
 * holds ciphertext of specs, results, heartbeat details and the rest.
 *
 * The whole payload (its metadata and data, as the Payload protobuf) is encrypted; the wire
 * payload keeps only `encoding: binary/encrypted`, the cipher and the key id in clear, and its
 * data is IV (12 bytes) + ciphertext + tag (16 bytes). The key id is authenticated too, so a
 * payload cannot be passed off as another key's. Payloads not encrypted by this codec (history
 * written before encryption was turned on) pass through decode untouched.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { EncryptionKeys } from './encryption-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const CIPHER = 'AES256-GCM';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload this process cannot decrypt: the message says which key it needs. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keys: EncryptionKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.keys.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(id));
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_CIPHER]: Buffer.from(CIPHER),
        [METADATA_KEY_ID]: Buffer.from(id),
      },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    const id = Buffer.from(payload.metadata?.[METADATA_KEY_ID] ?? []).toString();
    const cipherName = Buffer.from(payload.metadata?.[METADATA_CIPHER] ?? []).toString();
    if (cipherName !== CIPHER) {
      throw new PayloadDecryptionError(
        `a payload is encrypted with "${cipherName || 'an unnamed cipher'}", not ${CIPHER}; it was not written by waymark's codec`,
      );
    }
    const key = this.keys.byId.get(id);
    if (!key) {
      throw new PayloadDecryptionError(
        `a payload is encrypted with key id "${id}", which this process does not have (its key is "${this.keys.current.id}"); ` +
          'set WAYMARK_ENCRYPTION_KEY to that key, or list it in WAYMARK_ENCRYPTION_OLD_KEYS as id:base64-key',
      );
    }
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`an encrypted payload (key id "${id}") is truncated: ${data.length} bytes`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `a payload encrypted with key id "${id}" does not decrypt with this process's key of that id: ` +
          'the key is wrong (WAYMARK_ENCRYPTION_KEY or WAYMARK_ENCRYPTION_OLD_KEYS differ from the key that wrote it) or the payload was altered',
      );
    }
    return temporal.api.common.v1.Payload.decode(plaintext);
  }
}

function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString() === ENCRYPTED_ENCODING;
}

/** The payload codec on its own: round trip, key ids, rotation, wrong keys, bad key settings. */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  AesGcmPayloadCodec,
  CIPHER,
  ENCRYPTED_ENCODING,
  METADATA_CIPHER,
  METADATA_KEY_ID,
  PayloadDecryptionError,
} from '../../src/codec/aes-gcm-codec';
import { EncryptionKeyError, encryptionKeysFromEnv, keyFingerprint } from '../../src/codec/encryption-keys';
import { waymarkDataConverter } from '../../src/codec/data-converter';

const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');

function codec(env: NodeJS.ProcessEnv): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(encryptionKeysFromEnv(env)!);
}

const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString();
const spec = { source: { kind: 'text', path: '/secret/customers.txt' }, processor: { name: 'enrich' } };

describe('the AES-256-GCM payload codec', () => {
  it('encrypts the whole payload, names its key and cipher, and decrypts it back', async () => {
    const c = codec({ WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'k-2026' });
    const plain = defaultPayloadConverter.toPayload(spec);
    const [wire] = await c.encode([plain]);
    expect(text(wire.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(wire.metadata![METADATA_KEY_ID])).toBe('k-2026');
    expect(text(wire.metadata![METADATA_CIPHER])).toBe(CIPHER);
    expect(Object.keys(wire.metadata!).sort()).toEqual(['encoding', METADATA_CIPHER, METADATA_KEY_ID].sort());
    expect(text(wire.data)).not.toContain('customers');
    expect(text(wire.data)).not.toContain('json/plain');
    const [back] = await c.decode([wire]);
    expect(defaultPayloadConverter.fromPayload(back)).toEqual(spec);
    expect(text(back.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV per payload: the same value never gives the same ciphertext', async () => {
    const c = codec({ WAYMARK_ENCRYPTION_KEY: keyA });
    const p = defaultPayloadConverter.toPayload('same');
    const [one, two] = await c.encode([p, p]);
    expect(Buffer.from(one.data!).equals(Buffer.from(two.data!))).toBe(false);
  });

  it('handles empty payloads (undefined results) and payloads without data', async () => {
    const c = codec({ WAYMARK_ENCRYPTION_KEY: keyA });
    const payloads: Payload[] = [defaultPayloadConverter.toPayload(undefined), { metadata: {} }];
    const decoded = await c.decode(await c.encode(payloads));
    expect(defaultPayloadConverter.fromPayload(decoded[0])).toBeUndefined();
    expect(Buffer.from(decoded[1].data ?? []).length).toBe(0);
  });

  it('lets payloads that were never encrypted through (history from before encryption was on)', async () => {
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    expect(await codec({ WAYMARK_ENCRYPTION_KEY: keyA }).decode([plain])).toEqual([plain]);
  });

  it('defaults the key id to a fingerprint of the key', async () => {
    const [wire] = await codec({ WAYMARK_ENCRYPTION_KEY: keyA }).encode([defaultPayloadConverter.toPayload(1)]);
    expect(text(wire.metadata![METADATA_KEY_ID])).toBe(keyFingerprint(Buffer.from(keyA, 'base64')));
    expect(keyFingerprint(Buffer.from(keyA, 'base64'))).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('decrypts old payloads after a rotation when the old key is listed in WAYMARK_ENCRYPTION_OLD_KEYS', async () => {
    const [old] = await codec({ WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'k1' }).encode([
      defaultPayloadConverter.toPayload('old'),
    ]);
    const rotated = codec({ WAYMARK_ENCRYPTION_KEY: keyB, WAYMARK_ENCRYPTION_KEY_ID: 'k2', WAYMARK_ENCRYPTION_OLD_KEYS: `k1:${keyA}` });
    const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload('new')]);
    expect(text(fresh.metadata![METADATA_KEY_ID])).toBe('k2');
    const decoded = await rotated.decode([old, fresh]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['old', 'new']);
  });

  it('says which key id it lacks when a payload was written with another key', async () => {
    const [wire] = await codec({ WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'k1' }).encode([
      defaultPayloadConverter.toPayload(1),
    ]);
    const other = codec({ WAYMARK_ENCRYPTION_KEY: keyB, WAYMARK_ENCRYPTION_KEY_ID: 'k2' });
    await expect(other.decode([wire])).rejects.toThrow(PayloadDecryptionError);
    await expect(other.decode([wire])).rejects.toThrow(
      'a payload is encrypted with key id "k1", which this process does not have (its key is "k2"); set WAYMARK_ENCRYPTION_KEY to that key, or list it in WAYMARK_ENCRYPTION_OLD_KEYS as id:base64-key',
    );
  });

  it('says the key is wrong when the id matches but the key does not, and refuses a relabelled or altered payload', async () => {
    const [wire] = await codec({ WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'k1' }).encode([
      defaultPayloadConverter.toPayload(1),
    ]);
    const wrong = codec({ WAYMARK_ENCRYPTION_KEY: keyB, WAYMARK_ENCRYPTION_KEY_ID: 'k1' });
    await expect(wrong.decode([wire])).rejects.toThrow(/key id "k1" does not decrypt with this process's key of that id: the key is wrong/);

    // The key id is authenticated: moving a payload under another id that the reader has fails too.
    const both = codec({ WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'k1', WAYMARK_ENCRYPTION_OLD_KEYS: `k0:${keyA}` });
    const relabelled = { ...wire, metadata: { ...wire.metadata, [METADATA_KEY_ID]: Buffer.from('k0') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/does not decrypt/);
    const altered = Buffer.from(wire.data!);
    altered[20] ^= 1;
    await expect(both.decode([{ ...wire, data: altered }])).rejects.toThrow(/does not decrypt/);
  });
});

describe('encryption settings', () => {
  it('mean no codec when WAYMARK_ENCRYPTION_KEY is unset', () => {
    expect(waymarkDataConverter({})).toBeUndefined();
    expect(waymarkDataConverter({ WAYMARK_ENCRYPTION_KEY: keyA })?.payloadCodecs).toHaveLength(1);
  });

  it.each([
    [
      'not base64',
      { WAYMARK_ENCRYPTION_KEY: 'not base64!' },
      'WAYMARK_ENCRYPTION_KEY is not base64; make a key with `openssl rand -base64 32`',
    ],
    [
      '16 bytes',
      { WAYMARK_ENCRYPTION_KEY: randomBytes(16).toString('base64') },
      'WAYMARK_ENCRYPTION_KEY must be 32 bytes in base64 (AES-256), got 16 bytes; make one with `openssl rand -base64 32`',
    ],
    [
      'a key id alone',
      { WAYMARK_ENCRYPTION_KEY_ID: 'k1' },
      'WAYMARK_ENCRYPTION_KEY_ID or WAYMARK_ENCRYPTION_OLD_KEYS is set but WAYMARK_ENCRYPTION_KEY is not; set the key too, or unset them',
    ],
    [
      'a bad key id',
      { WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_KEY_ID: 'has space' },
      /WAYMARK_ENCRYPTION_KEY_ID: a key id is 1-64 letters/,
    ],
    [
      'an old key without id',
      { WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_OLD_KEYS: keyB },
      /WAYMARK_ENCRYPTION_OLD_KEYS takes id:base64-key pairs/,
    ],
    [
      'an old key too short',
      { WAYMARK_ENCRYPTION_KEY: keyA, WAYMARK_ENCRYPTION_OLD_KEYS: 'k0:AAAA' },
      /WAYMARK_ENCRYPTION_OLD_KEYS \(key "k0"\) must be 32 bytes/,
    ],
  ])('refuse %s with one clear line', (_what, env, message) => {
    expect(() => encryptionKeysFromEnv(env)).toThrow(EncryptionKeyError);
    expect(() => encryptionKeysFromEnv(env)).toThrow(message);
  });
});

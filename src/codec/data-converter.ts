/**
 * The data converter every waymark client and worker uses: the default one, plus payload
 * encryption when WAYMARK_ENCRYPTION_KEY is set, with failure messages encrypted too. Client and
 * worker must agree, so both take it from here; codecs run outside the workflow sandbox, so
 * workflow code is unaffected.
 */
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { encryptionKeysFromEnv } from './encryption-keys';

/**
 * The failure converter module. A worker given a prebuilt workflow bundle needs the bundle made
 * with it too (bundleWorkflowCode({ failureConverterPath })), or workflow failures stay in clear.
 */
export const ENCODED_FAILURES = require.resolve('./failure-converter');

/** undefined (the SDK's default converter) when no encryption key is set. */
export function waymarkDataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keys = encryptionKeysFromEnv(env);
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmPayloadCodec(keys)], failureConverterPath: ENCODED_FAILURES };
}

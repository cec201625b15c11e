/** The manifest of a batch on disk and in the ledger, and the pending ranges it reports. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Ledger } from '../ledger/ledger';
import type { BatchManifest } from '../contract/activity-io';
import { manifestFile } from '../settings';

export interface ManifestDeps {
  ledger: Ledger;
  dataDir: string;
}

export async function writeManifest(deps: ManifestDeps, batchId: string, spec: unknown, manifest: BatchManifest): Promise<string> {
  const manifestPath = manifestFile(batchId, deps.dataDir);
  await fs.mkdir(path.dirname(manifestPath), { recursive: true });
  // Write then rename, so a reader never sees half a manifest.
  await fs.writeFile(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.rename(`${manifestPath}.tmp`, manifestPath);
  await deps.ledger.saveBatch({ batchId, spec, manifest });
  return manifestPath;
}

/** [first, last] ranges of the indexes in [0, total) missing from the sorted `committed`. */
export function gaps(committed: number[], total: number): [number, number][] {
  const ranges: [number, number][] = [];
  let expected = 0;
  for (const index of committed) {
    if (index > expected) ranges.push([expected, index - 1]);
    expected = index + 1;
  }
  if (expected < total) ranges.push([expected, total - 1]);
  return ranges;
}

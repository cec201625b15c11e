/**
 * What the cluster tests need beyond Node: the server build, or Go to make it. On a developer's
 * machine without either they are skipped, saying why; in CI a missing toolchain is a failure.
 */
import { spawnSync } from 'node:child_process';
import { defaultServerBinDir } from '../../tools/cluster/cluster-layout';
import { builtServerBinaries } from '../../tools/cluster/server-binaries';

export const CLUSTER_REQUIRED = Boolean(process.env.CI) && process.env.CI !== 'false';

/** Why the cluster cannot be started here, or undefined when it can. */
export function clusterUnavailable(): string | undefined {
  if (builtServerBinaries(defaultServerBinDir())) return undefined;
  if (spawnSync('go', ['version']).error)
    return 'no Temporal server build in .temporal-bin and no Go to make one (`apt-get install golang-go`)';
  return undefined;
}

/** `describe`, or `describe.skip` naming the reason; never a skip in CI. */
export function describeWithCluster(title: string, body: () => void): void {
  const reason = CLUSTER_REQUIRED ? undefined : clusterUnavailable();
  if (reason) describe.skip(`${title} (skipped: ${reason})`, body);
  else describe(title, body);
}

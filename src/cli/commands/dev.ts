/** `waymark dev`: the Temporal dev server in the foreground. */
import type { Command } from 'commander';
import { exitWithLauncher } from '../exit-with-launcher';
import { dataDir } from '../../settings';
import { runDevServer } from '../../server/dev-server';
import { wholeNumber } from '../flag-values';

export function addDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run the Temporal dev server in the foreground, state kept in the data dir (default ./.waymark)')
    .option('--port <port>', 'gRPC port', wholeNumber('--port', 1), 7233)
    .option('--ui-port <port>', 'Web UI port', wholeNumber('--ui-port', 1), 8233)
    .action(async (o: { port: number; uiPort: number }) => {
      exitWithLauncher();
      process.exitCode = await runDevServer({ dataDir: dataDir(), port: o.port, uiPort: o.uiPort });
    });
}

/** `waymark worker`: a worker until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { exitWithLauncher } from '../exit-with-launcher';
import { runWorker } from '../../workers/run-worker';

export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: executes batches from the task queue until SIGINT/SIGTERM')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port or host:port (default WAYMARK_METRICS_PORT)')
    .action(async (o: { metricsPort?: string }) => {
      exitWithLauncher();
      await runWorker({ metricsPort: o.metricsPort });
    });
}

import { loadProcessorModule } from './registry';

/**
 * Loads the processor modules named in WAYMARK_PROCESSORS (comma-separated paths), so the
 * worker and the CLI, which validates specs before starting, know the same processors.
 */
export function loadConfiguredProcessors(env = process.env.WAYMARK_PROCESSORS): void {
  for (const modulePath of (env ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    loadProcessorModule(modulePath);
  }
}

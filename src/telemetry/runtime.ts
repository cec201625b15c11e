/**
 * The worker's Temporal Runtime: its logger and its metrics exporter, from the environment.
 *
 *   WAYMARK_METRICS_PORT  serve Prometheus metrics on this port (all interfaces), or on host:port;
 *                         the SDK's temporal_* metrics and waymark's own (batch-metrics.ts)
 *   WAYMARK_LOG_FORMAT    text (default) or json: one JSON object per line on stderr
 *   WAYMARK_LOG_LEVEL     TRACE, DEBUG, INFO (default), WARN or ERROR
 *
 * The Runtime can be installed once per process, before the first connection.
 */
import { DefaultLogger, Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/common';
import { CliError } from '../user-error';
import { HISTOGRAM_BUCKETS } from './batch-metrics';
import { jsonLogFunction } from './json-log';
import { STOP_SIGNALS } from '../workers/stop-signals';

const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
export type LogFormat = 'text' | 'json';

export interface TelemetrySettings {
  /** host:port of the Prometheus endpoint; none means no metrics are exported. */
  metricsBindAddress?: string;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

export interface TelemetryOverrides {
  /** `--metrics-port`: wins over WAYMARK_METRICS_PORT. */
  metricsPort?: number | string;
  /** The level when WAYMARK_LOG_LEVEL is not set (the demo keeps its progress bar clean with WARN). */
  defaultLogLevel?: LogLevel;
}

export function telemetrySettingsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: TelemetryOverrides = {}): TelemetrySettings {
  const port = overrides.metricsPort ?? env.WAYMARK_METRICS_PORT;
  const format = (env.WAYMARK_LOG_FORMAT || 'text').toLowerCase();
  if (format !== 'text' && format !== 'json') throw new CliError(`WAYMARK_LOG_FORMAT takes text or json, got "${env.WAYMARK_LOG_FORMAT}"`);
  const level = (env.WAYMARK_LOG_LEVEL || overrides.defaultLogLevel || 'INFO').toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new CliError(`WAYMARK_LOG_LEVEL takes ${LOG_LEVELS.join(', ')}, got "${env.WAYMARK_LOG_LEVEL}"`);
  return {
    ...(port !== undefined && port !== '' ? { metricsBindAddress: metricsBindAddress(String(port)) } : {}),
    logFormat: format,
    logLevel: level,
  };
}

/** "9464" listens on every interface (containers, remote Prometheus); "127.0.0.1:9464" only there. */
export function metricsBindAddress(raw: string): string {
  const text = raw.trim();
  const colon = text.lastIndexOf(':');
  const host = colon >= 0 ? text.slice(0, colon) : '0.0.0.0';
  const portText = colon >= 0 ? text.slice(colon + 1) : text;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535 || (colon >= 0 && host === '')) {
    throw new CliError(`the metrics port takes a port (1-65535) or host:port, got "${raw}" (WAYMARK_METRICS_PORT or --metrics-port)`);
  }
  return `${host}:${port}`;
}

export function runtimeOptions(settings: TelemetrySettings): RuntimeOptions {
  return {
    shutdownSignals: STOP_SIGNALS,
    logger: new DefaultLogger(settings.logLevel, settings.logFormat === 'json' ? jsonLogFunction : undefined),
    telemetryOptions: {
      // The SDK core's own warnings go through the same logger, so JSON mode is JSON throughout.
      logging: { filter: { core: settings.logLevel === 'ERROR' ? 'ERROR' : 'WARN', other: 'ERROR' }, forward: {} },
      ...(settings.metricsBindAddress
        ? { metrics: { prometheus: { bindAddress: settings.metricsBindAddress, histogramBucketOverrides: HISTOGRAM_BUCKETS } } }
        : {}),
    },
  };
}

/** Installs the Runtime; a metrics port already taken is a one-line CliError. */
export function installWaymarkRuntime(settings: TelemetrySettings): Runtime {
  try {
    return Runtime.install(runtimeOptions(settings));
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (settings.metricsBindAddress) {
      throw new CliError(`cannot serve metrics on ${settings.metricsBindAddress} (${why}); choose a free port with WAYMARK_METRICS_PORT`);
    }
    throw err;
  }
}

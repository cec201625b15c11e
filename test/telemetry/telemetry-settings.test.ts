/** The worker's telemetry settings and JSON log lines, without installing a Runtime. */
import { DefaultLogger } from '@temporalio/worker';
import { CliError } from '../../src/user-error';
import { metricsBindAddress, runtimeOptions, telemetrySettingsFromEnv } from '../../src/telemetry/runtime';
import { formatJsonLogLine } from '../../src/telemetry/json-log';
import { HISTOGRAM_BUCKETS } from '../../src/telemetry/batch-metrics';

describe('telemetry settings', () => {
  it('default to text logs at INFO and no metrics endpoint', () => {
    expect(telemetrySettingsFromEnv({})).toEqual({ logFormat: 'text', logLevel: 'INFO' });
    const options = runtimeOptions(telemetrySettingsFromEnv({}));
    expect(options.telemetryOptions?.metrics).toBeUndefined();
    expect(options.logger).toBeInstanceOf(DefaultLogger);
    expect((options.logger as DefaultLogger).level).toBe('INFO');
  });

  it("serve Prometheus on WAYMARK_METRICS_PORT on every interface, or on host:port, with waymark's histogram buckets", () => {
    expect(telemetrySettingsFromEnv({ WAYMARK_METRICS_PORT: '9464' }).metricsBindAddress).toBe('0.0.0.0:9464');
    const settings = telemetrySettingsFromEnv({
      WAYMARK_METRICS_PORT: '127.0.0.1:9464',
      WAYMARK_LOG_FORMAT: 'json',
      WAYMARK_LOG_LEVEL: 'debug',
    });
    expect(settings).toEqual({ metricsBindAddress: '127.0.0.1:9464', logFormat: 'json', logLevel: 'DEBUG' });
    expect(runtimeOptions(settings).telemetryOptions?.metrics).toEqual({
      prometheus: { bindAddress: '127.0.0.1:9464', histogramBucketOverrides: HISTOGRAM_BUCKETS },
    });
  });

  it("let --metrics-port win over WAYMARK_METRICS_PORT, and the demo's default level apply when none is set", () => {
    expect(telemetrySettingsFromEnv({ WAYMARK_METRICS_PORT: '9464' }, { metricsPort: 9100 }).metricsBindAddress).toBe('0.0.0.0:9100');
    expect(telemetrySettingsFromEnv({}, { defaultLogLevel: 'WARN' }).logLevel).toBe('WARN');
    expect(telemetrySettingsFromEnv({ WAYMARK_LOG_LEVEL: 'ERROR' }, { defaultLogLevel: 'WARN' }).logLevel).toBe('ERROR');
  });

  it("forward the SDK core's own logs to the same logger", () => {
    expect(runtimeOptions(telemetrySettingsFromEnv({})).telemetryOptions?.logging).toEqual({
      filter: { core: 'WARN', other: 'ERROR' },
      forward: {},
    });
  });

  it.each(['0', '65536', 'abc', ':9464', 'host:', '9464x'])('refuse the metrics port "%s" with one clear line', (raw) => {
    expect(() => metricsBindAddress(raw)).toThrow(CliError);
    expect(() => metricsBindAddress(raw)).toThrow(`the metrics port takes a port (1-65535) or host:port, got "${raw}"`);
  });

  it('refuse an unknown log format or level', () => {
    expect(() => telemetrySettingsFromEnv({ WAYMARK_LOG_FORMAT: 'xml' })).toThrow('WAYMARK_LOG_FORMAT takes text or json, got "xml"');
    expect(() => telemetrySettingsFromEnv({ WAYMARK_LOG_LEVEL: 'loud' })).toThrow(
      'WAYMARK_LOG_LEVEL takes TRACE, DEBUG, INFO, WARN, ERROR, got "loud"',
    );
  });
});

describe('JSON log lines', () => {
  const at = BigInt(Date.UTC(2026, 10, 28, 10, 15, 0, 123)) * 1_000_000n;

  it('are one object: time, level, message, then the attributes', () => {
    const line = formatJsonLogLine({ level: 'INFO', message: 'slice done', timestampNanos: at, meta: { workflowId: 'b1', items: 10 } });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      time: '2026-11-28T10:15:00.123Z',
      level: 'INFO',
      message: 'slice done',
      workflowId: 'b1',
      items: 10,
    });
    expect(Object.keys(JSON.parse(line)).slice(0, 3)).toEqual(['time', 'level', 'message']);
  });

  it('write errors and bigints readably, and never let an attribute replace time, level or message', () => {
    const err = new TypeError('bad item');
    const parsed = JSON.parse(
      formatJsonLogLine({ level: 'WARN', message: 'm', timestampNanos: at, meta: { error: err, n: 5n, level: 'fake', message: 'fake' } }),
    );
    expect(parsed).toMatchObject({
      level: 'WARN',
      message: 'm',
      n: '5',
      error: { name: 'TypeError', message: 'bad item', stack: expect.stringContaining('bad item') },
    });
  });

  it('survive a circular attribute', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(JSON.parse(formatJsonLogLine({ level: 'ERROR', message: 'm', timestampNanos: at, meta: { loop } }))).toEqual({
      time: '2026-11-28T10:15:00.123Z',
      level: 'ERROR',
      message: 'm',
      unserializableMeta: true,
    });
  });
});

/**
 * The spec's notify as a user writes it: a URL that would put a secret into workflow history is
 * refused with the fix, `${env:NAME}` is taken, and a mistake names the field.
 */
import { parseBatchSpec } from '../../src/contract/batch-spec';
import { judge, retryAfterMs } from '../../src/notifications/webhook';

const withNotify = (notify: unknown) => ({ source: { kind: 'text', path: '/data/x.txt' }, processor: { name: 'noop' }, notify });

describe("the spec's notify", () => {
  it('takes ${env:NAME} and plain URLs, with the default wait and stall times', () => {
    const spec = parseBatchSpec(withNotify({ targets: [{ url: '${env:SLACK_WEBHOOK_URL}' }, { url: 'https://ops.example.com/waymark' }] }));
    expect(spec.notify).toEqual({
      targets: [{ url: '${env:SLACK_WEBHOOK_URL}' }, { url: 'https://ops.example.com/waymark' }],
      quotaWaitMs: 600_000,
      stalledMs: 900_000,
    });
  });

  it.each([
    ['https://hooks.slack.com/services/T0/B0/XYZ', 'carries its secret (a hooks.slack.com webhook URL is the token)'],
    ['https://user:pw@ops.example.com/hook', 'carries a user or password'],
    ['https://ops.example.com/hook?token=abc', 'carries a query string'],
  ])('refuses %s, which would keep a secret in workflow history, and says to use ${env:NAME}', (url, what) => {
    expect(() => parseBatchSpec(withNotify({ targets: [{ url }] }))).toThrow(
      `invalid batch spec: notify.targets.0.url ${what}, which would be kept in workflow history; set it in the workers' environment and write "\${env:NAME}" (e.g. "\${env:SLACK_WEBHOOK_URL}") instead`,
    );
  });

  it('names the field of other mistakes', () => {
    expect(() => parseBatchSpec(withNotify({ targets: [{ url: 'ftp://x/y' }] }))).toThrow(
      'notify.targets.0.url must be an http:// or https:// URL, not ftp:',
    );
    expect(() => parseBatchSpec(withNotify({ targets: [{ url: 'http://x/y', events: ['done'] }] }))).toThrow(
      /notify\.targets\.0\.events\.0 must be events among finished, finished-with-failures, failed, cancelled, budget-reached, quota-wait, stalled, resumed/,
    );
    expect(() => parseBatchSpec(withNotify({ targets: [{ url: 'http://x/y', secretEnv: 'whsec_abc=' }] }))).toThrow(
      'notify.targets.0.secretEnv must be the name of an environment variable (letters, digits, _), not the secret itself',
    );
    expect(() => parseBatchSpec(withNotify({ targets: [], stalledMs: 10 }))).toThrow('notify.targets must name at least one target');
    expect(() => parseBatchSpec(withNotify({ targets: [{ url: 'http://x/y' }], hooks: 1 }))).toThrow(
      'notify.hooks is not a known field; remove it (known fields: targets, quotaWaitMs, stalledMs)',
    );
  });
});

describe("a receiver's answer", () => {
  it('2xx is delivered; 410 and other 4xx are given up; 429, 408 and 5xx are tried again, after Retry-After when given', () => {
    expect(judge(204, null, '')).toEqual({ kind: 'delivered' });
    expect(judge(410, null, 'channel_is_archived')).toMatchObject({ kind: 'give-up', why: expect.stringContaining('gone (410)') });
    expect(judge(404, null, 'channel_not_found')).toMatchObject({ kind: 'give-up' });
    expect(judge(429, '7', '')).toEqual({ kind: 'retry', why: 'the receiver answered 429', afterMs: 7000 });
    expect(judge(503, null, 'down')).toEqual({ kind: 'retry', why: 'the receiver answered 503 down' });
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:30 GMT', Date.parse('Wed, 21 Oct 2026 07:28:00 GMT'))).toBe(30_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

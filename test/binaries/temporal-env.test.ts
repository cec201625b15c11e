/** The jest helpers start both kinds of test server from the resolved local binaries. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDevServerEnv, createTimeSkippingEnv } from '../helpers/temporal-env';

describe('test environments', () => {
  let env: TestWorkflowEnvironment | undefined;
  afterEach(async () => {
    await env?.teardown();
    env = undefined;
  });

  it('createTimeSkippingEnv runs the time-skipping test server', async () => {
    env = await createTimeSkippingEnv();
    expect(env.supportsTimeSkipping).toBe(true);
  });

  it("createDevServerEnv runs the dev server with waymark's search attributes", async () => {
    env = await createDevServerEnv();
    expect(env.supportsTimeSkipping).toBe(false);
    const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(['WaymarkStatus', 'WaymarkSucceeded', 'WaymarkFailed']));
  });
});

/**
 * TestWorkflowEnvironment factories that run the project's pinned Temporal binaries.
 *
 * The SDK's default is to download a server, which fails on machines without internet;
 * the resolver hands it the local executable and falls back to that download only when
 * none is installed.
 */
import {
  TestWorkflowEnvironment,
  type LocalTestWorkflowEnvironmentOptions,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';
import { cliExecutableOption, testServerExecutableOption } from '../../src/server/resolve-binaries';
import { WAYMARK_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';

/** The time-skipping test server: durable timers fire at once. */
export function createTimeSkippingEnv(options: TimeSkippingTestWorkflowEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    ...options,
    server: { ...options.server, executable: testServerExecutableOption() },
  });
}

/**
 * The real dev server (no time skipping) with waymark's search attributes, for tests that
 * need full server behaviour, e.g. heartbeat details kept across a failed activity attempt.
 */
export function createDevServerEnv(options: LocalTestWorkflowEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    ...options,
    server: {
      ...options.server,
      executable: cliExecutableOption(),
      searchAttributes: [...WAYMARK_SEARCH_ATTRIBUTES, ...(options.server?.searchAttributes ?? [])],
    },
  });
}

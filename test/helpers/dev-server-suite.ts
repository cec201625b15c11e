/**
 * The setup most dev-server suites share: one real dev server, the bundled waymark workflows,
 * a temp dir and a SQLite ledger in it, made in beforeAll and taken down in afterAll (ledger,
 * then server, then the temp dir). Call it at the top of a describe block.
 */
import path from 'node:path';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { SqliteLedger } from '../../src/ledger/sqlite-ledger';
import { createWaymarkWorker, type WaymarkWorkerOptions } from '../../src/workers/create-worker';
import { createDevServerEnv } from './temporal-env';
import { bundleWaymarkWorkflows } from './workflow-bundle';
import { makeTempDir, removeTempDirs } from './temp-dir';

export interface DevServerSuite {
  readonly env: TestWorkflowEnvironment;
  readonly workflowBundle: WorkflowBundleWithSourceMap;
  readonly dir: string;
  readonly ledger: SqliteLedger;
  /** A waymark worker on this suite's server, ledger, temp dir and bundle. */
  worker(taskQueue: string, options?: Partial<WaymarkWorkerOptions>): Promise<Worker>;
}

export interface DevServerSuiteOptions {
  /** The server to run on (default: the dev server). */
  createEnv?: () => Promise<TestWorkflowEnvironment>;
  /** Runs first in afterAll, before the ledger is closed (e.g. stop a worker or a fake API). */
  beforeTeardown?: () => unknown;
}

export function devServerSuite(tempDirPrefix: string, options: DevServerSuiteOptions = {}): DevServerSuite {
  let env: TestWorkflowEnvironment;
  let workflowBundle: WorkflowBundleWithSourceMap;
  let dir: string;
  let ledger: SqliteLedger;

  beforeAll(async () => {
    env = await (options.createEnv ?? createDevServerEnv)();
    workflowBundle = await bundleWaymarkWorkflows();
    dir = makeTempDir(tempDirPrefix);
    ledger = new SqliteLedger(path.join(dir, 'ledger.sqlite'));
  });
  afterAll(async () => {
    await options.beforeTeardown?.();
    await ledger?.close();
    await env?.teardown();
    removeTempDirs();
  });

  return {
    get env() {
      return env;
    },
    get workflowBundle() {
      return workflowBundle;
    },
    get dir() {
      return dir;
    },
    get ledger() {
      return ledger;
    },
    worker: (taskQueue, extra = {}) =>
      createWaymarkWorker({ connection: env.nativeConnection, ledger, dataDir: dir, taskQueue, workflowBundle, ...extra }),
  };
}

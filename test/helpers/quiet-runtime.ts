/** Keeps test output readable: the SDK's INFO logs (worker state changes) drown test failures. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });

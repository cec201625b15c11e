/**
 * The activities a waymark worker registers, bound to the ledger and data dir of that worker.
 * Workflow code imports only `typeof` this (see src/workflows).
 */
import type { Ledger } from '../ledger/ledger';
import type {
  BatchTotalsInput,
  ControlSlicesInput,
  FinalizeInput,
  LendLanesInput,
  PlanWindowInput,
  ProcessSliceInput,
  RequestSplitInput,
} from '../contract/activity-io';
import { batchTotals } from './batch-totals';
import { planWindow } from './plan-window';
import { processSlice } from './process-slice';
import { finalize } from './finalize';
import { requestSplit } from './request-split';
import { controlSlices } from './control-slices';
import { lendLanes } from './lend-lanes';
import { deliverNotification, type DeliverNotificationInput } from './deliver-notification';
import { reportingLedger } from './ledger-unreachable';
import { Context } from '@temporalio/activity';
import { batchOrchestrationCost } from '../telemetry/orchestration-cost';

export interface ActivityDeps {
  ledger: Ledger;
  dataDir: string;
}

export function createActivities(deps: ActivityDeps) {
  return {
    planWindow: reportingLedger((input: PlanWindowInput) => planWindow(deps, input)),
    processSlice: reportingLedger((input: ProcessSliceInput) => processSlice(deps, input)),
    finalize: reportingLedger((input: FinalizeInput) =>
      finalize({ ...deps, orchestrationCost: (...args) => batchOrchestrationCost(Context.current().client, ...args) }, input),
    ),
    batchTotals: (input: BatchTotalsInput) => batchTotals(deps, input),
    requestSplit: (_input: RequestSplitInput) => requestSplit(),
    controlSlices: (input: ControlSlicesInput) => controlSlices(deps, input),
    lendLanes: (input: LendLanesInput) => lendLanes(deps, input),
    deliverNotification: (input: DeliverNotificationInput) => deliverNotification(deps, input),
  };
}

export type WaymarkActivities = ReturnType<typeof createActivities>;

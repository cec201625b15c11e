/**
 * Determinism: every recorded history of a representative batch must replay against the
 * current workflow code. A change that would break batches running when it is deployed fails
 * here; guard it with `patched()` (and keep the old path) instead of re-recording.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { quietLogger } from '../helpers/fake-activities';
import { SCENARIOS } from './scenarios';
import { bundleWaymarkWorkflows } from '../helpers/workflow-bundle';

const DIR = path.join(__dirname, 'histories');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const load = (file: string) => ({
  workflowId: file.replace(/\.json$/, ''),
  history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'))),
});

describe('replay of recorded batch histories', () => {
  let current: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    current = await bundleWaymarkWorkflows();
  });

  it('has a fixture for every scenario, including the runs after continue-as-new', () => {
    for (const s of SCENARIOS) expect(files).toContain(`${s.name}.run-1.json`);
    expect(files.filter((f) => f.startsWith('continue-as-new.')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s replays against the current workflow code', async (file) => {
    const { history } = load(file);
    await Worker.runReplayHistory({ workflowBundle: current }, history);
  });

  it('fails when the workflow code changes its commands (the test can fail)', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./changed-workflow'), logger: quietLogger });
    const { history } = load('continue-as-new.run-1.json');
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, history)).rejects.toThrow(DeterminismViolationError);
  });
});

export { batchWorkflow } from './batch-workflow';
export { notifyWorkflow } from './notify-workflow';

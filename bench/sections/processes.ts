/**
 * (g) A Python processor run four ways side by side, C = 1: a process per item (`exec`), one
 * persistent process (`exec-persistent`), the persistent process with M items per call, and the
 * in-process `sha256` processor as the reference. The script is the Python reference client
 * (examples/persistent/sha256_client.py): it imports hashlib, json, decimal and datetime and
 * returns the SHA-256 of the item, so every way computes the same thing.
 */
import path from 'node:path';
import type { BenchEnv } from '../bench-env';
import { itemsFile } from '../items-file';
import { runWaymarkBatch, type WaymarkRun } from '../run-waymark';
import { findPackageRoot } from '../../src/server/install-dir';
import { log } from '../log';

export interface ProcessesResult {
  items: number;
  itemsPerCall: number;
  runs: Array<{ label: string; run: WaymarkRun }>;
}

export async function measureProcesses(env: BenchEnv, opts: { items: number; itemsPerCall: number }): Promise<ProcessesResult> {
  const script = path.join(findPackageRoot(__dirname), 'examples', 'persistent', 'sha256_client.py');
  const file = itemsFile(env.dir, opts.items);
  const spec = { concurrency: 1 };
  const ways: Array<{ label: string; processor: string; options?: Record<string, unknown>; spec: object }> = [
    { label: 'exec: a Python process per item', processor: 'exec', options: { command: ['python3', script, '--once'] }, spec },
    { label: 'exec-persistent: one Python process', processor: 'exec-persistent', options: { command: ['python3', script] }, spec },
    {
      label: `exec-persistent, ${opts.itemsPerCall} items per call`,
      processor: 'exec-persistent',
      options: { command: ['python3', script] },
      spec: { ...spec, itemsPerCall: opts.itemsPerCall },
    },
    { label: 'sha256 in process (reference)', processor: 'sha256', spec },
  ];
  const result: ProcessesResult = { items: opts.items, itemsPerCall: opts.itemsPerCall, runs: [] };
  for (const way of ways) {
    const run = await runWaymarkBatch(env, { file, items: opts.items, processor: way.processor, options: way.options, spec: way.spec });
    result.runs.push({ label: way.label, run });
    log(`  ${way.label}: ${run.itemsPerSecond.toFixed(1)} items/s`);
  }
  return result;
}

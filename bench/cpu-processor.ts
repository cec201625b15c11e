/**
 * `bench-cpu`: a fixed amount of CPU work per item (no I/O, no await), calibrated once in the
 * bench process to take about 1 ms, and handed to every system as the processor option
 * `iterations`, so all of them do exactly the same work per item. Fixed work rather than
 * "spin for 1 ms": CPU that waymark or the server takes from the item shows up as slower items.
 */
import { defineProcessor } from '../src/processors/processor';
import { registerProcessor } from '../src/processors/registry';

export const CPU_PROCESSOR = 'bench-cpu';

/** Kept so the JIT cannot drop the loop as dead code. */
let sink = 0;

function spin(iterations: number): number {
  let x = sink | 1;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

export const cpuProcessor = defineProcessor(async (_item, ctx) => {
  sink = spin(Number(ctx.options.iterations));
  return null;
});

/** Registers `bench-cpu` in this process (the bench's in-process workers use the same registry). */
export function registerCpuProcessor(): void {
  registerProcessor(CPU_PROCESSOR, cpuProcessor);
}

/** Iterations that take `targetMs` of CPU on this machine now: the median of several timings. */
export function calibrateIterations(targetMs = 1): number {
  spin(5_000_000);
  const perMs: number[] = [];
  for (let round = 0; round < 9; round++) {
    const n = 2_000_000;
    const t0 = process.hrtime.bigint();
    sink = spin(n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    perMs.push(n / ms);
  }
  perMs.sort((a, b) => a - b);
  return Math.round(perMs[Math.floor(perMs.length / 2)] * targetMs);
}

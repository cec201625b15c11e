/**
 * `npm run demo`: the main job on the embedded default. Pronounces every word of the
 * `word-list` package (274,000 English words, a data set nobody in this project wrote) with
 * the CMU Pronouncing Dictionary, on a Temporal dev server with a SQLite file and a SQLite ledger.
 * Words the dictionary cannot pronounce land in the compensating record.
 */
import { registerProcessor } from '../../src/processors/registry';
import { validateSpecForStart } from '../../src/cli/start-batch';
import { printWhereToLook, runDemo, withDemoStage } from './demo-stage';
import { pronounce } from './pronounce';

// word-list ships no type declarations; it exports the path of its word file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WORDS_FILE = (require('word-list') as { default: string }).default;

async function main(): Promise<void> {
  registerProcessor('pronounce', pronounce);
  const spec = validateSpecForStart({
    source: { kind: 'text', path: WORDS_FILE },
    processor: { name: 'pronounce' },
  });
  await withDemoStage(async (stage) => {
    const run = await stage.run(spec, `demo-words-${Date.now()}`, WORDS_FILE);
    const { summary } = run;
    console.log('');
    console.log(`done: ${summary.total} words, ${summary.succeeded} pronounced, ${summary.failed} in the compensating record`);
    console.log(
      `      ${summary.itemsPerSecond} items/s over ${(summary.durationMs / 1000).toFixed(1)} s, ${summary.runs} workflow runs, redone ${summary.redone} (bound ${summary.resumeCostBound} per interruption)`,
    );
    printWhereToLook(run);
  });
}

runDemo(main);

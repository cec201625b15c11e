/** BENCHMARKS.md's section (l) Provider batch APIs. */
import { int, table } from './markdown';
import { byType, per1000 } from './report-lanes';
import type { ProviderBatchResult } from './sections/provider-batch';

export function providerBatchSection(r: ProviderBatchResult): string {
  const { plan } = r;
  const rows = r.cells.map((c) => [
    c.provider,
    int(c.run.items),
    int(c.jobs),
    `${c.run.seconds.toFixed(1)} s`,
    `${c.processingSeconds.toFixed(1)} s`,
    `**${c.beyondSeconds.toFixed(1)} s**`,
    int(c.run.events),
    c.run.eventsPerItem.toFixed(4),
    per1000(c.run.actions, c.run.items).toFixed(2),
    byType(c.run.actions, c.run.items),
  ]);
  return [
    `${int(plan.items)} items through the loopback fakes of OpenAI Batch and Anthropic Message Batches (tools/support), a provider job per slice of ${int(plan.sliceSize)}, ` +
      `C = ${plan.concurrency} (so ${Math.ceil(plan.items / plan.sliceSize)} jobs, ${plan.concurrency} at the provider at once), each job taking the fake ${plan.processingMs / 1000} s, ` +
      `polled every ${plan.pollIntervalMs / 1000} s on a durable timer. Beyond the fake's processing: the batch's time (start to result) less the time during which at least one of its jobs ` +
      "was running at the fake: waymark's uploads, creates, polls, and reading and committing the results. Every item was in exactly one provider job (the section fails otherwise). " +
      "Actions are the server's own count, the batch watched as `--wait` watches it (section (j)). Each poll is a timer and a short activity, so at a provider " +
      "a job's actions grow with its time over `pollIntervalMs` (default 60 s), not with its requests.",
    '',
    table(
      [
        'provider',
        'items',
        'jobs',
        'time',
        "fake's processing",
        'beyond it',
        'history events',
        'events per item',
        'actions per 1,000 items',
        'actions by type (per 1,000 items)',
      ],
      rows,
    ),
  ].join('\n');
}

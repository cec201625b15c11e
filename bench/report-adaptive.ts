/** BENCHMARKS.md's section (k) Adaptive lanes, with the issue's goals beside each figure. */
import { int, table } from './markdown';
import type { AdaptiveLanesResult, HiddenLimitCase } from './sections/adaptive-lanes';
import type { LaneSample } from '../src/ledger/lane-pools';
import { CONVERGED_SHARE, CONVERGENCE_WINDOW_MS } from '../tools/support/hidden-limit';

const CONVERGE_WITHIN_MS = 60_000;
const REFUSED_AFTER_BELOW = 0.05;
const FOLLOW_WITHIN_MS = 30_000;

const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
const percent = (share: number) => `${(share * 100).toFixed(share < 0.1 ? 2 : 0)} %`;
const met = (ok: boolean) => (ok ? 'yes' : '**no**');

function caseRow(label: string, reference: string, c: HiddenLimitCase): string[] {
  const v = c.convergence;
  const ok =
    v.convergedAfterMs !== undefined &&
    v.convergedAfterMs <= CONVERGE_WITHIN_MS &&
    v.shareOfReference >= CONVERGED_SHARE &&
    v.refusedAfter < REFUSED_AFTER_BELOW;
  return [
    label,
    `${reference}: ${c.reference.toFixed(1)}/s`,
    seconds(v.convergedAfterMs),
    `${v.rateAfter.toFixed(1)}/s (${percent(v.shareOfReference)})`,
    percent(v.refusedAfter),
    `${percent(v.refusedInAll)} of ${int(c.requests)}`,
    `${c.adaptive.lanes?.cuts ?? 0}`,
    met(ok),
  ];
}

/** The lanes over time, as `-2.0 s: 12, 0.1 s: 9 (cut), ...`, from `from` on, at most `max` samples. */
function lanesOverTime(samples: LaneSample[], zero: number, max: number): string {
  const shown = samples.slice(0, max).map((s) => `${((s.at - zero) / 1000).toFixed(1)} s: ${s.lanes}${s.cutCause ? ' (cut)' : ''}`);
  return `${shown.join(', ')}${samples.length > max ? `, … (${samples.length} samples in the manifest)` : ''}`;
}

export function adaptiveLanesSection(a: AdaptiveLanesResult): string {
  const h = a.halving;
  const halvingSamples = h.adaptive.lanes?.samples ?? [];
  const firstAt = halvingSamples[0]?.at ?? 0;
  const followed = h.followedAfterMs !== undefined && h.followedAfterMs <= FOLLOW_WITHIN_MS;
  return [
    `\`--concurrency auto:1-${a.max}\` against a loopback API (tools/support/quota-api-server.ts, the \`http\` processor) whose limit the batch is not told, ` +
      'beside a batch that is told, one after the other in this run; each batch checked for one outcome per item, every item answered 200 once. ' +
      `Converged: the start of the first ${CONVERGENCE_WINDOW_MS / 1000} s window in which the adaptive batch's 200s a second reach ${percent(CONVERGED_SHARE)} of the reference's ` +
      "(its steady rate, first and last second left out); the rate and the 429s after it run from there to the batch's end (tools/support/hidden-limit.ts). " +
      'Goals (issue 24): converged within 60 s, at >= 80 % of the reference, fewer than 5 % of requests answered 429 after; the lanes follow a halved limit within 30 s.',
    '',
    table(
      ['hidden limit', 'reference (told)', 'converged after', 'then', '429s after', '429s in all', 'cuts', 'goals met'],
      [
        caseRow(`${a.inFlight.limit} at once, ${a.inFlight.latencyMs} ms answers`, `C = ${a.inFlight.limit}`, a.inFlight),
        caseRow(
          `${a.rate.perSecond} a second, ${a.rate.latencyMs} ms answers`,
          `--rate-limit ${a.rate.perSecond}/second, C = ${a.rate.referenceConcurrency}`,
          a.rate,
        ),
      ],
    ),
    '',
    `A limit halved mid-batch: ${h.from} at once, ${h.to} from ${seconds(h.afterMs)} after the start (${h.latencyMs} ms answers, ${int(h.adaptive.items)} items): ` +
      `**${h.lanesBefore} lanes** before the halving, at or below ${h.to} **${seconds(h.followedAfterMs)}** after it (goal: within 30 s, ${met(followed)}); ` +
      `${percent(h.refusedAfter)} of requests answered 429 from then on. Lanes over time (from the first sample; the manifest's \`lanes.samples\`): ` +
      `${lanesOverTime(halvingSamples, firstAt, 40)}.`,
  ].join('\n');
}

/**
 * The demo's processor: pronounces an English word from the CMU Pronouncing Dictionary
 * (ARPAbet to IPA, syllables, stress pattern). Words the dictionary lacks, directly or as a
 * regular inflection of a word it has, fail by nature of the data: they land in the
 * compensating record, which is what the demo shows.
 */
import { defineProcessor, NonRetryableItemError } from '../../src/processors/processor';

const IPA: Record<string, string> = {
  AA: 'ɑ',
  AE: 'æ',
  AH: 'ʌ',
  AO: 'ɔ',
  AW: 'aʊ',
  AY: 'aɪ',
  B: 'b',
  CH: 'tʃ',
  D: 'd',
  DH: 'ð',
  EH: 'ɛ',
  ER: 'ɝ',
  EY: 'eɪ',
  F: 'f',
  G: 'ɡ',
  HH: 'h',
  IH: 'ɪ',
  IY: 'i',
  JH: 'dʒ',
  K: 'k',
  L: 'l',
  M: 'm',
  N: 'n',
  NG: 'ŋ',
  OW: 'oʊ',
  OY: 'ɔɪ',
  P: 'p',
  R: 'ɹ',
  S: 's',
  SH: 'ʃ',
  T: 't',
  TH: 'θ',
  UH: 'ʊ',
  UW: 'u',
  V: 'v',
  W: 'w',
  Y: 'j',
  Z: 'z',
  ZH: 'ʒ',
};
/** Unstressed AH and ER are the reduced vowels. */
const REDUCED: Record<string, string> = { AH0: 'ə', ER0: 'ɚ' };
const VOICELESS_END = new Set(['P', 'T', 'K', 'F', 'TH']);
const SIBILANT_END = new Set(['S', 'Z', 'SH', 'ZH', 'CH', 'JH']);

/** Regular English inflections: the base word's phonemes plus the suffix's, voiced by the base's last sound. */
const INFLECTIONS: { suffix: string; bases: (w: string) => string[]; sound: (last: string) => string }[] = [
  { suffix: 'ing', bases: (b) => [b, `${b}e`, undouble(b)], sound: () => 'IH0 NG' },
  {
    suffix: 'ed',
    bases: (b) => [b, `${b}e`, undouble(b)],
    sound: (l) => (l === 'T' || l === 'D' ? 'IH0 D' : VOICELESS_END.has(l) ? 'T' : 'D'),
  },
  { suffix: 'es', bases: (b) => [b], sound: () => 'IH0 Z' },
  { suffix: 's', bases: (b) => [b], sound: (l) => (SIBILANT_END.has(l) ? 'IH0 Z' : VOICELESS_END.has(l) ? 'S' : 'Z') },
  { suffix: 'ly', bases: (b) => [b], sound: () => 'L IY0' },
  { suffix: 'ness', bases: (b) => [b], sound: () => 'N AH0 S' },
  { suffix: 'er', bases: (b) => [b, `${b}e`, undouble(b)], sound: () => 'ER0' },
  { suffix: 'est', bases: (b) => [b, `${b}e`, undouble(b)], sound: () => 'AH0 S T' },
];

function undouble(base: string): string {
  return base.length > 2 && base.at(-1) === base.at(-2) ? base.slice(0, -1) : base;
}

let dictionary: Record<string, string> | undefined;
function cmu(): Record<string, string> {
  // Loaded on first use, synchronously: 134,000 entries, once per worker process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  dictionary ??= (require('cmu-pronouncing-dictionary') as { dictionary: Record<string, string> }).dictionary;
  return dictionary;
}

function arpabetOf(word: string): { arpabet: string; derivedFrom?: string } | undefined {
  const dict = cmu();
  const direct = dict[word];
  if (direct) return { arpabet: direct };
  for (const rule of INFLECTIONS) {
    if (!word.endsWith(rule.suffix) || word.length <= rule.suffix.length + 1) continue;
    const stem = word.slice(0, -rule.suffix.length);
    for (const base of rule.bases(stem)) {
      const found = dict[base];
      if (found) {
        const last = found.split(' ').at(-1)!.replace(/\d/, '');
        return { arpabet: `${found} ${rule.sound(last)}`, derivedFrom: base };
      }
    }
  }
  return undefined;
}

export interface Pronunciation {
  word: string;
  ipa: string;
  arpabet: string;
  syllables: number;
  /** One digit per syllable: 1 primary stress, 2 secondary, 0 none. */
  stress: string;
  derivedFrom?: string;
}

export const pronounce = defineProcessor(async (item): Promise<Pronunciation> => {
  if (typeof item !== 'string') throw new NonRetryableItemError(`expected a word, got ${typeof item}`, 'not-a-word');
  const word = item.trim().toLowerCase();
  const found = arpabetOf(word);
  if (!found) {
    throw new NonRetryableItemError(
      `"${word}" is not in the CMU Pronouncing Dictionary, nor a regular inflection of a word in it`,
      'no-pronunciation',
    );
  }
  const phonemes = found.arpabet.split(' ');
  const stress = phonemes
    .map((p) => p.match(/\d/)?.[0])
    .filter((d): d is string => d !== undefined)
    .join('');
  const ipa = phonemes.map((p) => REDUCED[p] ?? IPA[p.replace(/\d/, '')] ?? '').join('');
  return { word, ipa, arpabet: found.arpabet, syllables: stress.length, stress, derivedFrom: found.derivedFrom };
});

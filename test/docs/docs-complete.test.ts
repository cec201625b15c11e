/**
 * The docs a newcomer finds their way in: every relative link of the README and the pages it maps
 * resolves (the file, and the heading when the link names one); every flag of the `waymark`
 * program is documented under its command in docs/cli.md; every field of the batch spec's schema
 * is named in docs/spec.md. Read from the program and the schema themselves, so a new flag or
 * field without docs fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { buildProgram } from '../../src/cli/cli';
import { batchSpecSchema } from '../../src/contract/batch-spec';

const ROOT = path.resolve(__dirname, '../..');
const DOCS = path.join(ROOT, 'docs');
const PAGES = [
  'README.md',
  'INVARIANTS.md',
  'BENCHMARKS.md',
  ...fs
    .readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

const read = (page: string) => fs.readFileSync(path.join(ROOT, page), 'utf8');

/** The text outside fenced code blocks, line by line (a `#` comment in a shell block is no heading, a `](` in code no link). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Targets of inline links and images, code spans left out. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  }
  return targets;
}

/** Each command of the program by its path (`schedule create`), with its long flags. */
function commandsOf(command: Command, parents: string[] = []): { name: string; flags: string[] }[] {
  return command.commands.flatMap((sub) => {
    const name = [...parents, sub.name()].join(' ');
    return [{ name, flags: sub.options.map((o) => o.long!).filter(Boolean) }, ...commandsOf(sub, [...parents, sub.name()])];
  });
}

/** The part of docs/cli.md under the `### ...` heading that names `waymark NAME` (or the nearest command above it). */
function sectionOf(cliPage: string, name: string): string | undefined {
  const sections = cliPage.split(/^(?=### )/m);
  for (let words = name.split(' '); words.length; words = words.slice(0, -1)) {
    const wanted = `\`waymark ${words.join(' ')}\``;
    const found = sections.find((s) => s.split('\n')[0].includes(wanted));
    if (found) return found;
  }
  return undefined;
}

/** Dotted paths of every field of a zod object schema; an object is documented through its own fields (`rateLimit.per`). */
function fieldPaths(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, field]) => {
    const name = prefix ? `${prefix}.${key}` : key;
    const nested = fieldPaths(field, name);
    return nested.length ? nested : [name];
  });
}

describe('the docs', () => {
  it('keep the README short: at most 250 lines, with the two commands at the top', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    expect(readme.slice(0, 200)).toContain('```sh\nnpm ci && npm run demo\nnpm test\n```');
  });

  it.each(PAGES)('%s: every relative link resolves, to its heading too', (page) => {
    const broken: string[] = [];
    const markdown = read(page);
    for (const target of linkTargets(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [file, anchor] = target.split('#');
      const resolved = file ? path.resolve(path.dirname(path.join(ROOT, page)), decodeURIComponent(file)) : path.join(ROOT, page);
      if (!fs.existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  it('the README links every page under docs/', () => {
    const linked = new Set(linkTargets(read('README.md')).map((t) => path.normalize(t.split('#')[0])));
    const pages = PAGES.filter((p) => p.startsWith('docs/'));
    expect(pages.filter((p) => !linked.has(p))).toEqual([]);
    expect(pages.length).toBeGreaterThanOrEqual(7);
  });

  it('docs/cli.md documents every command, and every flag under its command', () => {
    const cliPage = proseLines(read('docs/cli.md')).join('\n');
    const program = buildProgram();
    const commands = commandsOf(program);
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['start', 'status', 'configure', 'schedule create']));
    const missing: string[] = [];
    for (const flag of program.options.map((o) => o.long!)) if (!cliPage.includes(flag)) missing.push(`waymark ${flag}`);
    for (const { name, flags } of commands) {
      const section = sectionOf(cliPage, name);
      if (!section) {
        missing.push(`waymark ${name}: no "### \`waymark ${name}\`" heading`);
        continue;
      }
      for (const flag of flags) if (!new RegExp(`${flag}(?![\\w-])`).test(section)) missing.push(`waymark ${name} ${flag}`);
    }
    expect(missing).toEqual([]);
  });

  it('docs/spec.md names every field of the spec schema', () => {
    const specPage = read('docs/spec.md');
    const fields = fieldPaths(batchSpecSchema);
    expect(fields).toEqual(expect.arrayContaining(['source.kind', 'sliceSize', 'rateLimit.per', 'budget.max']));
    expect(fields.filter((f) => !specPage.includes(`\`${f}\``))).toEqual([]);
  });
});

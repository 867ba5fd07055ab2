/**
 * Traceability of the XKS requirements in docs/requirements.md: from each numbered item to the code that cites
 * it and the tests that name it, with checks that the three cannot drift apart.
 *
 * Code cites an item with a comment block under src/:
 *
 *   *= docs/requirements.md#<section>        (or //= …)
 *   *# <N>. [<LEVEL>] <the item's text, word for word>
 *
 * and a test names it at the start of its title: it('<N>: …') or it('<N>/<M>: …').
 *
 *   npm run spec-coverage    checks, prints a summary and writes docs/spec-coverage.md (exit code 1 on a problem)
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const REQUIREMENTS_FILE = 'docs/requirements.md';

export const LEVELS = ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY', 'SPEC', 'REC', 'KMS'] as const;
export type Level = (typeof LEVELS)[number];

/** One numbered row of docs/requirements.md. */
export interface Requirement {
  number: number;
  level: Level;
  text: string;
  check: string;
  source: string;
  /** The anchor of the section the item is listed in. */
  section: string;
}

export interface Requirements {
  items: Map<number, Requirement>;
  /** Anchor → heading of every section that lists items. */
  sections: Map<string, string>;
  /** Item → why Keyhold does not implement it. */
  notImplemented: Map<number, string>;
}

/** How code quotes an item after `*# N.`: its level and its text. */
export function annotationText(item: Pick<Requirement, 'level' | 'text'>): string {
  return `[${item.level}] ${item.text}`;
}

const ANCHOR_LINE = /^<a id="([a-z0-9-]+)"><\/a>\s*$/;
const HEADING_LINE = /^#{1,6} (.+)$/;
const ITEM_TABLE_HEADER = /^\|\s*#\s*\|\s*Level\s*\|\s*Requirement\s*\|\s*Check\s*\|\s*Source\s*\|$/;
const NOT_IMPLEMENTED_HEADER = /^\|\s*#\s*\|\s*Why not\s*\|$/;

/** The cells of a Markdown table row; `\|` is a literal bar inside a cell. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/**
 * Reads the items, their sections and the "not implemented" table out of docs/requirements.md. Items are the
 * rows of tables headed `| # | Level | Requirement | Check | Source |`, each under a heading that follows an
 * `<a id="…"></a>` line; a malformed table throws, naming the line.
 */
export function parseRequirements(markdown: string): Requirements {
  const items = new Map<number, Requirement>();
  const sections = new Map<string, string>();
  const notImplemented = new Map<number, string>();
  let pendingAnchor: string | undefined;
  let section: { anchor: string; title: string } | undefined;
  let table: 'items' | 'not-implemented' | 'other' | undefined;
  markdown.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    const fail = (why: string): never => {
      throw new Error(`${REQUIREMENTS_FILE}:${index + 1}: ${why}`);
    };
    if (!line.startsWith('|')) table = undefined;
    const anchor = ANCHOR_LINE.exec(line);
    const heading = HEADING_LINE.exec(line);
    if (anchor) pendingAnchor = anchor[1];
    else if (heading) {
      section = pendingAnchor === undefined ? undefined : { anchor: pendingAnchor, title: heading[1]! };
      pendingAnchor = undefined;
    } else if (line.startsWith('|') && table === undefined) {
      table = ITEM_TABLE_HEADER.test(line) ? 'items' : NOT_IMPLEMENTED_HEADER.test(line) ? 'not-implemented' : 'other';
    } else if (line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line)) {
      if (table === 'items') {
        const row = cells(line);
        const [number, level, text, check, source] = row;
        if (row.length !== 5 || !/^\d+$/.test(number ?? '')) fail('an item row needs 5 cells and a number first');
        if (!(LEVELS as readonly string[]).includes(level!)) fail(`unknown level "${level}"`);
        if (!section) fail('item outside a section with an <a id> anchor');
        if (items.has(Number(number))) fail(`item ${number} is listed twice`);
        items.set(Number(number), {
          number: Number(number),
          level: level as Level,
          text: text!,
          check: check!,
          source: source!,
          section: section!.anchor,
        });
        sections.set(section!.anchor, section!.title);
      } else if (table === 'not-implemented') {
        const [number, why] = cells(line);
        if (!/^\d+$/.test(number ?? '') || !why) fail('a "not implemented" row needs a number and a reason');
        notImplemented.set(Number(number), why!);
      }
    }
  });
  return { items, sections, notImplemented };
}

export function readRequirements(root = '.'): Requirements {
  return parseRequirements(readFileSync(join(root, REQUIREMENTS_FILE), 'utf8'));
}

/** A line of an annotation block: `*= target`, `*# N. text`, or `*#   continuation`. */
export type AnnotationLine =
  | { kind: 'target'; marker: string; target: string; rest: string }
  | { kind: 'item'; marker: string; item: number; text: string; closes: boolean }
  | { kind: 'continuation'; marker: string; text: string; closes: boolean };

const ANNOTATION = /^(\s*(?:\/\*|\*|\/\/))([=#])(.*)$/;

/** Reads one source line as part of an annotation block; undefined for any other line. */
export function parseAnnotationLine(line: string): AnnotationLine | undefined {
  const match = ANNOTATION.exec(line);
  if (!match) return undefined;
  const [, marker = '', sign, body = ''] = match;
  const closes = /\*\/\s*$/.test(body);
  const content = body.replace(/\s*\*\/\s*$/, '').trim();
  if (sign === '=') {
    const [target = '', ...rest] = content.split(/\s+/);
    return { kind: 'target', marker, target, rest: rest.join(' ') };
  }
  const item = /^(\d+)\.\s+(.*)$/.exec(content);
  if (item) return { kind: 'item', marker, item: Number(item[1]), text: item[2]!, closes };
  return { kind: 'continuation', marker, text: content, closes };
}

/** One `*# N.` citation in src/, with the target of the `*=` line above it. */
export interface Citation {
  item: number;
  /** `path:line` of the `*# N.` line. */
  where: string;
  /** The quoted text, continuation lines joined. */
  text: string;
  /** What the block's `*=` line names, e.g. `docs/requirements.md#errors`; undefined when there is none. */
  target?: string;
}

export interface Coverage {
  /** item number → places in src/ that cite it */
  cited: Map<number, string[]>;
  /** item number → test titles that name it */
  tested: Map<number, string[]>;
  citations: Citation[];
}

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, suffix) : path.endsWith(suffix) ? [path] : [];
  });
}

function add(map: Map<number, string[]>, item: number, where: string): void {
  map.set(item, [...(map.get(item) ?? []), where]);
}

/** The citations of one source file, in order. */
export function citationsIn(source: string, path: string): Citation[] {
  const citations: Citation[] = [];
  let target: string | undefined;
  let open: Citation | undefined;
  source.split('\n').forEach((line, index) => {
    const annotation = parseAnnotationLine(line);
    if (annotation?.kind === 'target') {
      target = annotation.target;
      open = undefined;
    } else if (annotation?.kind === 'item') {
      open = { item: annotation.item, where: `${path}:${index + 1}`, text: annotation.text, ...(target ? { target } : {}) };
      citations.push(open);
    } else if (annotation?.kind === 'continuation' && open) {
      open.text = `${open.text} ${annotation.text}`;
    } else {
      target = undefined;
      open = undefined;
    }
    if (annotation && annotation.kind !== 'target' && annotation.closes) {
      target = undefined;
      open = undefined;
    }
  });
  return citations;
}

export function scanCoverage(root = '.'): Coverage {
  const cited = new Map<number, string[]>();
  const tested = new Map<number, string[]>();
  const citations: Citation[] = [];
  for (const file of files(join(root, 'src'), '.ts')) {
    for (const citation of citationsIn(readFileSync(file, 'utf8'), relative(root, file))) {
      citations.push(citation);
      add(cited, citation.item, citation.where);
    }
  }
  for (const file of files(join(root, 'test'), '.ts')) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\b(?:it|test)\(\s*(['"`])(\d+(?:\/\d+)*):\s*(.*?)\1/g)) {
      for (const item of match[2]!.split('/')) add(tested, Number(item), `${relative(root, file)}: ${match[2]}: ${match[3]}`);
    }
  }
  return { cited, tested, citations };
}

const normalize = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * Everything that makes code, tests and docs/requirements.md disagree: numbers the document does not have,
 * quotes that differ from its wording, citations under the wrong section or outside the repository, and items
 * both implemented and listed as not implemented. Empty when they agree.
 */
export function findProblems(requirements: Requirements, coverage: Coverage): string[] {
  const problems: string[] = [];
  for (const citation of coverage.citations) {
    const item = requirements.items.get(citation.item);
    if (!item) {
      problems.push(`${citation.where}: cites item ${citation.item}, which ${REQUIREMENTS_FILE} does not have`);
      continue;
    }
    const expectedTarget = `${REQUIREMENTS_FILE}#${item.section}`;
    if (citation.target === undefined) {
      problems.push(`${citation.where}: item ${citation.item} has no "*= ${expectedTarget}" line above it`);
    } else if (citation.target !== expectedTarget) {
      problems.push(`${citation.where}: item ${citation.item} is under "${citation.target}"; it belongs to ${expectedTarget}`);
    }
    if (normalize(citation.text) !== normalize(annotationText(item))) {
      problems.push(`${citation.where}: item ${citation.item} is quoted differently from ${REQUIREMENTS_FILE}: "${annotationText(item)}"`);
    }
  }
  for (const [number, titles] of coverage.tested) {
    if (!requirements.items.has(number)) {
      for (const title of titles) problems.push(`${title}: names item ${number}, which ${REQUIREMENTS_FILE} does not have`);
    }
  }
  for (const number of requirements.notImplemented.keys()) {
    if (!requirements.items.has(number))
      problems.push(`${REQUIREMENTS_FILE}: item ${number} is listed as not implemented but does not exist`);
    if (coverage.cited.has(number) || coverage.tested.has(number)) {
      problems.push(`item ${number} is listed as not implemented, yet cited in code or named by a test`);
    }
  }
  return problems;
}

function status(n: number, requirements: Requirements, { cited, tested }: Coverage): string {
  const why = requirements.notImplemented.get(n);
  if (why !== undefined) return `not implemented: ${why}`;
  if (tested.has(n) && cited.has(n)) return 'implemented, tested';
  if (tested.has(n)) return 'tested, not cited in code';
  return cited.has(n) ? 'cited, no test' : 'missing';
}

function main(): void {
  const requirements = readRequirements();
  const coverage = scanCoverage();
  const numbers = [...requirements.items.keys()].sort((a, b) => a - b);
  const rows = numbers.map((n) => {
    const item = requirements.items.get(n)!;
    const code = (coverage.cited.get(n) ?? []).map((c) => `\`${c}\``).join('<br>');
    const tests = (coverage.tested.get(n) ?? []).length;
    const text = `${annotationText(item)} (${item.check})`.replace(/\|/g, '\\|');
    return `| [${n}](requirements.md#${item.section}) | ${text} | ${status(n, requirements, coverage)} | ${code} | ${tests} |`;
  });
  const implemented = (n: number) => !requirements.notImplemented.has(n);
  const covered = numbers.filter((n) => implemented(n) && coverage.tested.has(n) && coverage.cited.has(n)).length;
  const doc = `# XKS requirements coverage

Generated by \`npm run spec-coverage\` from [requirements.md](requirements.md), the code comments (\`*# N.\`)
and the test titles (\`N: …\`). ${covered} of ${numbers.length} items are implemented with a test naming their
number and a comment at the code that meets them; the others say why not.

| # | Item | Status | Code | Tests |
|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileSync(join('docs', 'spec-coverage.md'), doc);
  console.log(`${covered} of ${numbers.length} requirements implemented, tested and cited; docs/spec-coverage.md written`);
  for (const n of numbers) {
    if (implemented(n) && !(coverage.tested.has(n) && coverage.cited.has(n))) {
      console.log(`  item ${n}: ${coverage.tested.has(n) ? 'no code citation' : coverage.cited.has(n) ? 'no test' : 'neither'}`);
    }
  }
  const problems = findProblems(requirements, coverage);
  for (const problem of problems) console.error(`problem: ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

if (process.argv[1]?.endsWith('spec-coverage.ts')) main();

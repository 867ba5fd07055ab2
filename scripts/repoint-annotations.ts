/**
 * One-shot rewrite of the citations in src/, test/, bench/ and scripts/ that point outside the repository
 * (xks-spec.md, kms-behaviour.md, DESIGN.md) to the project's own docs. Delete it once every branch is merged.
 *
 *   node --import tsx scripts/repoint-annotations.ts [--dry-run]
 *
 * - `*= xks-spec.md#14.x` (or `//=`) → `*= docs/requirements.md#<section of the items below it>`;
 * - `*# N. …` / `//# N. …` (with its continuation lines) → `*# N. <the item's words in docs/requirements.md>`;
 * - `xks-spec.md §7.3`, `kms-behaviour.md §3.2 step 7`, `§1.5` (alone) → `docs/requirements.md#aad`, … ;
 *   `DESIGN.md §3` → `docs/architecture.md#encrypt-path`.
 *
 * Idempotent: a second run changes nothing. Rewritten files are formatted with Prettier. Whatever it cannot
 * map is listed at the end, and the exit code is then 1. (Over 300 lines only for its two mapping tables.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { annotationText, parseAnnotationLine, readRequirements, REQUIREMENTS_FILE, type Requirements } from './spec-coverage.js';

const REQ = REQUIREMENTS_FILE;
const KMS = 'docs/kms-client.md';
const ARCHITECTURE = 'docs/architecture.md';

/** Where each section of the team's old notes is covered now: `page#anchor`, or the page alone. */
const XKS_SPEC: Record<string, string> = {
  '0': REQ,
  '1': `${KMS}#double-envelope`,
  '2': `${REQ}#transport`,
  '3': `${REQ}#transport`,
  '3.1': `${REQ}#transport`,
  '3.2': `${REQ}#operations`,
  '3.3': `${REQ}#key-ids`,
  '4': `${REQ}#limits`,
  '5': `${REQ}#request-metadata`,
  '5.1': `${REQ}#request-metadata`,
  '5.2': `${REQ}#request-metadata`,
  '5.3': `${REQ}#request-metadata`,
  '6': `${REQ}#operations`,
  '6.1': `${REQ}#get-key-metadata`,
  '6.2': `${REQ}#encrypt`,
  '6.3': `${REQ}#decrypt`,
  '6.4': `${REQ}#health`,
  '7': `${REQ}#encrypt`,
  '7.1': `${REQ}#encrypt`,
  '7.2': `${REQ}#limits`,
  '7.3': `${REQ}#aad`,
  '7.4': `${REQ}#cdiv`,
  '7.5': `${REQ}#operations`,
  '7.6': `${REQ}#crypto-vectors`,
  '8': `${REQ}#errors`,
  '8.1': `${REQ}#errors`,
  '8.2': `${REQ}#errors`,
  '8.3': `${KMS}#error-mapping`,
  '8.4': `${REQ}#error-order`,
  '9': `${REQ}#authentication`,
  '9.1': `${REQ}#authentication`,
  '9.2': `${REQ}#authentication`,
  '9.3': `${KMS}#sigv4`,
  '9.4': `${KMS}#sigv4-verification`,
  '9.5': `${KMS}#sigv4-verification`,
  '9.6': `${KMS}#credentials`,
  '9.7': `${REQ}#sigv4-vector`,
  '9.8': `${REQ}#authentication`,
  '10': `${REQ}#authorization-logging-operations`,
  '11': `${REQ}#authorization-logging-operations`,
  '12': `${REQ}#authorization-logging-operations`,
  '13': `${REQ}#authorization-logging-operations`,
  '14': REQ,
  '15.3': `${REQ}#transport`,
  '16': `${KMS}#curl`,
  '16.1': `${KMS}#curl`,
  '17': `${REQ}#readings`,
  '18': `${REQ}#base64`,
};

const KMS_BEHAVIOUR: Record<string, string> = {
  '0': KMS,
  '1': `${KMS}#transport`,
  '1.1': `${KMS}#transport`,
  '1.2': `${KMS}#key-stores`,
  '1.3': `${KMS}#key-stores`,
  '1.4': `${KMS}#connection-errors`,
  '1.5': `${KMS}#create-key`,
  '1.6': `${KMS}#double-envelope`,
  '1.7': `${KMS}#timeouts-retries`,
  '1.8': `${KMS}#metrics`,
  '1.9': `${KMS}#metrics`,
  '2': `${KMS}#error-mapping`,
  '2.1': `${KMS}#error-mapping`,
  '2.2': `${KMS}#connection-errors`,
  '2.3': `${KMS}#error-mapping`,
  '3': `${KMS}#sigv4`,
  '3.1': `${KMS}#sigv4`,
  '3.2': `${KMS}#sigv4-verification`,
  '3.3': `${KMS}#credentials`,
  '3.4': `${KMS}#sigv4-libraries`,
  '3.5': `${KMS}#curl`,
  '3.6': `${KMS}#sigv4-vectors`,
  '4': `${KMS}#rotation`,
  '5': `${KMS}#simulator`,
  '5.1': `${KMS}#simulator-state`,
  '5.2': `${KMS}#simulator-calls`,
  '5.3': `${KMS}#request-metadata`,
  '5.4': `${KMS}#response-checks`,
  '5.5': `${KMS}#simulator-errors`,
  '5.6': `${KMS}#simulator`,
  '5.7': `${KMS}#blob`,
  '6': `${KMS}#open-questions`,
  '7': KMS,
  '8': KMS,
};

/** The design sketch's sections: the domain, the Encrypt path, roots of trust, storage and outages, faces. */
const DESIGN: Record<string, string> = {
  '0': ARCHITECTURE,
  '1': `${KMS}#double-envelope`,
  '2': `${ARCHITECTURE}#layers`,
  '3': `${ARCHITECTURE}#encrypt-path`,
  '4': `${ARCHITECTURE}#roots-of-trust`,
  '5': `${ARCHITECTURE}#database-outage`,
  '6': `${ARCHITECTURE}#admin-api`,
  '7': `${ARCHITECTURE}#layers`,
};

const DOCS: Record<string, Record<string, string> | undefined> = {
  'xks-spec.md': XKS_SPEC,
  'kms-behaviour.md': KMS_BEHAVIOUR,
  'DESIGN.md': DESIGN,
};

/** The first item of each group 14.1 … 14.10 of the old checklist; its section is the group's section now. */
const FIRST_ITEM_OF_GROUP = [1, 16, 19, 25, 32, 52, 60, 72, 79, 92];

const problems: string[] = [];

function sectionOfGroup(requirements: Requirements, group: string): string | undefined {
  const first = FIRST_ITEM_OF_GROUP[Number(group) - 1];
  const item = first === undefined ? undefined : requirements.items.get(first);
  return item && `${REQ}#${item.section}`;
}

/** `xks-spec.md` and section `14.8` (or `6.1`) → `docs/requirements.md#errors`. */
function targetOf(requirements: Requirements, doc: string, section: string | undefined): string | undefined {
  const table = DOCS[doc];
  if (section === undefined) return table?.['0'];
  const group = /^14\.(\d+)$/.exec(section);
  if (doc === 'xks-spec.md' && group) return sectionOfGroup(requirements, group[1]!);
  return table?.[section] ?? (/^\d+\.\d+/.test(section) ? table?.[section.split('.')[0]!] : undefined);
}

// ---------------------------------------------------------------- annotation blocks

function rewriteAnnotations(source: string, requirements: Requirements, file: string): string {
  const lines = source.split('\n');
  const out: string[] = [];
  /** The target of the block's last `*=` line, while inside an annotation block. */
  let blockTarget: string | undefined;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const annotation = parseAnnotationLine(line);
    if (annotation?.kind === 'target') {
      const rewritten = rewriteTarget(annotation, lines, i, requirements, file);
      blockTarget = rewritten === undefined ? undefined : annotationTarget(rewritten);
      out.push(rewritten ?? line);
    } else if (annotation?.kind === 'item') {
      let end = i;
      let closes = annotation.closes;
      while (!closes && parseAnnotationLine(lines[end + 1] ?? '')?.kind === 'continuation') {
        end += 1;
        closes = (parseAnnotationLine(lines[end]!) as { closes: boolean }).closes;
      }
      const item = requirements.items.get(annotation.item);
      if (!item) {
        problems.push(`${file}:${i + 1}: item ${annotation.item} is not in ${REQ}; left as it is`);
        out.push(...lines.slice(i, end + 1));
      } else {
        // An item of another section than the block's `*=` line gets a `*=` line of its own.
        const target = `${REQ}#${item.section}`;
        if (target !== blockTarget) out.push(`${annotation.marker.replace('/*', ' *')}= ${target}`);
        blockTarget = target;
        out.push(`${annotation.marker}# ${item.number}. ${annotationText(item)}${closes ? ' */' : ''}`);
      }
      blockTarget = closes ? undefined : blockTarget;
      i = end;
    } else {
      blockTarget = undefined;
      out.push(line);
    }
  }
  return out.join('\n');
}

function annotationTarget(line: string): string | undefined {
  const annotation = parseAnnotationLine(line);
  return annotation?.kind === 'target' ? annotation.target : undefined;
}

/** The `*=` line names the section of the first item below it, or else what its old target maps to. */
function rewriteTarget(
  annotation: Extract<ReturnType<typeof parseAnnotationLine>, { kind: 'target' }>,
  lines: string[],
  index: number,
  requirements: Requirements,
  file: string,
): string | undefined {
  const below = parseAnnotationLine(lines[index + 1] ?? '');
  const item = below?.kind === 'item' ? requirements.items.get(below.item) : undefined;
  const old = /^(?:docs\/)?([\w.-]+\.md)(?:#(.*))?$/.exec(annotation.target);
  const target = item
    ? `${REQ}#${item.section}`
    : old?.[1] === 'requirements.md'
      ? annotation.target
      : old && targetOf(requirements, old[1]!, old[2]);
  if (!target) {
    problems.push(`${file}:${index + 1}: cannot map "${annotation.target}"; left as it is`);
    return undefined;
  }
  const closing = /\*\/\s*$/.test(lines[index]!) ? ' */' : '';
  return `${annotation.marker}= ${target}${annotation.rest ? ` ${annotation.rest}` : ''}${closing}`;
}

// ---------------------------------------------------------------- prose mentions

const NUM = String.raw`\d+(?:\.\d+)*`;
const LIST = String.raw`\d+(?:[–-]\d+)?(?:(?:,[ \t]*|[ \t]+and[ \t]+)\d+(?:[–-]\d+)?)*`;
const QUALIFIER = String.raw`[ \t]+(?:items?[ \t]+${LIST}|step[ \t]+\d+|\[rec\])`;
const SECTION_REF = String.raw`§${NUM}(?:[–-]§?${NUM})?(?:${QUALIFIER})*`;
const REF = String.raw`(?:${SECTION_REF}|items?[ \t]+${LIST})`;
/** A space, or a line break inside a comment (`\n * `, `\n // `). */
const GAP = String.raw`(?:[ \t]+|[ \t]*\n[ \t]*(?:\*(?!\/)|\/\/)?[ \t]*)`;
const SEPARATOR = String.raw`(?:,|;|[ \t]+and)${GAP}`;
const MENTION = new RegExp(
  String.raw`([ \t]*)\b(xks-spec\.md|kms-behaviour\.md|DESIGN\.md)((?:${GAP}${REF}(?:${SEPARATOR}${REF})*)?)`,
  'g',
);
/** `page#a, #b and page#b` (two mentions that now name one page) → `page#a, #b`. */
const REPEATED_PAGE = /\b(docs\/[\w.-]+\.md)((?:#[\w-]+)(?:, #[\w-]+)*) and \1(#[\w-]+)(?![\w-])/g;
const REF_PARTS = new RegExp(
  String.raw`§(${NUM})(?:[–-]§?(${NUM}))?((?:${QUALIFIER})*)|(items?[ \t]+${LIST})`.replace(/\[ \\t\]/g, '\\s'),
  'g',
);
/** A section sign alone, not one of an RFC. */
const BARE_REF = new RegExp(String.raw`(?<!RFC \d+ )(?<![\w.])(${SECTION_REF})`, 'g');

/** Sections → `page#anchor qualifiers`, grouped by target in order: `docs/requirements.md#transport items 1–5, #errors`. */
function describeRefs(requirements: Requirements, doc: string, refs: string): string | undefined {
  const groups = new Map<string, string[]>();
  for (const part of refs.matchAll(REF_PARTS)) {
    const [, start = '', end, qualifiers = '', items] = part;
    // A range inside one section (§6.1–§6.4) stands for the section.
    const section = end !== undefined && start.split('.')[0] === end.split('.')[0] ? start.split('.')[0] : start;
    const target = items ? REQ : targetOf(requirements, doc, section);
    const qualifier = items ?? qualifiers.replace(/\s*\[rec\]/g, '');
    if (!target) return undefined;
    const list = groups.get(target) ?? [];
    for (const q of qualifier.trim().split(/\s+(?=items?\b|step\b)/)) if (q) list.push(q.replace(/\s+/g, ' '));
    groups.set(target, list);
  }
  if (groups.size === 0) return targetOf(requirements, doc, undefined);
  let page = '';
  return [...groups]
    .map(([target, qualifiers]) => {
      const [targetPage = '', anchor] = target.split('#');
      const shown = targetPage === page && anchor ? `#${anchor}` : target;
      page = targetPage;
      return [shown, joinQualifiers(qualifiers)].filter(Boolean).join(' ');
    })
    .join(', ');
}

/** `items 1–5, 8–10` + `item 75` → `items 1–5, 8–10, 75`; steps stay as they are. */
function joinQualifiers(qualifiers: string[]): string {
  const numbers = qualifiers.filter((q) => /^items?\b/.test(q)).map((q) => q.replace(/^items?\s+/, ''));
  const rest = qualifiers.filter((q) => !/^items?\b/.test(q));
  const list = numbers.join(', ');
  const items = list === '' ? [] : [`${/^\d+$/.test(list) ? 'item' : 'items'} ${list}`];
  return [...items, ...rest].join(' ');
}

function isAnnotationAt(text: string, index: number): boolean {
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  return parseAnnotationLine(text.slice(lineStart, text.indexOf('\n', index) === -1 ? undefined : text.indexOf('\n', index))) !== undefined;
}

function rewriteMentions(source: string, requirements: Requirements, file: string): string {
  const firstDoc = /\b(xks-spec\.md|kms-behaviour\.md)/.exec(source)?.[1];
  const withDocs = source.replace(MENTION, (whole: string, lead: string, doc: string, refs: string, offset: number) => {
    if (isAnnotationAt(source, offset + lead.length)) return whole;
    const target = describeRefs(requirements, doc, refs);
    if (target === undefined) {
      problems.push(`${file}: cannot map "${whole.trim().replace(/\s+/g, ' ')}"; left as it is`);
      return whole;
    }
    // A mention that ran over a line break keeps one, before the new text, so lines stay short.
    const lineBreak = /\n[ \t]*(?:\*(?!\/)|\/\/)?[ \t]*/.exec(refs)?.[0];
    return lineBreak ? `${lineBreak}${target}` : `${lead}${target}`;
  });
  const withBareRefs = withDocs.replace(BARE_REF, (whole: string, ref: string) => {
    const section = /^§(\d+(?:\.\d+)*)/.exec(ref)![1]!;
    const owners = ['xks-spec.md', 'kms-behaviour.md'].filter((doc) => DOCS[doc]?.[section] !== undefined);
    const doc = owners.length === 1 ? owners[0] : firstDoc;
    const target = doc && describeRefs(requirements, doc, ref);
    if (!target) problems.push(`${file}: cannot tell which document "${ref}" means; left as it is`);
    return target ?? whole;
  });
  return withBareRefs.replace(REPEATED_PAGE, (_whole: string, page: string, anchors: string, extra: string) =>
    anchors.split(', ').includes(extra) ? `${page}${anchors}` : `${page}${anchors}, ${extra}`,
  );
}

// ---------------------------------------------------------------- files

const ROOTS = ['src', 'test', 'bench', 'scripts'];
const SELF = join('scripts', 'repoint-annotations.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(?:ts|js|mjs)$/.test(name) && path !== SELF ? [path] : [];
  });
}

function main(): void {
  const dryRun = process.argv.includes('--dry-run');
  const requirements = readRequirements();
  const changed: string[] = [];
  for (const file of ROOTS.flatMap(sourceFiles)) {
    const before = readFileSync(file, 'utf8');
    const after = rewriteMentions(rewriteAnnotations(before, requirements, file), requirements, file);
    if (after === before) continue;
    changed.push(file);
    if (!dryRun) writeFileSync(file, after);
  }
  if (!dryRun && changed.length > 0) {
    const prettier = spawnSync(join('node_modules', '.bin', 'prettier'), ['--write', '--log-level', 'warn', ...changed], {
      stdio: 'inherit',
    });
    if (prettier.status !== 0) problems.push('prettier failed on the rewritten files');
  }
  console.log(`${changed.length} file(s) ${dryRun ? 'would change' : 'rewritten'}${changed.length ? `:\n  ${changed.join('\n  ')}` : ''}`);
  if (!dryRun) {
    for (const file of ROOTS.flatMap(sourceFiles)) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/xks-spec|kms-behaviour|DESIGN\.md|(?<!RFC \d+ )§/.test(line))
            problems.push(`${file}:${index + 1}: still cites an outside document`);
        });
    }
  }
  for (const problem of problems) console.error(`problem: ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

main();

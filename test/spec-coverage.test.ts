import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  annotationText,
  citationsIn,
  findProblems,
  parseRequirements,
  readRequirements,
  scanCoverage,
  type Coverage,
} from '../scripts/spec-coverage.js';

describe('docs/requirements.md traceability', () => {
  const requirements = readRequirements();
  const coverage = scanCoverage();

  it('docs/requirements.md numbers its items from 1 without gaps, each with a level, a check and a source', () => {
    const numbers = [...requirements.items.keys()].sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      numbers.map((_, index) => index + 1),
    );
    assert.ok(numbers.length >= 103, `${numbers.length} items`);
    for (const item of requirements.items.values()) assert.ok(item.text && item.check && item.source, `item ${item.number}`);
  });

  it('every item cited at the code that meets it has a test naming its number', () => {
    const untested = [...coverage.cited.keys()].filter((n) => !coverage.tested.has(n)).sort((a, b) => a - b);
    assert.deepEqual(untested, []);
  });

  it('every item a test names is cited at the code that meets it', () => {
    const uncited = [...coverage.tested.keys()].filter((n) => !coverage.cited.has(n)).sort((a, b) => a - b);
    assert.deepEqual(uncited, []);
  });

  it('code, tests and docs/requirements.md agree: numbers exist, quotes match, sections match (npm run spec-coverage lists any problem)', () => {
    assert.deepEqual(findProblems(requirements, coverage), []);
  });
});

describe('the traceability checks themselves', () => {
  const markdown = [
    '<a id="errors"></a>',
    '',
    '## Errors',
    '',
    '| # | Level | Requirement | Check | Source |',
    '|---|---|---|---|---|',
    '| 1 | MUST | Error bodies are JSON. | BB | error codes |',
    '| 2 | SPEC | Unknown key → 404, with a bar \\| inside. | BB | error table |',
    '',
    '<a id="auth"></a>',
    '',
    '## Authentication',
    '',
    '| # | Level | Requirement | Check | Source |',
    '|---|---|---|---|---|',
    '| 3 | MUST NOT | A stale request is accepted. | BB | Appendix A |',
    '',
    '| # | Why not |',
    '|---|---|',
    '| 3 | not offered |',
  ].join('\n');
  const requirements = parseRequirements(markdown);

  function coverageOf(source: string, tests: Record<number, string> = {}): Coverage {
    const citations = citationsIn(source, 'src/a.ts');
    const cited = new Map<number, string[]>();
    for (const citation of citations) cited.set(citation.item, [...(cited.get(citation.item) ?? []), citation.where]);
    const tested = new Map(Object.entries(tests).map(([n, title]) => [Number(n), [title]]));
    return { cited, tested, citations };
  }

  it('reads items, their sections, levels and the "not implemented" table', () => {
    assert.deepEqual([...requirements.items.keys()], [1, 2, 3]);
    assert.equal(requirements.items.get(2)?.section, 'errors');
    assert.equal(requirements.items.get(3)?.section, 'auth');
    assert.equal(annotationText(requirements.items.get(3)!), '[MUST NOT] A stale request is accepted.');
    assert.equal(requirements.items.get(2)?.text, 'Unknown key → 404, with a bar | inside.');
    assert.deepEqual([...requirements.notImplemented], [[3, 'not offered']]);
  });

  it('refuses a table it cannot trust', () => {
    assert.throws(() => parseRequirements(`${markdown}\n`.replace('| 2 | SPEC |', '| 1 | SPEC |')), /item 1 is listed twice/);
    assert.throws(() => parseRequirements(markdown.replace('| 1 | MUST |', '| 1 | MUSTN |')), /unknown level "MUSTN"/);
  });

  it('accepts a faithful citation, wrapped lines and a closing */ included', () => {
    const source = [
      '/**',
      ' *= docs/requirements.md#errors',
      ' *# 1. [MUST] Error bodies',
      ' *#    are JSON.',
      ' */',
      '  /*= docs/requirements.md#errors',
      '   *# 2. [SPEC] Unknown key → 404, with a bar | inside. */',
    ].join('\n');
    const coverage = coverageOf(source, { 1: "test/a.test.ts: 1: '…'" });
    assert.deepEqual(
      coverage.citations.map((c) => [c.item, c.where, c.target]),
      [
        [1, 'src/a.ts:3', 'docs/requirements.md#errors'],
        [2, 'src/a.ts:7', 'docs/requirements.md#errors'],
      ],
    );
    assert.deepEqual(findProblems(requirements, coverage), []);
  });

  it('reports unknown numbers, changed quotes, wrong or missing sections, and citations outside the repository', () => {
    const source = [
      '//= docs/requirements.md#errors',
      '//# 9. [MUST] No such item.',
      '//# 1. [MUST] Error bodies are XML.',
      '//= ../notes/spec.md#14.8',
      '//# 2. [SPEC] Unknown key → 404, with a bar | inside.',
      'const x = 1;',
      '//# 1. [MUST] Error bodies are JSON.',
    ].join('\n');
    const problems = findProblems(requirements, coverageOf(source, { 7: 'test/a.test.ts: 7: seven' }));
    assert.deepEqual(problems, [
      'src/a.ts:2: cites item 9, which docs/requirements.md does not have',
      'src/a.ts:3: item 1 is quoted differently from docs/requirements.md: "[MUST] Error bodies are JSON."',
      'src/a.ts:5: item 2 is under "../notes/spec.md#14.8"; it belongs to docs/requirements.md#errors',
      'src/a.ts:7: item 1 has no "*= docs/requirements.md#errors" line above it',
      'test/a.test.ts: 7: seven: names item 7, which docs/requirements.md does not have',
    ]);
  });

  it('reports an item listed as not implemented that code cites or a test names', () => {
    const source = ['/*= docs/requirements.md#auth', ' *# 3. [MUST NOT] A stale request is accepted. */'].join('\n');
    assert.deepEqual(findProblems(requirements, coverageOf(source)), [
      'item 3 is listed as not implemented, yet cited in code or named by a test',
    ]);
  });
});

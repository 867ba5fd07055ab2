import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NOT_IMPLEMENTED, scanCoverage } from '../scripts/spec-coverage.js';

describe('xks-spec.md §14 traceability', () => {
  const { cited, tested } = scanCoverage();

  it('every item cited at the code that meets it has a test naming its number', () => {
    const untested = [...cited.keys()].filter((n) => !tested.has(n)).sort((a, b) => a - b);
    assert.deepEqual(untested, []);
  });

  it('every item a test names is cited at the code that meets it', () => {
    const uncited = [...tested.keys()].filter((n) => !cited.has(n)).sort((a, b) => a - b);
    assert.deepEqual(uncited, []);
  });

  it('no item is both implemented and listed as not implemented', () => {
    const both = Object.keys(NOT_IMPLEMENTED)
      .map(Number)
      .filter((n) => cited.has(n) || tested.has(n));
    assert.deepEqual(both, []);
  });
});

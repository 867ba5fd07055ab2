import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { committedRatios, regressionWarnings } from '../../bench/regression.js';
import type { CellRecord } from '../../bench/results.js';

const MARKDOWN = `
### Cells

| variant | operation | protocol | connection | keys | root | saturation req/s | baseline req/s | ratio | p50 ms |
| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
| default | Encrypt | HTTP/1.1 | keep-alive | 10 | software | 3134 | 16794 | 0.5 | 4.12 |
| default | Decrypt | HTTP/1.1 | keep-alive | 10 | software | 2942 | 12370 | 0.4 | 2.9 |
| http2 | Encrypt | HTTP/2 | keep-alive | 10 | software | 2078 | 4337 | 0.48 | 8.8 |

| target | wanted | measured |
| --- | --- | ---: |
| p99 | ≤ 10 ms | 3 |
`;

const cell = (variant: string, operation: string, ratio: number) =>
  ({ variant, operation, ratio_to_baseline: ratio }) as unknown as CellRecord;

describe('bench regression guard: ratios against the committed BENCHMARKS.md', () => {
  it('reads each cell ratio from the generated cells table, by its column name', () => {
    assert.deepEqual(
      [...committedRatios(MARKDOWN)],
      [
        ['default/Encrypt', 0.5],
        ['default/Decrypt', 0.4],
        ['http2/Encrypt', 0.48],
      ],
    );
  });

  it('warns on a drop of more than 20 %, not on 20 % or less, a rise, or a cell with no committed figure', () => {
    const warnings = regressionWarnings(
      [cell('default', 'Encrypt', 0.39), cell('default', 'Decrypt', 0.32), cell('http2', 'Encrypt', 0.9), cell('hsm', 'Encrypt', 0.01)],
      committedRatios(MARKDOWN),
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^regression\? default Encrypt: ratio 0\.39 against 0\.5 .*22 % lower/);
  });
});

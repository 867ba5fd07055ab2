/** What every CLI result must look like: a quiet success, or one `keyhold: ` line that changed nothing. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { stateSnapshot } from './node-calls.js';
import { describeRun, type RunResult } from './processes.js';
import type { ServedNode } from './served-node.js';

/**
 * Asserts the shape every failure must have: exit code non-zero, exactly one line on stderr starting
 * `keyhold: `, nothing on stdout. Returns the stderr line.
 */
export function failureLine(result: RunResult): string {
  if (result.code === 0 || result.code === null) throw new Error(`expected a non-zero exit\n${describeRun(result)}`);
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  const [line] = lines;
  if (lines.length !== 1 || line === undefined || !line.startsWith('keyhold: ')) {
    throw new Error(`expected one stderr line starting "keyhold: "\n${describeRun(result)}`);
  }
  if (result.stdout !== '') throw new Error(`expected nothing on stdout\n${describeRun(result)}`);
  return line;
}

/** Asserts a command succeeded quietly and returns its result. */
export function ok(result: RunResult): RunResult {
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stderr, '', describeRun(result));
  return result;
}

/**
 * Runs each failing command and checks that it says why in one `keyhold: ` line and changes nothing:
 * the node's state after each failure equals the state before all of them, and so does `listArgs`'s output.
 */
export function failuresChangeNothing(options: {
  /** Read when the tests run: the node is started in a `before` hook. */
  node: () => ServedNode;
  cli: (...args: string[]) => Promise<RunResult>;
  cases: [label: string, args: string[], reason: RegExp][];
  listArgs: string[];
}): void {
  const { node, cli, cases, listArgs } = options;
  let listBefore: string;
  let stateBefore: string;
  before(async () => {
    [listBefore, stateBefore] = await Promise.all([cli(...listArgs).then((r) => ok(r).stdout), stateSnapshot(node())]);
  });

  // They run a few at a time to keep the suite quick; none may change anything.
  describe('each failure', { concurrency: 4 }, () => {
    for (const [label, args, reason] of cases) {
      it(`${label} → ${reason.source}`, async () => {
        assert.match(failureLine(await cli(...args)), reason);
        assert.equal(await stateSnapshot(node()), stateBefore, 'state unchanged');
      });
    }
  });

  it(`${listArgs.join(' ')} output is identical after all of the failures`, async () => {
    assert.equal(ok(await cli(...listArgs)).stdout, listBefore);
  });
}

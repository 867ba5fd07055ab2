/** Checks on the one-line ManagementErrors management services refuse with (src/core/errors.ts). */
import assert from 'node:assert/strict';
import { ManagementError } from '../../src/core/errors.js';

/**
 * A validator for `assert.throws` / `assert.rejects`: the error is a ManagementError of `kind`, its
 * message matches and is one line. Fails with the actual error's message when it is not.
 */
export function managementError(kind: ManagementError['kind'], message: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof ManagementError, String(error));
    assert.equal(error.kind, kind, error.message);
    assert.match(error.message, message);
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    return true;
  };
}

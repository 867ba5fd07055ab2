import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { permissionsOf, permissionsOfRole, ROLE_NAMES } from '../../src/access/roles.js';
import { PERMISSIONS } from '../../src/access/permissions.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The roles table as docs/access.md must carry it: one row per permission, one column per role. */
function rolesTable(): string {
  const header = `| permission | ${ROLE_NAMES.join(' | ')} |`;
  const rule = `|---|${ROLE_NAMES.map(() => ':-:').join('|')}|`;
  const rows = PERMISSIONS.map((p) => `| \`${p}\` | ${ROLE_NAMES.map((r) => (permissionsOfRole(r).includes(p) ? '✓' : '')).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

describe('roles', () => {
  it('docs/access.md carries the roles table as the code defines it', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'access.md'), 'utf8');
    const table = doc.match(/<!-- roles:begin -->\n([\s\S]*?)\n<!-- roles:end -->/)?.[1];
    assert.equal(table, rolesTable(), `update docs/access.md with:\n${rolesTable()}`);
  });

  it('administrator has every permission; auditor only audit and metrics; approver only approvals; monitor only metrics', () => {
    assert.deepEqual([...permissionsOf(['administrator'])].sort(), [...PERMISSIONS].sort());
    assert.deepEqual([...permissionsOf(['auditor'])], ['audit:read', 'metrics:read']);
    assert.deepEqual([...permissionsOf(['monitor'])], ['metrics:read']);
    assert.deepEqual([...permissionsOf(['approver'])].sort(), ['approvals:decide', 'approvals:read']);
    assert.ok(!permissionsOf(['key-officer']).has('users:manage'));
    assert.deepEqual([...permissionsOf(['auditor', 'approver'])].sort(), [
      'approvals:decide',
      'approvals:read',
      'audit:read',
      'metrics:read',
    ]);
  });
});

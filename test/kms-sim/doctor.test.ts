/** `keyhold doctor` against good and bad loopback proxies, in-process and through the real CLI. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { formatReport, registerDoctorCommand } from '../../src/cli/commands/doctor.js';
import { DOCTOR_CHECK_NAMES, runDoctor, type DoctorOptions, type DoctorReport } from '../../src/kms-sim/doctor.js';
import { DoctorUsageError, normalizeEndpoint, uriPathFromPrefix } from '../../src/kms-sim/doctor-endpoint.js';
import type { LoopbackXksServer, LoopbackXksServerOptions } from './fixtures/loopback-xks-server.js';
import { ACCESS_KEY_ID, PREFIX, SECRET, startServer, testCertificate } from './fixtures/harness.js';

/** The keystore's secret in a file in DIR, as `doctor --secret-file` reads it (never a flag). */
function secretFile(dir: string): string {
  const path = join(dir, 'secret');
  writeFileSync(path, `${SECRET}\n`, { mode: 0o600 });
  return path;
}

const ALL_CHECKS = Object.values(DOCTOR_CHECK_NAMES);

function doctorOptions(server: LoopbackXksServer, overrides: Partial<DoctorOptions> = {}): DoctorOptions {
  return {
    endpoint: server.url,
    prefix: PREFIX,
    accessKeyId: ACCESS_KEY_ID,
    secret: SECRET,
    keyId: 'key-1',
    ca: testCertificate().cert,
    ...overrides,
  };
}

async function doctorAgainst(
  serverOptions: Partial<LoopbackXksServerOptions>,
  overrides: Partial<DoctorOptions> = {},
): Promise<DoctorReport> {
  const server = await startServer(serverOptions);
  try {
    return await runDoctor(doctorOptions(server, overrides));
  } finally {
    await server.close();
  }
}

function failedChecks(report: DoctorReport): string[] {
  return report.checks.filter((check) => !check.ok).map((check) => check.name);
}

function detailOf(report: DoctorReport, name: string): string {
  return report.checks.find((check) => check.name === name)?.detail ?? '';
}

describe('runDoctor', () => {
  it('passes a conforming proxy on every check, in order', async () => {
    const report = await doctorAgainst({});
    assert.deepEqual(
      report.checks.map((check) => check.name),
      ALL_CHECKS,
    );
    assert.deepEqual(failedChecks(report), [], JSON.stringify(report.checks, null, 1));
    assert.equal(report.ok, true);
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.wrongContext), /InvalidCiphertextException/);
  });

  it('accepts the prefix with or without /kms/xks/v1 and with or without slashes', async () => {
    assert.equal(uriPathFromPrefix('/acme'), '/acme/kms/xks/v1');
    assert.equal(uriPathFromPrefix('acme/'), '/acme/kms/xks/v1');
    assert.equal(uriPathFromPrefix('/acme/kms/xks/v1'), '/acme/kms/xks/v1');
    assert.equal(uriPathFromPrefix('/acme/kms/xks/v1/'), '/acme/kms/xks/v1');
    assert.equal(uriPathFromPrefix(''), '/kms/xks/v1');
    assert.equal(uriPathFromPrefix('/'), '/kms/xks/v1');
    assert.throws(() => uriPathFromPrefix('/a b'), DoctorUsageError);
    assert.equal((await doctorAgainst({}, { prefix: `${PREFIX}/kms/xks/v1` })).ok, true);
  });

  it('rejects endpoints that are not https://host[:port]', () => {
    assert.equal(normalizeEndpoint('https://xks.example.com/'), 'https://xks.example.com');
    for (const bad of ['http://xks.example.com', 'https://xks.example.com/demo', 'xks.example.com', 'https://h?x=1']) {
      assert.throws(() => normalizeEndpoint(bad), DoctorUsageError, bad);
    }
  });

  it('fails a proxy that skips authentication', async () => {
    const report = await doctorAgainst({ misbehave: ['skip-auth'] });
    assert.equal(report.ok, false);
    assert.deepEqual(failedChecks(report), [DOCTOR_CHECK_NAMES.wrongSecret, DOCTOR_CHECK_NAMES.alteredBody]);
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.wrongSecret), /expected 401 AuthenticationFailedException, got HTTP 200/);
  });

  it('fails a proxy that returns the plaintext as "ciphertext"', async () => {
    const report = await doctorAgainst({ misbehave: ['plaintext-as-ciphertext'] });
    assert.equal(report.ok, false);
    for (const name of [
      DOCTOR_CHECK_NAMES.dataKey,
      DOCTOR_CHECK_NAMES.context,
      DOCTOR_CHECK_NAMES.cdiv,
      DOCTOR_CHECK_NAMES.tamperedCiphertext,
    ]) {
      assert.ok(failedChecks(report).includes(name), name);
    }
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.dataKey), /ciphertext-differs-from-plaintext/);
  });

  it('fails a proxy that does not bind the AAD', async () => {
    const report = await doctorAgainst({ misbehave: ['ignore-aad'] });
    assert.deepEqual(failedChecks(report), [DOCTOR_CHECK_NAMES.wrongContext]);
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.wrongContext), /AAD is not bound/);
  });

  it('fails a proxy whose answers break the response rules', async () => {
    for (const [misbehaviour, check] of [
      ['short-tag', 'tag-is-16-bytes'],
      ['wrong-cdiv', 'cdiv-matches'],
      ['long-metadata', 'metadata-at-most-20-bytes'],
      ['wrong-ciphertext-length', 'ciphertext-length-equals-plaintext-length'],
    ] as const) {
      const report = await doctorAgainst({ misbehave: [misbehaviour] });
      assert.equal(report.ok, false, misbehaviour);
      assert.match(detailOf(report, DOCTOR_CHECK_NAMES.dataKey), new RegExp(check), misbehaviour);
    }
    const health = await doctorAgainst({ misbehave: ['health-11-entries'] });
    assert.match(detailOf(health, DOCTOR_CHECK_NAMES.create), /XksProxyInvalidResponseException.*ekmFleetDetails-has-1-to-10-entries/);
  });

  it('reports a timeout after one retry and marks dependent checks as not run', async () => {
    const report = await doctorAgainst({ delayMs: () => 300 }, { timeoutMs: 100 });
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.create), /did not respond in time/);
    assert.equal(detailOf(report, DOCTOR_CHECK_NAMES.connect), `not run: needs "${DOCTOR_CHECK_NAMES.create}"`);
    assert.equal(report.ok, false);
  });

  it('never reveals the secret, even when it is wrong', async () => {
    const wrongSecret = 'ThisIsTheWrongSecretForTheDoctorTest1234567=';
    const report = await doctorAgainst({}, { secret: wrongSecret });
    assert.equal(report.ok, false);
    assert.match(detailOf(report, DOCTOR_CHECK_NAMES.create), /XksProxyIncorrectAuthenticationCredentialException/);
    assert.equal(JSON.stringify(report).includes(wrongSecret), false);
  });

  it('fails CreateKey for an unknown or unusable external key', async () => {
    const unknown = await doctorAgainst({}, { keyId: 'no-such-key' });
    assert.match(detailOf(unknown, DOCTOR_CHECK_NAMES.createKey), /XksKeyNotFoundException/);
    const disabled = await doctorAgainst({ keys: { 'key-1': { keyStatus: 'DISABLED' } } });
    assert.match(detailOf(disabled, DOCTOR_CHECK_NAMES.createKey), /status of the external key must be ENABLED/);
  });
});

describe('keyhold doctor command', () => {
  async function runCommand(args: string[]): Promise<{ lines: string[]; exitCode: number | undefined }> {
    const program = new Command('keyhold').exitOverride();
    registerDoctorCommand(program);
    const lines: string[] = [];
    const log = console.log;
    const previousExitCode = process.exitCode;
    console.log = (...parts: unknown[]) => void lines.push(parts.join(' '));
    try {
      await program.parseAsync(['node', 'keyhold', 'doctor', ...args]);
      return { lines, exitCode: process.exitCode as number | undefined };
    } finally {
      console.log = log;
      process.exitCode = previousExitCode;
    }
  }

  it('prints one PASS/FAIL line per check and a summary, and exits 0 only when all pass', async () => {
    const server = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'doctor-ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, testCertificate().cert);
    const args = [
      '--endpoint',
      server.url,
      '--prefix',
      PREFIX,
      '--access-key-id',
      ACCESS_KEY_ID,
      '--secret-file',
      secretFile(dir),
      '--key',
      'key-1',
      '--ca',
      caFile,
    ];
    try {
      const good = await runCommand(args);
      assert.equal(good.exitCode, 0);
      assert.equal(good.lines.length, 1 + ALL_CHECKS.length + 1);
      assert.ok(
        good.lines.slice(1, -1).every((line) => line.startsWith('PASS ') && line.includes(' — ')),
        good.lines.join('\n'),
      );
      assert.equal(good.lines.at(-1), `doctor: all ${ALL_CHECKS.length} checks passed`);
      assert.equal(good.lines.join('\n').includes(SECRET), false);

      server.misbehave.add('skip-auth');
      const bad = await runCommand(args);
      assert.equal(bad.exitCode, 1);
      assert.ok(bad.lines.some((line) => line.startsWith(`FAIL ${DOCTOR_CHECK_NAMES.wrongSecret} — `)));
      assert.equal(bad.lines.at(-1), `doctor: 2 of ${ALL_CHECKS.length} checks failed`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });

  it('formats reports', () => {
    assert.deepEqual(
      formatReport({
        ok: false,
        checks: [
          { name: 'a', ok: true, detail: 'fine' },
          { name: 'b', ok: false, detail: 'bad' },
        ],
      }),
      ['PASS a — fine', 'FAIL b — bad', 'doctor: 1 of 2 checks failed'],
    );
  });

  it('turns bad flag values (and the secret as a plain --secret flag, or no secret at all) into usage errors with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doctor-usage-'));
    const flags = ['--prefix', PREFIX, '--access-key-id', ACCESS_KEY_ID, '--key', 'k'];
    const base = [...flags, '--secret-file', secretFile(dir)];
    const cases = [
      ['--endpoint', 'http://localhost', ...base],
      ['--endpoint', 'https://localhost', ...base, '--timeout-ms', 'soon'],
      ['--endpoint', 'https://localhost', ...base, '--ca', '/no/such/file.pem'],
      ['--endpoint', 'https://localhost', ...flags, '--secret', SECRET],
      ['--endpoint', 'https://localhost', ...flags],
    ];
    for (const args of cases) {
      await assert.rejects(runCommand(args), (error: unknown) => {
        assert.equal((error as { exitCode?: number }).exitCode, 2);
        assert.equal(String((error as Error).message).includes('\n'), false);
        assert.equal(String((error as Error).message).includes(SECRET), false);
        return true;
      });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with one line through the real CLI on a usage error, and 0 against a good proxy', async () => {
    const missing = await runCli(['--endpoint', 'https://localhost']);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
    assert.equal(missing.stdout, '');

    const server = await startServer();
    const dir = mkdtempSync(join(tmpdir(), 'doctor-cli-'));
    writeFileSync(join(dir, 'ca.pem'), testCertificate().cert);
    try {
      const result = await runCli(
        [
          '--endpoint',
          server.url,
          '--prefix',
          PREFIX,
          '--access-key-id',
          ACCESS_KEY_ID,
          '--secret-stdin',
          '--key',
          'key-1',
          '--ca',
          join(dir, 'ca.pem'),
          '--timeout-ms',
          '2000',
        ],
        { input: `${SECRET}\n` },
      );
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, new RegExp(`doctor: all ${ALL_CHECKS.length} checks passed`));
      assert.equal(result.stdout.includes(SECRET) || result.stderr.includes(SECRET), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });
});

/** Runs `keyhold doctor` from source in a child process (asynchronously: the test proxy lives in this process). */
/** Runs `keyhold doctor ARGS` as a child process, with `input` (if any) as its stdin. */
async function runCli(args: string[], options: { input?: string } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    run.child.stdin?.end(options.input ?? '');
    const { stdout, stderr } = await run;
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * `keyhold doctor`: checks any XKS endpoint the way AWS KMS would, plus a few checks KMS
 * cannot make (src/kms-sim/doctor.ts). Exit 0 only when every check passes; 2 on a usage error.
 * The secret is never printed. With --json: one document with the target and every check.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runDoctor, type DoctorReport } from '../../kms-sim/doctor.js';
import { DoctorUsageError, normalizeEndpoint, uriPathFromPrefix } from '../../kms-sim/doctor-endpoint.js';
import { CliError, errorCode } from '../cli-error.js';
import { printJson } from '../output.js';
import { jsonOutput } from '../global-flags.js';
import { addSecretOptions, readSecretOption, type SecretOptionSpec } from '../secret-option.js';

/** The keystore's SigV4 secret: from a file, stdin or $KEYHOLD_XKS_SECRET, never the command line. */
const XKS_SECRET: SecretOptionSpec = { name: 'secret', env: 'KEYHOLD_XKS_SECRET', what: 'SigV4 secret access key' };

interface DoctorFlags {
  endpoint: string;
  prefix: string;
  accessKeyId: string;
  key: string;
  region: string;
  insecure?: boolean;
  ca?: string;
  clientCert?: string;
  clientKey?: string;
  timeoutMs?: string;
}

const USAGE_EXIT_CODE = 2;

function usageError(message: string): CliError {
  return new CliError(`doctor: ${message}`, USAGE_EXIT_CODE);
}

function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const timeoutMs = Number(value);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
    throw usageError(`--timeout-ms must be a whole number of milliseconds from 1 to 60000 (got "${value}")`);
  }
  return timeoutMs;
}

function readPemFile(flag: string, path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read --${flag} ${path}: ${errorCode(error)}`);
  }
}

/** --client-cert and --client-key come together (mutual TLS, as KMS presents its certificate). */
function readClientCertificate(flags: DoctorFlags): { cert: string; key: string } | undefined {
  if ((flags.clientCert === undefined) !== (flags.clientKey === undefined)) throw usageError('--client-cert and --client-key go together');
  const cert = readPemFile('client-cert', flags.clientCert);
  const key = readPemFile('client-key', flags.clientKey);
  return cert !== undefined && key !== undefined ? { cert, key } : undefined;
}

export function formatReport(report: DoctorReport): string[] {
  const lines = report.checks.map((check) => `${check.ok ? 'PASS' : 'FAIL'} ${check.name} — ${check.detail}`);
  const failed = report.checks.filter((check) => !check.ok).length;
  lines.push(
    failed === 0 ? `doctor: all ${report.checks.length} checks passed` : `doctor: ${failed} of ${report.checks.length} checks failed`,
  );
  return lines;
}

export function registerDoctorCommand(program: Command): void {
  const doctor = program
    .command('doctor')
    .description('check an XKS endpoint the way AWS KMS would (plus authentication and tamper probes)')
    .requiredOption('--endpoint <url>', 'the XKS proxy endpoint, https://host[:port]')
    .requiredOption('--prefix <path>', "URI path before /kms/xks/v1, e.g. /acme ('' or / for none)")
    .requiredOption('--access-key-id <id>', 'SigV4 access key id of the keystore')
    .requiredOption('--key <id>', 'an external key id to test with (AES_256, ENABLED, ENCRYPT and DECRYPT)')
    .option('--region <region>', 'AWS region KMS signs with', 'us-east-1')
    .option('--insecure', 'do not verify the TLS certificate (KMS always does)')
    .option('--ca <file>', 'PEM file of the CA that issued the endpoint certificate')
    .option(
      '--client-cert <file>',
      'PEM client certificate to present, for an endpoint with mutual TLS (KMS: CN=cks.kms.<region>.amazonaws.com)',
    )
    .option('--client-key <file>', 'PEM private key of --client-cert')
    .option('--timeout-ms <n>', 'deadline per proxy attempt in ms (KMS: 250)')
    .showHelpAfterError(false);
  addSecretOptions(doctor, { ...XKS_SECRET, what: 'SigV4 secret access key of the keystore (never printed)' }).action(
    async (flags: DoctorFlags, command: Command) => {
      const secret = await readSecretOption(flags, XKS_SECRET);
      if (secret === undefined) throw usageError(`give the keystore's secret: --secret-file FILE, --secret-stdin or $${XKS_SECRET.env}`);
      const json = jsonOutput(command);
      const timeoutMs = parseTimeout(flags.timeoutMs);
      const ca = readPemFile('ca', flags.ca);
      const clientCertificate = readClientCertificate(flags);
      let target: string;
      let report: DoctorReport;
      try {
        target = `${normalizeEndpoint(flags.endpoint)}${uriPathFromPrefix(flags.prefix)}`;
        if (!json) console.log(`doctor: ${target} (access key id ${flags.accessKeyId}, region ${flags.region})`);
        report = await runDoctor({
          endpoint: flags.endpoint,
          prefix: flags.prefix,
          accessKeyId: flags.accessKeyId,
          secret,
          keyId: flags.key,
          region: flags.region,
          insecure: Boolean(flags.insecure),
          ...(ca !== undefined ? { ca } : {}),
          ...(clientCertificate ? { clientCertificate } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        });
      } catch (error) {
        if (error instanceof DoctorUsageError) throw usageError(error.message);
        throw error;
      }
      if (json) printJson({ target, accessKeyId: flags.accessKeyId, region: flags.region, ok: report.ok, checks: report.checks });
      else for (const line of formatReport(report)) console.log(line);
      process.exitCode = report.ok ? 0 : 1;
    },
  );
}

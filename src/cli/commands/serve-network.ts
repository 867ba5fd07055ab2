/**
 * `keyhold serve`'s network flags (docs/security.md): mutual TLS on the XKS listener, the admin listener, and
 * the transport limits. Parsed before anything starts, so a bad one leaves nothing behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { commonNameMatcher } from '../../server/client-certificates.js';
import type { NodeOptions } from '../../server/running-node.js';
import { DEFAULT_TRANSPORT_LIMITS, type TransportLimits } from '../../server/transport-limits.js';
import { CliError, errorMessage } from '../cli-error.js';

export interface NetworkFlags {
  host: string;
  port: number;
  xksClientCa?: string;
  xksClientCn?: string;
  adminHost: string;
  adminPort?: string;
  adminClientCa?: string;
  singleListener?: boolean;
  idleTimeoutMs: string;
  handshakeTimeoutMs: string;
  headersTimeoutMs: string;
  requestTimeoutMs: string;
  maxConnections: string;
  maxHeaderBytes: string;
  maxHeaderCount: string;
  maxConcurrentStreams: string;
  maxRejectedStreams: string;
}

const env = process.env;

/** The transport limits' flags: name, limit, what it bounds. */
const LIMIT_FLAGS: { flag: string; key: keyof TransportLimits; env: string; help: string }[] = [
  {
    flag: 'handshake-timeout-ms',
    key: 'handshakeTimeoutMs',
    env: 'KEYHOLD_HANDSHAKE_TIMEOUT_MS',
    help: 'a TLS handshake must complete within this',
  },
  {
    flag: 'headers-timeout-ms',
    key: 'headersTimeoutMs',
    env: 'KEYHOLD_HEADERS_TIMEOUT_MS',
    help: "HTTP/1.1: a request's headers must arrive within this",
  },
  {
    flag: 'request-timeout-ms',
    key: 'requestTimeoutMs',
    env: 'KEYHOLD_REQUEST_TIMEOUT_MS',
    help: 'HTTP/1.1: a whole request, body included, must arrive within this',
  },
  { flag: 'max-connections', key: 'maxConnections', env: 'KEYHOLD_MAX_CONNECTIONS', help: 'open connections per listener, 0 for no limit' },
  { flag: 'max-header-bytes', key: 'maxHeaderBytes', env: 'KEYHOLD_MAX_HEADER_BYTES', help: "size of a request's headers" },
  { flag: 'max-header-count', key: 'maxHeaderCount', env: 'KEYHOLD_MAX_HEADER_COUNT', help: 'header fields per request' },
  {
    flag: 'max-concurrent-streams',
    key: 'maxConcurrentStreams',
    env: 'KEYHOLD_MAX_CONCURRENT_STREAMS',
    help: 'HTTP/2 streams open at once per connection',
  },
  {
    flag: 'max-rejected-streams',
    key: 'maxRejectedStreams',
    env: 'KEYHOLD_MAX_REJECTED_STREAMS',
    help: 'HTTP/2: refused streams or invalid frames before the connection is closed (stream floods, rapid reset)',
  },
];

export function registerNetworkOptions(command: Command): Command {
  command
    .option(
      '--xks-client-ca <file>',
      'mutual TLS: XKS clients must present a certificate issued by this CA bundle (PEM) ($KEYHOLD_XKS_CLIENT_CA)',
      env.KEYHOLD_XKS_CLIENT_CA || undefined,
    )
    .option(
      '--xks-client-cn <pattern>',
      "mutual TLS: accepted client certificate CNs, '*' for one DNS label, comma-separated (default: cks.kms.<region>.amazonaws.com for each keystore's region) ($KEYHOLD_XKS_CLIENT_CN)",
      env.KEYHOLD_XKS_CLIENT_CN || undefined,
    )
    .option(
      '--admin-host <host>',
      'address of the admin listener: admin API, console, /metrics ($KEYHOLD_ADMIN_HOST)',
      env.KEYHOLD_ADMIN_HOST || '127.0.0.1',
    )
    .option(
      '--admin-port <port>',
      'port of the admin listener (default: the XKS port + 1) ($KEYHOLD_ADMIN_PORT)',
      env.KEYHOLD_ADMIN_PORT || undefined,
    )
    .option(
      '--admin-client-ca <file>',
      'the admin listener requires a client certificate issued by this CA bundle (PEM) ($KEYHOLD_ADMIN_CLIENT_CA)',
      env.KEYHOLD_ADMIN_CLIENT_CA || undefined,
    )
    .option(
      '--single-listener',
      'development: serve XKS and the admin side on the one port (--port) ($KEYHOLD_SINGLE_LISTENER=true)',
      env.KEYHOLD_SINGLE_LISTENER === 'true',
    )
    .option(
      '--idle-timeout-ms <ms>',
      'idle keep-alive connections are closed after this ($KEYHOLD_IDLE_TIMEOUT_MS)',
      env.KEYHOLD_IDLE_TIMEOUT_MS || '120000',
    );
  for (const limit of LIMIT_FLAGS)
    command.option(`--${limit.flag} <n>`, `${limit.help} ($${limit.env})`, env[limit.env] || String(DEFAULT_TRANSPORT_LIMITS[limit.key]));
  return command;
}

function wholeNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min)
    throw new CliError(`--${flag}: must be a whole number, at least ${min} (got "${value}")`, 2);
  return n;
}

function readPem(flag: string, path: string): Buffer {
  if (!existsSync(path)) throw new CliError(`--${flag}: no file at ${path}`, 2);
  const pem = readFileSync(path);
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`--${flag}: ${path} holds no PEM certificate`, 2);
  return pem;
}

/** The node options the network flags set. */
export function networkSettings(flags: NetworkFlags): Pick<NodeOptions, 'mutualTls' | 'adminListener' | 'transport' | 'idleTimeoutMs'> {
  if (flags.xksClientCn !== undefined && flags.xksClientCa === undefined) throw new CliError('--xks-client-cn needs --xks-client-ca', 2);
  if (flags.xksClientCn !== undefined) {
    try {
      commonNameMatcher(flags.xksClientCn);
    } catch (error) {
      throw new CliError(`--xks-client-cn: ${errorMessage(error)}`, 2);
    }
  }
  if (flags.singleListener && (flags.adminPort !== undefined || flags.adminClientCa !== undefined))
    throw new CliError('--single-listener serves the admin API on --port: drop --admin-port / --admin-client-ca', 2);
  const transport = { ...DEFAULT_TRANSPORT_LIMITS };
  for (const limit of LIMIT_FLAGS) {
    transport[limit.key] = wholeNumber(limit.flag, flags[limit.key], limit.key === 'maxConnections' ? 0 : 1);
  }
  const adminPort = flags.adminPort === undefined ? (flags.port === 0 ? 0 : flags.port + 1) : wholeNumber('admin-port', flags.adminPort, 0);
  if (adminPort > 65535)
    throw new CliError(`--admin-port: ${adminPort} is not a port number (the XKS port + 1 by default: pass --admin-port)`, 2);
  return {
    idleTimeoutMs: wholeNumber('idle-timeout-ms', flags.idleTimeoutMs, 1),
    transport,
    mutualTls:
      flags.xksClientCa === undefined
        ? undefined
        : { caPem: readPem('xks-client-ca', flags.xksClientCa), caPath: flags.xksClientCa, commonNamePattern: flags.xksClientCn },
    adminListener: flags.singleListener
      ? undefined
      : {
          host: flags.adminHost,
          port: adminPort,
          clientCaPem: flags.adminClientCa === undefined ? undefined : readPem('admin-client-ca', flags.adminClientCa),
          clientCaPath: flags.adminClientCa,
        },
  };
}

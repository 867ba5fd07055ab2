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
  maxCancelledStreams: string;
  peerUnseal?: boolean;
  peerCa?: string;
  peerCert?: string;
  peerKey?: string;
  peerCn?: string;
  peerHost?: string;
  peerPort?: string;
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
    help: 'HTTP/2: refused streams or invalid frames before the connection is closed (stream floods)',
  },
  {
    flag: 'max-cancelled-streams',
    key: 'maxCancelledStreams',
    env: 'KEYHOLD_MAX_CANCELLED_STREAMS',
    help: 'HTTP/2: streams a connection may cancel before their answer within 10 s; past it the connection is closed with ENHANCE_YOUR_CALM (rapid reset)',
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
  // Peer unseal of a Shamir fleet (docs/fleet.md#unseal): off unless --peer-unseal; the key is read from a file, never a flag's value.
  command
    .option(
      '--peer-unseal',
      'Shamir fleet: unseal from (and unseal) peers holding a certificate of the fleet CA (docs/fleet.md#unseal) ($KEYHOLD_PEER_UNSEAL=true)',
      env.KEYHOLD_PEER_UNSEAL === 'true',
    )
    .option(
      '--peer-ca <file>',
      'peer unseal: the fleet CA certificate (PEM) peers must chain to ($KEYHOLD_PEER_CA)',
      env.KEYHOLD_PEER_CA || undefined,
    )
    .option(
      '--peer-cert <file>',
      "peer unseal: this node's fleet certificate (PEM; client and server authentication) ($KEYHOLD_PEER_CERT)",
      env.KEYHOLD_PEER_CERT || undefined,
    )
    .option(
      '--peer-key <file>',
      "peer unseal: the fleet certificate's private key (PEM file) ($KEYHOLD_PEER_KEY)",
      env.KEYHOLD_PEER_KEY || undefined,
    )
    .option(
      '--peer-cn <pattern>',
      "peer unseal: accepted peer certificate CNs, '*' for one DNS label, comma-separated, e.g. *.fleet.example.com ($KEYHOLD_PEER_CN)",
      env.KEYHOLD_PEER_CN || undefined,
    )
    .option(
      '--peer-host <host>',
      'peer unseal: address of the peer listener (default: --host) ($KEYHOLD_PEER_HOST)',
      env.KEYHOLD_PEER_HOST || undefined,
    )
    .option(
      '--peer-port <port>',
      'peer unseal: port of the peer listener (default: the XKS port + 2) ($KEYHOLD_PEER_PORT)',
      env.KEYHOLD_PEER_PORT || undefined,
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

function readKeyPem(flag: string, path: string): Buffer {
  if (!existsSync(path)) throw new CliError(`--${flag}: no file at ${path}`, 2);
  const pem = readFileSync(path);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem.toString('latin1')))
    throw new CliError(`--${flag}: ${path} holds no PEM private key`, 2);
  return pem;
}

/** --peer-unseal and its files (docs/fleet.md#unseal); undefined when off. Every --peer-* flag needs --peer-unseal. */
function peerUnsealSettings(flags: NetworkFlags): NodeOptions['peerUnseal'] {
  const given = (['peerCa', 'peerCert', 'peerKey', 'peerCn', 'peerHost', 'peerPort'] as const).filter((name) => flags[name] !== undefined);
  if (!flags.peerUnseal) {
    if (given.length > 0) throw new CliError(`--${given[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --peer-unseal`, 2);
    return undefined;
  }
  const { peerCa, peerCert, peerKey, peerCn } = flags;
  if (peerCa === undefined || peerCert === undefined || peerKey === undefined || peerCn === undefined)
    throw new CliError('--peer-unseal needs --peer-ca, --peer-cert, --peer-key and --peer-cn', 2);
  try {
    commonNameMatcher(peerCn);
  } catch (error) {
    throw new CliError(`--peer-cn: ${errorMessage(error)}`, 2);
  }
  const port = flags.peerPort === undefined ? (flags.port === 0 ? 0 : flags.port + 2) : wholeNumber('peer-port', flags.peerPort, 0);
  if (port > 65535) throw new CliError(`--peer-port: ${port} is not a port number (the XKS port + 2 by default: pass --peer-port)`, 2);
  return {
    caPem: readPem('peer-ca', peerCa),
    certPem: readPem('peer-cert', peerCert),
    keyPem: readKeyPem('peer-key', peerKey),
    commonNamePattern: peerCn,
    host: flags.peerHost ?? flags.host,
    port,
  };
}

/** The node options the network flags set. */
export function networkSettings(
  flags: NetworkFlags,
): Pick<NodeOptions, 'mutualTls' | 'adminListener' | 'transport' | 'idleTimeoutMs' | 'peerUnseal'> {
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
  const peerUnseal = peerUnsealSettings(flags);
  return {
    peerUnseal,
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

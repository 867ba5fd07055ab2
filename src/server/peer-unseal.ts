/**
 * Peer unseal for a Shamir fleet (docs/fleet.md#unseal), opt-in on every node that takes part:
 *
 * - the **granter**: an unsealed node listens on a port of its own with mutual TLS under the operator's
 *   fleet CA (`--peer-ca`), and answers a peer whose client certificate chains to that CA and whose CN
 *   matches `--peer-cn` with the master key sealed to the ephemeral X25519 key the peer sent
 *   (peer-envelope.ts);
 * - the **requester**: a sealed node looks up its live peers' peer-unseal URLs in the fleet table (their
 *   heartbeat reports), connects with its own fleet certificate, checks the granter's certificate against
 *   the same CA and CN pattern, and unseals only with a key that opens root.json's verifier.
 *
 * The database only says where to knock: trust comes from the fleet CA and the verifier on disk, so one who
 * can write the database can neither obtain the root (no fleet certificate) nor plant a wrong one (the
 * verifier refuses it). Every grant, receipt and refusal is an audit event with node ids; never key bytes.
 */
import type { ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AdminEventSink } from '../audit/admin-events.js';
import { ManagementError } from '../core/errors.js';
import { isJsonObject, parseJson } from '../core/json.js';
import type { NodeRecord } from '../fleet/fleet-store.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import { isSealableRoot } from '../roots/shamir/sealable-root.js';
import { ephemeralKeyPair, openSealedPeerRoot, parseSealedPeerRoot, sealRootForPeer } from '../unseal/peer-envelope.js';
import type { UnsealService } from '../unseal/service.js';
import { commonNameMatcher, judgeClientCertificate } from './client-certificates.js';
import { tlsContextOptions } from './tls-options.js';

/** The one path the peer listener serves. */
export const PEER_UNSEAL_PATH = '/peer-unseal/v1/root';
const MAX_BODY_BYTES = 4_096;

/** `serve --peer-unseal` settings: the fleet CA and this node's fleet certificate (PEM), who is accepted, where to listen. */
export interface PeerUnsealSettings {
  caPem: string | Buffer;
  certPem: string | Buffer;
  keyPem: string | Buffer;
  /** Accepted peer certificate CNs (commonNameMatcher: `*` is one DNS label, comma-separated alternatives). */
  commonNamePattern: string;
  host: string;
  /** 0: any free port. */
  port: number;
  /** A sealed node asks its peers again this often (default 2 s). */
  retryMs?: number;
}

export interface PeerUnseal {
  /** Where peers reach this node's granter (published in its heartbeat report). */
  readonly url: string;
  stop(): Promise<void>;
}

const PEER = (nodeId: string, commonName: string) => ({ kind: 'system' as const, id: `peer:${nodeId}`, name: commonName });

function answer(socket: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
  socket.end(text);
}

/** The granter: a mutual-TLS listener answering PEER_UNSEAL_PATH while this node's root is unsealed. */
async function startGranter(options: {
  settings: PeerUnsealSettings;
  nodeId: string;
  root: RootOfTrust;
  events: AdminEventSink;
  logger: Logger;
  accepts: (commonName: string) => boolean;
}): Promise<Server> {
  const { settings, nodeId, root, events, logger, accepts } = options;
  const refuse = async (detail: string, target: Record<string, string>, remoteAddress: string | undefined) => {
    logger.warn({ event: 'peer_unseal.refused', ...target, remoteAddress }, `peer unseal refused: ${detail}`);
    await events.record({
      actor: PEER(target.requester ?? 'unknown', target.commonName ?? ''),
      action: 'node.peer_unseal.refused',
      outcome: 'denied',
      detail,
      target,
    });
  };
  const server = createServer(
    {
      ...tlsContextOptions({ certPem: settings.certPem, keyPem: settings.keyPem }, { caPem: settings.caPem, required: false }),
      // The handshake completes for any certificate so that a refusal can be answered, logged and audited with its reason.
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => {
        void (async () => {
          const verdict = judgeClientCertificate(socket, accepts);
          if (!verdict.ok) {
            await refuse(verdict.detail, { reason: verdict.reason }, socket.remoteAddress);
            return answer(res, 403, { error: `peer unseal refused: ${verdict.detail}` });
          }
          const commonName = verdict.commonName;
          if (req.method !== 'POST' || req.url !== PEER_UNSEAL_PATH) return answer(res, 404, { error: `only POST ${PEER_UNSEAL_PATH}` });
          const body = size <= MAX_BODY_BYTES ? parseJson(Buffer.concat(chunks).toString('utf8')) : undefined;
          const requester = isJsonObject(body) ? body.nodeId : undefined;
          const publicKey = isJsonObject(body) ? body.publicKey : undefined;
          if (typeof requester !== 'string' || !/^[\w.:-]{1,128}$/.test(requester) || typeof publicKey !== 'string')
            return answer(res, 400, { error: 'expected {"nodeId": "...", "publicKey": "<X25519 SPKI, base64>"}' });
          if (!isSealableRoot(root) || root.state() === 'UNAVAILABLE')
            return answer(res, 503, { error: 'this node is sealed (or not a Shamir node): ask another peer' });
          let masterKey: Buffer | undefined;
          try {
            masterKey = root.exportMasterKey();
            const sealed = sealRootForPeer({ nodeId: requester, publicKey }, nodeId, masterKey);
            await events.record({
              actor: PEER(requester, commonName),
              action: 'node.peer_unseal.granted',
              outcome: 'success',
              target: { requester, commonName, granter: nodeId },
            });
            logger.info(
              { event: 'peer_unseal.granted', requester, commonName },
              `peer unseal: the root was sealed to ${requester} and sent`,
            );
            return answer(res, 200, sealed);
          } catch (error) {
            await refuse(
              error instanceof Error ? error.message : 'could not seal the root',
              { requester, commonName },
              socket.remoteAddress,
            );
            return answer(res, 400, { error: error instanceof Error ? error.message : 'could not seal the root' });
          } finally {
            masterKey?.fill(0);
          }
        })().catch((error: unknown) => {
          logger.error({ err: error, event: 'peer_unseal.error' }, 'peer unseal: answering failed');
          if (!res.headersSent) answer(res, 500, { error: 'internal error' });
        });
      });
    },
  );
  server.on('tlsClientError', (error, socket) =>
    logger.warn(
      { event: 'peer_unseal.tls_error', remoteAddress: socket.remoteAddress, reason: error.message },
      'peer unseal: a TLS handshake failed',
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function commonNameOf(certificate: PeerCertificate): string | undefined {
  const cn: unknown = certificate.subject.CN;
  return typeof cn === 'string' ? cn : undefined;
}

/** One request to one peer: resolves the sealed answer's JSON, or rejects with a one-line reason. */
function askPeer(url: string, settings: PeerUnsealSettings, accepts: (cn: string) => boolean, body: string): Promise<unknown> {
  const target = new URL(PEER_UNSEAL_PATH, url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        ca: settings.caPem,
        cert: settings.certPem,
        key: settings.keyPem,
        agent: false,
        timeout: 5_000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        // The granter is known by its fleet certificate's CN (the CA was checked by TLS), not by the address the database gave.
        checkServerIdentity: (_host, certificate) => {
          const cn = commonNameOf(certificate);
          return cn !== undefined && accepts(cn)
            ? undefined
            : new Error(`the peer's certificate CN ${JSON.stringify(cn ?? '')} is not accepted`);
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          if (text.length < 65_536) text += chunk;
        });
        res.on('end', () => {
          const json = parseJson(text);
          if (res.statusCode === 200) return resolve(json);
          const error = isJsonObject(json) && typeof json.error === 'string' ? json.error : `status ${res.statusCode ?? 0}`;
          reject(new Error(error));
        });
      },
    );
    req.on('error', (error) => reject(error));
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.end(body);
  });
}

/**
 * The requester: while this node is sealed, asks each live unsealed peer that publishes a peer-unseal URL,
 * every `retryMs`, until one's root opens root.json's verifier.
 */
function startRequester(options: {
  settings: PeerUnsealSettings;
  nodeId: string;
  unseal: UnsealService;
  peers: () => NodeRecord[];
  events: AdminEventSink;
  logger: Logger;
  accepts: (commonName: string) => boolean;
}): { stop(): Promise<void> } {
  const { settings, nodeId, unseal, events, logger, accepts } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tryPeer = async (peer: NodeRecord, url: string): Promise<boolean> => {
    const pair = ephemeralKeyPair();
    let masterKey: Buffer | undefined;
    try {
      const sealed = parseSealedPeerRoot(await askPeer(url, settings, accepts, JSON.stringify({ nodeId, publicKey: pair.publicKey })));
      if (!sealed) throw new Error('the peer answered something other than a sealed root');
      masterKey = openSealedPeerRoot(pair, nodeId, sealed);
      await unseal.enterMasterKey(masterKey);
      await events.record({
        actor: PEER(peer.id, peer.hostname),
        action: 'node.peer_unseal.received',
        outcome: 'success',
        target: { granter: peer.id, requester: nodeId },
      });
      logger.info(
        { event: 'peer_unseal.received', granter: peer.id },
        `unsealed by peer ${peer.id}: keys are open, the node serves crypto`,
      );
      return true;
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      // A root the verifier refuses is an attack or a misconfigured fleet: an error, and audited. A peer that
      // cannot be reached or refused us is logged and tried again.
      if (error instanceof ManagementError) {
        logger.error({ event: 'peer_unseal.refused', granter: peer.id }, `peer unseal: refused the root from ${peer.id}: ${detail}`);
        await events.record({
          actor: PEER(peer.id, peer.hostname),
          action: 'node.peer_unseal.refused',
          outcome: 'denied',
          detail,
          target: { granter: peer.id, requester: nodeId },
        });
      } else logger.warn({ event: 'peer_unseal.failed', granter: peer.id }, `peer unseal: asking ${peer.id} failed: ${detail}`);
      return false;
    } finally {
      masterKey?.fill(0);
    }
  };

  const round = async () => {
    // Peers that reported themselves unsealed first; a sealed one answers 503 (its report may be a heartbeat old).
    const peers = options.peers().filter((peer) => peer.report?.peerUnsealUrl !== undefined);
    peers.sort((a, b) => Number(a.report?.sealed ?? true) - Number(b.report?.sealed ?? true));
    for (const peer of peers) {
      const url = peer.report?.peerUnsealUrl;
      if (stopped || unseal.serving() || url === undefined) return;
      if (await tryPeer(peer, url)) return;
    }
  };
  const schedule = () => {
    if (stopped || unseal.serving()) return;
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, settings.retryMs ?? 2_000);
  };
  running = round().finally(schedule);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

/** Starts both halves: the granter listener always, the requester while the node is sealed. */
export async function startPeerUnseal(options: {
  settings: PeerUnsealSettings;
  nodeId: string;
  root: RootOfTrust;
  unseal: UnsealService;
  peers: () => NodeRecord[];
  events: AdminEventSink;
  logger: Logger;
}): Promise<PeerUnseal & { startRequesting(): void }> {
  if (!isSealableRoot(options.root))
    throw new Error(`peer unseal is for a Shamir fleet: this node's root of trust is ${options.root.kind}, which has no shares`);
  const accepts = commonNameMatcher(options.settings.commonNamePattern);
  const server = await startGranter({ ...options, accepts });
  const { port } = server.address() as AddressInfo;
  const host = options.settings.host;
  // Any address the peers can reach: they know this node by its certificate's CN, not by the name in the URL.
  const urlHost = ['0.0.0.0', '::'].includes(host) ? hostname() : host;
  let requester: { stop(): Promise<void> } | undefined;
  return {
    url: `https://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`,
    startRequesting() {
      if (!options.unseal.serving()) requester ??= startRequester({ ...options, accepts });
    },
    async stop() {
      await requester?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

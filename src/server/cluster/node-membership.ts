import type { ClusterMember } from './cluster-member.js';

/** A worker's node id: the data directory's, suffixed with its number (`<nodeId>-w2`); unchanged for a single process. */
export function workerNodeId(dataDirNodeId: string, member: Pick<ClusterMember, 'index'> | undefined): string {
  return member ? `${dataDirNodeId}-w${member.index}` : dataDirNodeId;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the hook reads of a Fastify request and reply. */
interface AdminExchange {
  request: { method: string; url: string; routeOptions: { url?: string } };
  reply: { statusCode: number };
}

/**
 * A Fastify `onSend` hook: after a successful mutating admin request (a key, keystore, credential,
 * policy, kill switch or approval changed), the other workers refresh before the response is sent, so
 * the caller's next XKS request sees the change whichever worker it lands on.
 */
export function announceAdminChanges(member: ClusterMember) {
  return async (request: AdminExchange['request'], reply: AdminExchange['reply'], payload: unknown): Promise<unknown> => {
    if (!READ_METHODS.has(request.method) && reply.statusCode < 400 && request.url.startsWith('/api/')) {
      await member.announceChange(`${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`);
    }
    return payload;
  };
}

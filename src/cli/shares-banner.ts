import type { InitResult } from '../server/init.js';

/** What `init --shares N --threshold M` prints once: every share, with what custodians must know. */
export function sharesBanner(result: InitResult): string {
  if (!result.shares) return '';
  const { shares, threshold } = result.shares;
  return `
Shamir unseal: the master key was split into ${shares.length} shares; any ${threshold} of them unseal the node.
WARNING: the shares are shown only now and are stored nowhere. Give each one to a different custodian now;
without ${threshold} of them every key of this node is lost for good.
${shares.map((share, i) => `  custodian ${String(i + 1).padStart(String(shares.length).length)}: ${share}`).join('\n')}

The node starts sealed (also after every restart): it serves no crypto and reports UNAVAILABLE to AWS KMS
until ${threshold} custodians have each entered their share with \`keyhold unseal\`. See docs/unseal.md.
`;
}

/** What `serve` prints when it starts sealed. */
export function sealedNotice(status: { threshold?: number; shares?: number }): string {
  return `The node is SEALED: it serves no crypto and reports UNAVAILABLE until ${status.threshold} of ${status.shares} custodians
each run \`keyhold unseal\` (it prompts for the share; or: echo SHARE | keyhold unseal). Progress: keyhold unseal --status`;
}

import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import { conflict, ManagementError } from '../core/errors.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import { isSealableRoot } from '../roots/shamir/sealable-root.js';

export interface UnsealStatus {
  /** True until the custodians' shares are in and the node serves crypto again. */
  sealed: boolean;
  rootOfTrust: string;
  /** Shamir nodes only. */
  threshold?: number;
  shares?: number;
  entered?: number;
  /** One line for people, e.g. "sealed: 2 of 3 shares entered". */
  message: string;
}

export interface UnsealServiceDeps {
  root: RootOfTrust;
  /** Runs once, when the root becomes unsealed: load every key (opened on first use) and the canary (node start's deferred half). */
  onUnsealed: () => Promise<void>;
  events?: AdminEventSink;
}

export type UnsealActor = { kind: 'user' | 'token' | 'system'; id: string; name: string };

/**
 * Unsealing a Shamir node through the admin API (docs/unseal.md): the custodians' shares go to the root
 * one at a time; when the root unseals, the node opens its keys and only then reports itself unsealed
 * (and its XKS gate opens). Shares never leave memory and are never logged or recorded; audit events
 * carry progress only. On a root without shares the node is always unsealed and both actions refuse.
 */
export interface UnsealService {
  /** Where the node stands: sealed or not, and for Shamir the shares entered of the threshold (GET /api/v1/unseal). */
  readonly status: () => UnsealStatus;
  /** True once crypto can be served: always for unsealed roots, after unseal and key loading for Shamir. */
  readonly serving: () => boolean;
  /**
   * Enters one custodian's share; at the threshold the root unseals and the keys open. Once the root is
   * unsealed but opening the keys failed (the database was down), entering again retries the opening.
   */
  readonly enterShare: (share: string, actor?: UnsealActor) => Promise<UnsealStatus>;
  /** Forgets the shares entered so far (a custodian entered the wrong one, or the ceremony is abandoned). */
  readonly reset: (actor?: UnsealActor) => Promise<UnsealStatus>;
  /**
   * Unseals with the whole master key received from a peer (docs/fleet.md#unseal), then opens the keys.
   * The root checks it against root.json's verifier first: a wrong key rejects (ManagementError,
   * WRONG_ROOT) and nothing changes. The peer-unseal module audits the outcome, with the peer's id.
   */
  readonly enterMasterKey: (masterKey: Buffer) => Promise<UnsealStatus>;
}

const SYSTEM: UnsealActor = { kind: 'system', id: 'system', name: 'system' };

export function createUnsealService({ root, onUnsealed, events = discardAdminEvents }: UnsealServiceDeps): UnsealService {
  const sealable = isSealableRoot(root) ? root : undefined;
  let serving = !sealable;
  let opening: Promise<void> | undefined;

  function status(): UnsealStatus {
    if (!sealable) return { sealed: false, rootOfTrust: root.kind, message: `unsealed: the ${root.kind} root of trust has no shares` };
    const progress = sealable.progress();
    const sealed = !serving;
    return {
      sealed,
      rootOfTrust: root.kind,
      threshold: progress.threshold,
      shares: progress.shares,
      entered: progress.entered,
      message: sealed
        ? `sealed: ${progress.entered} of ${progress.threshold} shares entered (${progress.shares} exist)`
        : `unsealed: ${progress.threshold} of ${progress.shares} shares reconstructed the master key; the node serves`,
    };
  }

  /** Opens the keys once; a failure (e.g. the database is down) can be retried by entering status again. */
  function openKeys(): Promise<void> {
    opening ??= onUnsealed().then(
      () => {
        serving = true;
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  }

  return {
    status,

    serving: () => serving,

    async enterShare(share, actor = SYSTEM) {
      if (!sealable) throw conflict(`this node's root of trust (${root.kind}) is not sealed by Shamir shares; there is nothing to unseal`);
      if (serving) throw conflict('the node is already unsealed');
      try {
        if (sealable.state() !== 'UNAVAILABLE') await openKeys();
        else {
          const progress = await sealable.enterShare(share);
          if (!progress.sealed) await openKeys();
        }
      } catch (error) {
        await events.record({
          actor,
          action: 'node.unseal',
          outcome: 'failure',
          detail: error instanceof ManagementError ? error.message : 'could not open the keys after unsealing',
          target: { entered: sealable.progress().entered, threshold: sealable.progress().threshold },
        });
        throw error;
      }
      const result = status();
      await events.record({
        actor,
        action: 'node.unseal',
        outcome: 'success',
        detail: result.message,
        target: { entered: result.entered, threshold: result.threshold, sealed: result.sealed },
      });
      return result;
    },

    async enterMasterKey(masterKey) {
      if (!sealable) throw conflict(`this node's root of trust (${root.kind}) is not sealed by Shamir shares; there is nothing to unseal`);
      if (serving) throw conflict('the node is already unsealed');
      if (sealable.state() === 'UNAVAILABLE') await sealable.enterMasterKey(masterKey);
      await openKeys();
      return status();
    },

    async reset(actor = SYSTEM) {
      if (!sealable) throw conflict(`this node's root of trust (${root.kind}) is not sealed by Shamir shares; there is nothing to reset`);
      if (serving) throw conflict('the node is already unsealed');
      sealable.resetShares();
      await events.record({ actor, action: 'node.unseal.reset', outcome: 'success', target: { threshold: sealable.progress().threshold } });
      return status();
    },
  };
}

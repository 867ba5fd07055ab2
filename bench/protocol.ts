/** What the Keyhold child (keyhold-child.mjs) writes after initializing a data directory (--init-only). */
export interface KeyholdInfo {
  certPath: string;
  keyPath: string;
  uriPath: string;
  /** Key ids spread evenly over all the keystore's keys (at most 1024). */
  keyIds: string[];
  /** Keys in the keystore (the demo key included). */
  keyCount: number;
  credential: { accessKeyId: string; secret: string; region: string };
}

/** What a started Keyhold node reports: its port and how long startNode() took, with the info above. */
export interface KeyholdReady extends KeyholdInfo {
  type: 'ready';
  port: number;
  startNodeMs?: number;
  /** Keys in the node's live state (internal ones such as the health canary included). */
  liveKeys?: number;
}

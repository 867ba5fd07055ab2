/** What the Keyhold child (keyhold-child.mjs) reports over IPC once it serves. */
export interface KeyholdReady {
  type: 'ready';
  port: number;
  certPath: string;
  keyPath: string;
  uriPath: string;
  keyId: string;
  credential: { accessKeyId: string; secret: string; region: string };
}

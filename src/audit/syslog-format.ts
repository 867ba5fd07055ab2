import { hostname } from 'node:os';
import type { ChainedAuditEvent } from './event.js';

/** SD-PARAM value escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const sdValue = (value: string) => value.replace(/[\\"\]]/g, (c) => `\\${c}`);

/** Our private enterprise number placeholder for the SD-ID (RFC 5424 §7.2.2 `name@number`). */
const SD_ID = 'keyhold@32473';

/**
 * One event as an RFC 5424 message: facility 13 (log audit), severity info (notice for failures),
 * APP-NAME keyhold, MSGID the event kind, structured data with the chain position and the key
 * fields, and the whole event as JSON in MSG.
 */
export function syslogMessage(event: ChainedAuditEvent, host = hostname()): string {
  const severity = event.outcome === 'success' ? 6 : 5;
  const pri = 13 * 8 + severity;
  const params: [string, string | number | null][] = [
    ['chain', event.chain],
    ['seq', event.seq],
    ['hash', event.hash],
    ['action', event.action],
    ['outcome', event.outcome],
    ['keystore', event.keystore],
    ['keyId', event.keyId],
    ['kmsRequestId', event.kmsRequestId],
  ];
  const sd = `[${SD_ID} ${params
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}="${sdValue(String(v))}"`)
    .join(' ')}]`;
  const hostField = (host || '-').replace(/[^\x21-\x7e]/g, '').slice(0, 255) || '-';
  return `<${pri}>1 ${new Date(event.time).toISOString()} ${hostField} keyhold ${process.pid} ${event.kind} ${sd} ${JSON.stringify(event)}`;
}

/** RFC 6587 octet-counting framing: `LEN SP MSG`. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

import { Counter, type Registry } from 'prom-client';

/** keyhold_http2_rapid_reset_sessions_closed_total{listener}: HTTP/2 sessions closed for cancelling too many streams. */
export function rapidResetSessionCounter(registry: Registry): (listener: string) => void {
  const counter = new Counter({
    name: 'keyhold_http2_rapid_reset_sessions_closed_total',
    help: 'HTTP/2 sessions closed with GOAWAY ENHANCE_YOUR_CALM for cancelling more streams than --max-cancelled-streams (rapid reset), by listener',
    labelNames: ['listener'],
    registers: [registry],
  });
  return (listener) => counter.inc({ listener });
}

import { Counter, type Registry } from 'prom-client';

/** keyhold_xks_client_certificate_refusals_total{reason}: connections and requests refused by mutual TLS. */
export function clientCertRefusalCounter(registry: Registry): (reason: string) => void {
  const counter = new Counter({
    name: 'keyhold_xks_client_certificate_refusals_total',
    help: 'XKS connections (a refused certificate) and requests (no certificate) refused by mutual TLS, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  return (reason) => counter.inc({ reason });
}

/**
 * Which side answers a request, per listener (docs/security.md#listeners).
 *
 * Single-listener mode (development, `serve --single-listener`): one port serves both planes; the admin side is
 * the admin API, the web console (/console/), /ping, /metrics, /healthz and /readyz, everything else is XKS (as
 * before the split).
 * Split mode (the default of `keyhold serve`): the XKS listener, the one facing KMS, serves the XKS paths plus
 * /ping, /healthz and /readyz (load balancers and orchestrators); everything else of the admin side (the admin
 * API, /metrics, a console) exists only on the admin listener, where every path goes to the admin side.
 */
import { isConsolePath } from '../admin/routes/console.js';

/** Paths outside /api/ that the admin side serves in single-listener mode. */
const ADMIN_SIDE_PATHS = ['/ping', '/metrics', '/healthz', '/readyz'];
/** Paths the XKS listener hands to the admin side in split mode. */
const XKS_LISTENER_HEALTH_PATHS = ['/ping', '/healthz', '/readyz'];

export type Side = 'admin' | 'xks';

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Single-listener mode: the admin side's paths; everything else is the XKS data plane. */
export function isAdminPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  if (url.startsWith('/api/')) return true;
  const path = pathOf(url);
  return ADMIN_SIDE_PATHS.includes(path) || isConsolePath(path);
}

/** The XKS listener in split mode: health paths go to the admin side's handlers, everything else to XKS. */
export function xksListenerSide(url: string | undefined): Side {
  return url !== undefined && XKS_LISTENER_HEALTH_PATHS.includes(pathOf(url)) ? 'admin' : 'xks';
}

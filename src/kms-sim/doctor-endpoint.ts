/** What `keyhold doctor` is pointed at: the endpoint and URI path KMS would call, checked as KMS checks them. */

/** Options that cannot describe an endpoint; the CLI turns this into a usage error. */
export class DoctorUsageError extends Error {
  override readonly name = 'DoctorUsageError';
}

const API_SUFFIX = '/kms/xks/v1';

/** '/acme', 'acme/', '/acme/kms/xks/v1', '' and '/' all become a uriPath such as '/acme/kms/xks/v1'. */
export function uriPathFromPrefix(prefix: string): string {
  let path = prefix.trim().replace(/\/+$/, '');
  if (path.endsWith(API_SUFFIX)) path = path.slice(0, -API_SUFFIX.length);
  if (path !== '' && !path.startsWith('/')) path = `/${path}`;
  if (!/^(\/[A-Za-z0-9/_-]*)?$/.test(path)) {
    throw new DoctorUsageError(`--prefix may only contain a-z, A-Z, 0-9, /, - and _ (got "${prefix}")`);
  }
  return `${path}${API_SUFFIX}`;
}

export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new DoctorUsageError(`--endpoint must be a URL such as https://xks.example.com (got "${endpoint}")`);
  }
  if (url.protocol !== 'https:') throw new DoctorUsageError('--endpoint must use https://');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new DoctorUsageError('--endpoint must be only https://host[:port]; put the path in --prefix');
  }
  return `https://${url.host}`;
}

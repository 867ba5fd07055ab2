export { generateAdminToken as generateApiToken, hashToken } from '../admin/token.js';

/** How long a token from `POST /auth/login` lives. */
export const LOGIN_TOKEN_TTL_MS = 12 * 60 * 60 * 1000;
/** The longest lifetime a created token may have (a year); tokens always expire. */
export const MAX_TOKEN_TTL_MS = 366 * 24 * 60 * 60 * 1000;

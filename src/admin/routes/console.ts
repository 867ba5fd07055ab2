import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply } from 'fastify';
import { publicRoute } from '../permissions.js';

/** Where `npm run build:console` writes the web console: console/dist of the package (from src/ or dist/). */
export const CONSOLE_DIRECTORY = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

export interface ConsoleRouteOptions {
  /** The built console: index.html and assets/ (Vite's hashed files). */
  directory: string;
}

/**
 * The console's page may load only its own files and talk only to its own origin: no inline script or
 * style (the build writes none), no framing, no plugins, no base-URI or form tricks.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** `/console` and everything under `/console/`: the paths the web console is served on. */
export function isConsolePath(path: string): boolean {
  return path === '/console' || path.startsWith('/console/');
}

/** Every file of the built console by its URL path below /console/ (`index.html`, `assets/index-3f2a.js`). */
function listFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(directory, path).split(sep).join('/'), path);
    }
  };
  try {
    walk(directory);
  } catch {
    // Not built: every console path answers that it is missing (below).
  }
  return files;
}

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('cross-origin-opener-policy', 'same-origin');
}

/**
 * The web console (docs/console.md) under /console/ on the admin side: public files (the page holds no
 * secret; every action goes through /api/v1 with the user's bearer token). Only files found in the build
 * at startup are served, so no request path reaches the file system. Vite's hashed assets are cached for
 * a year; index.html is revalidated on every load so a new build is picked up at once.
 */
export const consoleRoutes: FastifyPluginCallback<ConsoleRouteOptions> = (app: FastifyInstance, { directory }, done) => {
  const files = listFiles(directory);
  const send = (reply: FastifyReply, file: string) => {
    const path = files.get(file);
    if (path === undefined) {
      const missing = files.size === 0 ? 'the web console is not built; run npm run build:console' : 'no such console file';
      return secured(reply).code(404).header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send(missing);
    }
    const cache = file.startsWith('assets/') ? IMMUTABLE : 'no-cache';
    return secured(reply)
      .header('cache-control', cache)
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .send(readFileSync(path));
  };
  app.get('/console', { config: publicRoute() }, (_request, reply) => secured(reply).redirect('/console/', 301));
  app.get('/console/', { config: publicRoute() }, (_request, reply) => send(reply, 'index.html'));
  app.get('/console/*', { config: publicRoute() }, (request, reply) => {
    const params = request.params as { '*'?: string };
    return send(reply, params['*'] ?? '');
  });
  done();
};

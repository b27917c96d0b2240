/**
 * The front end: the files of `web/`, read once at start and served from memory. Only those files
 * exist; any other path gets index.html's 404, so nothing else on disk is reachable.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PACKAGE_ROOT } from '../package-root';

/** Largest front-end file loaded; the dashboard's own files are a few tens of kilobytes. */
export const MAX_STATIC_FILE = 2 * 1024 * 1024;
/** Most files loaded from web/. */
export const MAX_STATIC_FILES = 200;

export const WEB_ROOT = join(PACKAGE_ROOT, 'web') + sep;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

function collect(dir: string, root: string, out: Map<string, { body: Buffer; type: string }>): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const full = join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) collect(full, root, out);
    else if (st.isFile() && st.size <= MAX_STATIC_FILE && TYPES[extname(name)] && out.size < MAX_STATIC_FILES) {
      out.set(`/${relative(root, full).split(sep).join('/')}`, { body: readFileSync(full), type: TYPES[extname(name)]! });
    }
  }
}

export function registerStatic(app: FastifyInstance, root = WEB_ROOT): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  collect(root, root, files);
  const index = files.get('/index.html');
  for (const [path, f] of files) {
    app.get(path, { schema: { hide: true } as Record<string, unknown> }, async (_req, reply) =>
      reply.header('content-type', f.type).header('cache-control', 'no-cache').send(f.body),
    );
  }
  if (index) {
    app.get('/', { schema: { hide: true } as Record<string, unknown> }, async (_req, reply) =>
      reply.header('content-type', index.type).header('cache-control', 'no-cache').send(index.body),
    );
  }
}

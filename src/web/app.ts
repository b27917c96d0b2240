/**
 * The dashboard's fastify application: read-only database, security hooks, the JSON API from the
 * route table, the OpenAPI document and the static front end. A factory with no listen(), so tests
 * drive it through inject().
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { openStoreReadOnly } from '../store/store';
import type { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { Aggregates } from './aggregates';
import { EventHub } from './events';
import { BadRequest } from './flow-queries';
import { buildOpenApi } from './openapi';
import { apiRoutes } from './routes';
import { errorResponse, openapiResponse } from './schemas';
import { registerSecurity } from './security';
import { StatementCache } from './statements';
import { registerStatic, WEB_ROOT } from './static-files';

export interface AppOptions {
  dbFile: string;
  /** When set, every request must carry it (bearer header or cookie). */
  token?: string;
  logger?: FastifyServerOptions['logger'];
  /** Front-end directory (tests may point elsewhere). */
  webRoot?: string;
  /**
   * Decrypt TLS in the conversations the dashboard shows, with these secrets and those the captures
   * carry. Absent: conversations are shown as captured (opt-in: the plaintext holds credentials).
   */
  decryption?: KeyLog | null;
}

export const API_VERSION = '1';

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's own (read-only) database connection. */
    store: import('../store/store').Db;
  }
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const db = openStoreReadOnly(opts.dbFile);
  // Belt and braces: the connection is read-only, and this pragma refuses writes even on a bug.
  db.pragma('query_only = ON');
  const stmts = new StatementCache(db);
  const agg = new Aggregates(db, stmts);
  const events = new EventHub(agg);

  const app = Fastify({
    logger: opts.logger ?? false,
    // Query strings and paths are short here; anything longer is not a dashboard request.
    routerOptions: { maxParamLength: 200 },
    bodyLimit: 1024,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });
  app.decorate('store', db);
  app.addHook('preClose', async () => events.closeAll());
  app.addHook('onClose', async () => db.close());
  registerSecurity(app, opts.token);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof BadRequest || err.validation) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message });
    }
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) app.log.error(err);
    return reply.code(code).send({ statusCode: code, error: code === 500 ? 'Internal Server Error' : 'Error', message: code === 500 ? 'internal error' : err.message });
  });

  const routes = apiRoutes({ stmts, agg, openEvents: (req, reply) => events.open(req, reply), dbFile: opts.dbFile, decryption: opts.decryption ?? null });
  for (const r of routes) {
    const responses: Record<string, unknown> = { 200: r.response, '4xx': errorResponse };
    app.get(r.url, {
      schema: { ...(r.querystring ? { querystring: r.querystring } : {}), ...(r.params ? { params: r.params } : {}), response: r.content ? { '4xx': errorResponse } : responses },
      handler: async (req, reply) => r.handler(req, reply),
    });
  }
  const openapi = buildOpenApi(routes, API_VERSION);
  app.get('/api/openapi.json', { schema: { response: { 200: openapiResponse } } }, async () => openapi);
  registerStatic(app, opts.webRoot ?? WEB_ROOT);
  return app;
}

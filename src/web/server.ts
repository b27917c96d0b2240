/** Starts the dashboard on an address; the one place that decides whether a token is required. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app';
import type { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { isLoopbackHost } from './security';

import { DEFAULT_HOST, DEFAULT_PORT } from './listen-defaults';

export { DEFAULT_HOST, DEFAULT_PORT };

export interface ServerOptions {
  dbFile: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  logger?: boolean;
  /** See AppOptions.decryption. */
  decryption?: KeyLog | null;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export class ServeRefused extends Error {}

/** Refuses to listen beyond loopback without a token: the data describes the cluster's weak spots. */
export function checkBind(host: string, token: string | undefined): void {
  const h = host.startsWith('[') ? host : host.includes(':') ? `[${host}]` : host;
  if (!isLoopbackHost(h) && !token) {
    throw new ServeRefused(`refusing to listen on ${host} without --token: anyone who can reach it could read the capture analysis. Use --token <secret>, or keep the default --host ${DEFAULT_HOST}`);
  }
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  checkBind(host, opts.token);
  const app = await buildApp({ dbFile: opts.dbFile, token: opts.token, logger: opts.logger ?? false, decryption: opts.decryption ?? null });
  await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? DEFAULT_PORT);
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${shown}:${port}/`;
  return { url, app, close: () => app.close() };
}

/**
 * Server-sent events for live refresh: one timer per server (not per client) checks the database's
 * data version and pushes a `version` event to every open stream when it moved.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Aggregates } from './aggregates';

/** Open event streams at once; more get 503 and fall back to polling /api/version. */
export const MAX_EVENT_CLIENTS = 64;
/** How often the data version is checked while someone listens. */
export const EVENTS_POLL_MS = 1_000;
/** Comment line sent when nothing changed, so proxies keep the stream open. */
const KEEPALIVE_EVERY = 15;

export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private lastVersion = -1;
  private ticks = 0;

  constructor(private readonly agg: Aggregates) {}

  open(req: FastifyRequest, reply: FastifyReply): void {
    if (this.clients.size >= MAX_EVENT_CLIENTS) {
      void reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'too many event streams; poll /api/version' });
      return;
    }
    // Headers set by hooks (CSP and friends) are carried over to the raw response.
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === 'string') headers[k] = v;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\n\n`);
    this.send(res, this.agg.version());
    this.clients.add(res);
    req.raw.on('close', () => this.drop(res));
    if (!this.timer) {
      this.lastVersion = this.agg.dataVersion();
      this.timer = setInterval(() => this.tick(), EVENTS_POLL_MS);
      this.timer.unref();
    }
  }

  private send(res: ServerResponse, body: unknown): void {
    res.write(`event: version\ndata: ${JSON.stringify(body)}\n\n`);
  }

  private tick(): void {
    const v = this.agg.dataVersion();
    if (v !== this.lastVersion) {
      this.lastVersion = v;
      const body = this.agg.version();
      for (const c of this.clients) this.send(c, body);
    } else if (++this.ticks % KEEPALIVE_EVERY === 0) {
      for (const c of this.clients) c.write(': keepalive\n\n');
    }
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  closeAll(): void {
    for (const c of [...this.clients]) {
      c.end();
      this.drop(c);
    }
  }
}

/**
 * Response headers that keep wire strings inert in the browser, and the access rule: without a
 * token only loopback Host names are served (a DNS-rebinding page cannot reach us); with a token
 * every request must carry it, as `Authorization: Bearer …` or the cookie set by `/?token=…`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const TOKEN_COOKIE = 'planewatch_token';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon >= 0 ? hostHeader.slice(0, colon) : hostHeader;
}

/** Compares digests so neither the length nor the content of the token leaks through timing. */
function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

function deny(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).header('www-authenticate', 'Bearer realm="planewatch"').send({ statusCode, error: statusCode === 401 ? 'Unauthorized' : 'Forbidden', message });
}

export function registerSecurity(app: FastifyInstance, token: string | undefined): void {
  // Set on request, not on send: hijacked replies (the event stream) never pass through onSend.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!token) {
      if (!isLoopbackHost(hostnameOf(req.headers.host))) return deny(reply, 403, 'this dashboard answers only to loopback host names; start it with --token to serve other hosts');
      return;
    }
    const auth = req.headers.authorization;
    if (auth && auth.startsWith('Bearer ') && sameToken(auth.slice(7).trim(), token)) return;
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== null && sameToken(cookie, token)) return;
    // A first visit with ?token=… trades it for a cookie, then drops it from the address bar and history.
    const url = new URL(req.url, 'http://x');
    const given = url.searchParams.get('token');
    if (req.method === 'GET' && given !== null && !url.pathname.startsWith('/api/') && sameToken(given, token)) {
      url.searchParams.delete('token');
      const rest = url.searchParams.toString();
      return reply
        .code(302)
        .header('set-cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
        .header('location', `${url.pathname}${rest ? `?${rest}` : ''}`)
        .send();
    }
    return deny(reply, 401, 'a token is required: send Authorization: Bearer <token>, or open /?token=<token> once');
  });
}

/**
 * The API's route table. Each entry carries its schemas; fastify validates and serialises with
 * them and the OpenAPI document is generated from the same table, so the two cannot drift apart.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Aggregates } from './aggregates';
import type { StatementCache } from './statements';
import * as S from './schemas';
import { listFlows, type FlowListQuery } from './flow-queries';
import { listRequests, type RequestQuery } from './request-queries';
import { flowDetail } from './flow-detail';
import { sendFlowPackets } from './flow-packets';
import { sendFlowStream, type StreamQuery } from './flow-stream';
import { sendZeekLog } from './zeek-download';
import type { ZeekFormat } from '../report/zeek/zeek-log';
import type { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import {
  certificateDetail,
  endpointDetail,
  listCaptures,
  listCertificates,
  listCredentials,
  listEndpoints,
  listFindings,
  type CertificateQuery,
  type CredentialQuery,
  type EndpointQuery,
  type FindingQuery,
} from './catalog-queries';

type Schema = Record<string, unknown>;

export interface RouteSpec {
  url: string;
  summary: string;
  querystring?: Schema;
  params?: Schema;
  response: Schema;
  /**
   * A non-JSON response (server-sent events, a capture file): not serialised by fastify, and
   * documented in OpenAPI with this content (media type → schema) instead of `response`.
   */
  content?: Record<string, Schema>;
  handler: (req: FastifyRequest, reply: FastifyReply) => unknown;
}

export interface RouteContext {
  stmts: StatementCache;
  agg: Aggregates;
  openEvents: (req: FastifyRequest, reply: FastifyReply) => void;
  /** The database file (a capture moved along with it is looked for beside it). */
  dbFile: string;
  /** Secrets to decrypt conversations with, or null: the dashboard does not decrypt. */
  decryption: KeyLog | null;
}

function notFound(reply: FastifyReply, what: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `${what} not found` });
}

export function apiRoutes(ctx: RouteContext): RouteSpec[] {
  const { stmts, agg } = ctx;
  const roleOf = (ip: string) => agg.roleOf(ip);
  return [
    { url: '/api/captures', summary: 'Captures in the database, with status and anomaly counts', response: S.capturesResponse, handler: () => ({ items: listCaptures(stmts) }) },
    { url: '/api/summary', summary: 'Counts, time range, findings by severity and rule, path summary', response: S.summaryResponse, handler: () => agg.summary() },
    { url: '/api/paths', summary: 'Connections, bytes and worst finding per communication path', response: S.pathsResponse, handler: () => ({ items: agg.paths() }) },
    {
      url: '/api/flows',
      summary: 'Flows, filtered, sorted and paged with a keyset cursor',
      querystring: S.flowsQuery,
      response: S.flowsResponse,
      handler: (req) => listFlows(stmts, req.query as FlowListQuery, roleOf),
    },
    {
      url: '/api/flows/:id',
      summary: 'One flow: tuple, timing, classification, TLS and certificate chains, HTTP, SSH, findings',
      params: S.idParams,
      response: S.flowDetailResponse,
      handler: (req, reply) => flowDetail(stmts, (req.params as { id: number }).id, ctx.dbFile) ?? notFound(reply, 'flow'),
    },
    {
      url: '/api/flows/:id/packets',
      summary: "The flow's packets as a pcapng file, read back from its capture (404 when the capture is no longer readable); with the connection's TLS secrets from its capture when the dashboard decrypts",
      params: S.idParams,
      response: S.binaryResponse,
      content: { 'application/x-pcapng': S.binaryResponse },
      // The secrets would decrypt what the dashboard shows only when started with --decrypt: the same opt-in.
      handler: (req, reply) => sendFlowPackets(stmts, ctx.dbFile, (req.params as { id: number }).id, reply, ctx.decryption !== null),
    },
    {
      url: '/api/flows/:id/stream',
      summary: "A TCP flow's conversation read back from its capture (Follow Stream): decrypted TLS when the dashboard decrypts",
      params: S.idParams,
      querystring: S.flowStreamQuery,
      response: S.flowStreamResponse,
      handler: (req, reply) => sendFlowStream(stmts, ctx.dbFile, (req.params as { id: number }).id, req.query as StreamQuery, ctx.decryption, reply),
    },
    {
      url: '/api/zeek/:log',
      summary: "One of Zeek's logs (conn, dns, http, ssl, x509, ssh) of the whole database, as `planewatch export` writes it: every connection under its flow id as uid",
      params: S.zeekLogParams,
      querystring: S.zeekLogQuery,
      response: S.binaryResponse,
      content: { 'text/plain': S.binaryResponse, 'application/x-ndjson': S.binaryResponse },
      handler: (req, reply) => sendZeekLog(ctx.dbFile, (req.params as { log: string }).log, (req.query as { format: ZeekFormat }).format, reply),
    },
    {
      url: '/api/findings',
      summary: 'Findings, most severe first',
      querystring: S.findingsQuery,
      response: S.findingsResponse,
      handler: (req) => listFindings(stmts, req.query as FindingQuery),
    },
    {
      url: '/api/endpoints',
      summary: 'Endpoints with their roles and activity',
      querystring: S.endpointsQuery,
      response: S.endpointsResponse,
      handler: (req) => listEndpoints(stmts, agg, req.query as EndpointQuery),
    },
    {
      url: '/api/endpoints/:ip',
      summary: 'One endpoint: roles, certificates it presented or sent, peers',
      params: S.ipParams,
      response: S.endpointDetailResponse,
      handler: (req, reply) => endpointDetail(stmts, agg, (req.params as { ip: string }).ip) ?? notFound(reply, 'endpoint'),
    },
    {
      url: '/api/requests',
      summary: 'Requests read on the connections (plain HTTP, or TLS with a key log), newest first: the Kubernetes operation on which resource, with whose credential, on which path',
      querystring: S.requestsQuery,
      response: S.requestsResponse,
      handler: (req) => listRequests(stmts, req.query as RequestQuery),
    },
    {
      url: '/api/credentials',
      summary: 'Credentials seen in requests (hashes only): whose each claims to be, where it was used, and whether in cleartext',
      querystring: S.credentialsQuery,
      response: S.credentialsResponse,
      handler: (req) => listCredentials(stmts, req.query as CredentialQuery),
    },
    {
      url: '/api/certificates',
      summary: 'Certificates seen in handshakes',
      querystring: S.certificatesQuery,
      response: S.certificatesResponse,
      handler: (req) => listCertificates(stmts, req.query as CertificateQuery),
    },
    {
      url: '/api/certificates/:sha256',
      summary: 'One certificate and the flows it was seen on',
      params: S.shaParams,
      response: S.certificateDetailResponse,
      handler: (req, reply) => certificateDetail(stmts, (req.params as { sha256: string }).sha256) ?? notFound(reply, 'certificate'),
    },
    { url: '/api/topology', summary: 'Hub-and-spoke map: endpoints and role groups as nodes, paths as edges', response: S.topologyResponse, handler: () => agg.topology() },
    {
      url: '/api/timeline',
      summary: 'Connections and findings per time bucket',
      querystring: S.timelineQuery,
      response: S.timelineResponse,
      handler: (req) => agg.timeline((req.query as { buckets: number }).buckets),
    },
    { url: '/api/version', summary: 'Cheap change marker for polling: data version, newest ids, capture status', response: S.versionResponse, handler: () => agg.version() },
    {
      url: '/api/events',
      summary: 'Server-sent events: a `version` event (same body as /api/version) whenever the database changes',
      response: S.versionResponse,
      content: {
        'text/event-stream': { type: 'string', description: 'event: version, data: JSON as in application/json' },
        'application/json': S.versionResponse,
      },
      handler: (req, reply) => ctx.openEvents(req, reply),
    },
  ];
}

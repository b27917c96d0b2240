/**
 * Real etcd clusters and clients on a lab network (etcd-lab.ts), analysed as a user would:
 * `planewatch analyze FILE --keylog … --json`. Every connection must land on the etcd path its
 * endpoints make it, and the findings must be exactly those the set-up deserves.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, PLAIN_PORTS, POD_KEY, recordEtcd, type EtcdRecording } from './etcd-lab';
import { droppedByKernel, hasTool } from './loopback-capture';
import { canBuildLab } from './netns-lab';
import { compareAll, disagreements } from './compare-all';
import type { JsonFlow } from './planewatch-json';
import { hasTshark, tsharkConnections } from './tshark-connections';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');

interface Flow {
  id: string;
  firstTs: number;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  app: string;
  payloadBytes: [number, number];
  path: string;
  confidence: number;
  reasons: string[];
  findings: string[];
  tls: { version: string | null; decrypted: boolean; clientCertRequested: boolean | null; clientCertificates: { subject: string }[]; serverCertificates: { subject: string; issuer: string }[] } | null;
  http: { method: string; path: string; status: number | null; grpcMethod?: string | null }[];
}

interface Doc {
  captures: { anomalies: Record<string, number>; error: unknown }[];
  flows: Flow[];
}

function analyze(rec: EtcdRecording): Promise<Doc> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'analyze', rec.pcap, '--keylog', rec.keylog, '--ca', rec.caFile, '--json', '--quiet'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (stdout.trim().startsWith('{')) resolve(JSON.parse(stdout) as Doc);
        else reject(new Error(`planewatch analyze failed: ${err?.message ?? ''} ${stderr}`));
      });
  });
}

const TLS_MEMBERS = ['cp1', 'cp2', 'cp3'].map((h) => addressOf(h as 'cp1'));
const PLAIN_MEMBERS = ['p1', 'p2'].map((h) => addressOf(h as 'p1'));
const NO_AUTH_MEMBER = addressOf('n1');
const API = addressOf('api');
const carriedBytes = (f: Flow): boolean => f.payloadBytes[0] + f.payloadBytes[1] > 0;
const CLIENT_PORTS = [2379, PLAIN_PORTS.client];
const PEER_PORTS = [2380, PLAIN_PORTS.peer];

const hasEtcdLab = canBuildLab() && ['etcd', 'etcdctl', 'tcpdump', 'openssl', 'curl'].every(hasTool);

describe.skipIf(!hasEtcdLab)('real etcd clusters and clients on a lab network', () => {
  let dir = '';
  let rec: EtcdRecording;
  let doc: Doc;
  /** Connections to etcd's client port, and to its peer port, of either cluster. */
  const clients = (): Flow[] => doc.flows.filter((f) => CLIENT_PORTS.includes(f.server.port));
  const peers = (): Flow[] => doc.flows.filter((f) => PEER_PORTS.includes(f.server.port));
  const plain = (fs: Flow[]): Flow[] => fs.filter((f) => PLAIN_MEMBERS.includes(f.server.ip));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-etcd-'));
    rec = await recordEtcd(dir, { live: true });
    doc = await analyze(rec);
  }, 120_000);

  afterAll(() => {
    if (dir !== '' && !process.env.PLANEWATCH_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  it('recorded the whole scenario: every client succeeded and nothing was dropped', () => {
    for (const [step, r] of Object.entries(rec.runs)) expect(r.code, `${step}: ${r.stderr.slice(0, 400)}`).toBe(0);
    expect(rec.runs.get!.stdout).toContain(POD_KEY);
    expect(droppedByKernel(rec.tcpdumpReport)).toBe(0);
    expect(doc.captures[0]!.error).toBeNull();
    expect(Object.keys(doc.captures[0]!.anomalies).filter((a) => a.startsWith('dissector.'))).toEqual([]);
  });

  it("puts every client connection on apiserver-to-etcd and every member's connection to a peer on etcd-peer, on any port", () => {
    expect(clients().length).toBeGreaterThanOrEqual(10);
    expect(peers().length).toBeGreaterThanOrEqual(6);
    // The cluster without TLS is on ports of its own: it is known by what it says.
    expect(plain(clients()).length).toBeGreaterThanOrEqual(2);
    expect(plain(peers()).length).toBeGreaterThanOrEqual(2);
    for (const f of clients()) {
      expect(f.client.ip, f.id).toBe(API);
      expect(f.path, `${f.id}: ${f.reasons.join('; ')}`).toBe('apiserver-to-etcd');
    }
    for (const f of peers()) {
      const cluster = TLS_MEMBERS.includes(f.server.ip) ? TLS_MEMBERS : PLAIN_MEMBERS;
      expect(cluster, f.id).toContain(f.client.ip);
      expect(f.path, `${f.id}: ${f.reasons.join('; ')}`).toBe('etcd-peer');
    }
    expect(doc.flows.every((f) => CLIENT_PORTS.includes(f.server.port) || PEER_PORTS.includes(f.server.port))).toBe(true);
  });

  it('raises etcd-plaintext on exactly the connections of the cluster without TLS that carried bytes, on both ports', () => {
    const flagged = doc.flows.filter((f) => f.findings.includes('etcd-plaintext')).map((f) => f.id).sort();
    const plain = doc.flows.filter((f) => PLAIN_MEMBERS.includes(f.server.ip) && carriedBytes(f)).map((f) => f.id).sort();
    expect(flagged).toEqual(plain);
    expect(new Set(doc.flows.filter((f) => flagged.includes(f.id)).map((f) => f.server.port))).toEqual(new Set([PLAIN_PORTS.client, PLAIN_PORTS.peer]));
  });

  it('reads the gRPC calls of plaintext clients and the raft traffic of plaintext peers, and knows etcd by them', () => {
    const calls = plain(clients()).flatMap((f) => f.http.map((h) => h.path));
    expect(calls).toContain('/etcdserverpb.KV/Put');
    expect(calls).toContain('/etcdserverpb.KV/Range');
    for (const f of plain(clients()).filter(carriedBytes)) expect(f.reasons.join('\n'), f.id).toMatch(/is an etcd member: serves etcd gRPC etcdserverpb\./);
    expect(plain(peers()).flatMap((f) => f.http.map((h) => h.path))).toEqual(expect.arrayContaining([expect.stringMatching(/^\/raft\/stream\//)]));
    for (const f of plain(peers()).filter((x) => x.http.length > 0)) expect(f.reasons.join('\n'), f.id).toMatch(/etcd's peer API path/);
  });

  it('knows the API server by the etcd client certificate it shows over TLS 1.2, and says so on its TLS 1.3 connections', () => {
    const gateway = clients().find((f) => f.tls?.version === '1.2' && f.tls.clientCertificates.length > 0);
    expect(gateway, 'the TLS 1.2 gateway request').toBeDefined();
    expect(gateway!.tls!.clientCertificates[0]!.subject).toContain('CN=kube-apiserver-etcd-client');
    expect(gateway!.tls!.serverCertificates[0]!.issuer).toBe('CN=etcd-ca');
    const tls13 = clients().filter((f) => f.tls?.version === '1.3' && f.tls.decrypted !== true);
    expect(tls13.length).toBeGreaterThanOrEqual(6);
    for (const f of tls13) {
      expect(f.tls!.clientCertificates, `${f.id}: TLS 1.3 hides certificates`).toEqual([]);
      expect(f.reasons.join('\n'), f.id).toContain(`${API} is an API server: client certificate CN=kube-apiserver-etcd-client`);
    }
  });

  it("decrypts the gateway requests with curl's key log, over TLS 1.2 and TLS 1.3", () => {
    const decrypted = clients().filter((f) => f.tls?.decrypted === true);
    expect(decrypted.map((f) => f.tls!.version).sort()).toEqual(['1.2', '1.3']);
    for (const f of decrypted) expect(f.http, f.id).toEqual([expect.objectContaining({ method: 'POST', path: '/v3/kv/range', status: 200 })]);
    // Decrypted, TLS 1.3 shows the certificates it encrypts.
    expect(decrypted.find((f) => f.tls!.version === '1.3')!.tls!.serverCertificates[0]!.issuer).toBe('CN=etcd-ca');
  });

  it('raises etcd-no-client-auth for the member that asked no certificate over TLS 1.2, and nowhere else', () => {
    const flagged = doc.flows.filter((f) => f.findings.includes('etcd-no-client-auth'));
    expect(flagged.map((f) => [f.server.ip, f.tls?.version, f.tls?.clientCertRequested])).toEqual([[NO_AUTH_MEMBER, '1.2', false]]);
    const asked = clients().filter((f) => TLS_MEMBERS.includes(f.server.ip) && f.tls?.version === '1.2');
    for (const f of asked) expect(f.tls!.clientCertRequested, f.id).toBe(true);
  });

  it('names no protocol for connections that carried no bytes (members dialling peers not yet up)', () => {
    for (const f of doc.flows.filter((x) => !carriedBytes(x))) expect(f.app, f.id).toBe('unknown');
    for (const f of doc.flows.filter((x) => carriedBytes(x) && TLS_MEMBERS.concat(NO_AUTH_MEMBER).includes(x.server.ip))) expect(f.app, f.id).toBe('tls');
  });

  it.skipIf(!hasTshark)('tshark, given the same decode rules and key log, agrees on every TLS, HTTP and gRPC field of every connection', async () => {
    const decodeAs = ['tcp.port==2379,tls', 'tcp.port==2380,tls', `tcp.port==${PLAIN_PORTS.client},http2`, `tcp.port==${PLAIN_PORTS.peer},http`];
    // Raft streams answer 200 and then stream for ever: tshark reports the headers without waiting for the body.
    const conns = await tsharkConnections(rec.pcap, decodeAs, ['-o', `tls.keylog_file:${rec.keylog}`, '-o', 'http.desegment_body:FALSE']);
    const result = compareAll(doc.flows as unknown as JsonFlow[], conns);
    expect(result.matching.pairs.filter((p) => p.conn === null).map((p) => p.where)).toEqual([]);
    expect(result.matching.unmatched).toEqual([]);
    expect(disagreements('etcd', result)).toEqual([]);
    // Both tools really reported something of each kind.
    const reported = (field: string) => result.checks.filter((x) => x.check.field === field && JSON.stringify(x.check.tshark) !== '[]' && x.check.tshark !== null).length;
    for (const field of ['tls.version', 'tls.ja3', 'tls.serverCertificates[].sha256', 'http2[].path', 'http[].path', 'http[].status']) {
      expect(reported(field), field).toBeGreaterThan(0);
    }
  });

  it('planewatch live, watching the same bridge meanwhile, stores the same connections with the same paths and findings', () => {
    expect(rec.live!.code, rec.live!.output).toBe(0);
    const db = new Database(rec.liveDb!, { readonly: true });
    try {
      const rows = db.prepare(`SELECT client_ip, client_port, server_ip, server_port, path, first_ts,
          (SELECT group_concat(rule) FROM (SELECT rule FROM findings WHERE flow_id = flows.id ORDER BY rule)) AS rules
        FROM flows`).all() as { client_ip: string; client_port: number; server_ip: string; server_port: number; path: string; first_ts: number; rules: string | null }[];
      const key = (c: string, cp: number, s: string, sp: number): string => `${c}:${cp} → ${s}:${sp}`;
      const live = new Map(rows.map((r) => [key(r.client_ip, r.client_port, r.server_ip, r.server_port), `${r.path} [${r.rules ?? ''}]`]));
      const fromFile = new Map(doc.flows.map((f) => [key(f.client.ip, f.client.port, f.server.ip, f.server.port), `${f.path} [${[...f.findings].sort().join(',')}]`]));
      // The file recording goes on until its file stops growing: compare what began before live was
      // stopped (Ctrl-C must lose none of it: the packets tcpdump held then are analysed too).
      const before = doc.flows.filter((x) => x.firstTs < rec.live!.stoppedAt - 0.05);
      expect(before.length).toBeGreaterThanOrEqual(20);
      for (const f of before) {
        const k = key(f.client.ip, f.client.port, f.server.ip, f.server.port);
        expect(live.get(k), k).toBe(fromFile.get(k));
      }
      for (const k of live.keys()) expect(fromFile.has(k), k).toBe(true);
      // curl's key log, written while live ran (each secret after the ServerHello it belongs to),
      // decrypted both gateway requests there too.
      const gateway = db.prepare(`SELECT t.version FROM http_requests h JOIN tls_sessions t ON t.flow_id = h.flow_id
        WHERE h.path = '/v3/kv/range' ORDER BY t.version`).pluck().all();
      expect(gateway).toEqual(['1.2', '1.3']);
      // The TLS 1.3 server's encrypted handshake went by before curl logged the keys to it: it was
      // held and opened then, so the member's certificate is known on both.
      const subjects = db.prepare(`SELECT t.version, t.server_subject FROM http_requests h JOIN tls_sessions t ON t.flow_id = h.flow_id
        WHERE h.path = '/v3/kv/range' ORDER BY t.version`).all() as { version: string; server_subject: string | null }[];
      expect(subjects.map((x) => x.server_subject?.length ?? 0).every((n) => n > 0), JSON.stringify(subjects)).toBe(true);
      expect(subjects[1]!.server_subject).toBe(subjects[0]!.server_subject);
    } finally {
      db.close();
    }
  });
});

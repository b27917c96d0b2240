import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';
import { restoreDeferredIndexes } from './deferred-indexes';
import { FingerprintReader, FingerprintWriter, MISSING_FINGERPRINT, type HelloFingerprint } from './tls-fingerprints';
import type { FlowRecord } from '../model/flow-record';
import type { CertificateInfo, TlsInfo } from '../model/records';
import type { AcceptedFinding, Finding, Verdict } from '../model/analysis';
import { severityRank } from '../model/analysis';

/** Flows written per transaction: large enough to amortise the commit, small enough to lose little. */
export const WRITE_BATCH = 2048;
/**
 * Flows queued before they are written: SQLite then runs in short bursts with its code and pages
 * at hand, while a queued flow is still young when written (a whole batch held until its commit
 * outlived the young generation, and every garbage collection copied it). Divides WRITE_BATCH.
 */
export const WRITE_QUEUE = 64;

export type Db = Database.Database;

/**
 * Page size of new databases. A load appends megabytes per commit and writes each page twice (to
 * the WAL, then back into the database): with 16 KiB pages instead of SQLite's 4 KiB it costs a
 * quarter of the page writes, which took about 7 % off the 200 MB capture's analysis.
 */
export const PAGE_SIZE = 16384;

/** Page cache of read-only connections, in KiB (a bound: it fills only as pages are read). */
const READ_CACHE_KIB = 65536;

/** Opens (and migrates) a database for writing. WAL lets the dashboard read while we write. */
export function openStore(file: string): Db {
  const db = new Database(file);
  // Only a database not created yet takes a page size (WAL mode fixes it once there are pages).
  const fresh = db.prepare(`SELECT NOT EXISTS (SELECT 1 FROM sqlite_master)`).pluck().get() === 1;
  if (fresh) db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  markAbandonedCaptures(db);
  // A bulk load that was cut off left its indexes aside; build them, unless a load is still running.
  if (db.prepare(`SELECT NOT EXISTS (SELECT 1 FROM captures WHERE status = 'ingesting')`).pluck().get() === 1) {
    restoreDeferredIndexes(db);
  }
  return db;
}

/**
 * Opens a database read-only (dashboard, `planewatch query`): nothing can be written through it. A
 * database of an older schema is first brought up to date through a short-lived writing connection
 * (the readers' queries name the current schema's columns); one that cannot be written is refused
 * with that said.
 */
export function openStoreReadOnly(file: string): Db {
  upgradeIfOlder(file);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  // Dashboard queries look up scattered rows (flows with a given finding, endpoints' flows): a page
  // cache of 64 MiB rather than SQLite's 2 MiB keeps them in memory once read.
  db.pragma(`cache_size = -${READ_CACHE_KIB}`);
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new Error(`${file}: database schema ${version} is newer than this planewatch understands (${SCHEMA_VERSION})`);
  }
  return db;
}

/** How long a reader's upgrade waits for a writer's transaction to end (a batch commits in far less). */
const UPGRADE_WAIT_MS = 3000;

function upgradeIfOlder(file: string): void {
  const probe = new Database(file, { readonly: true, fileMustExist: true });
  let version: number;
  try {
    version = probe.pragma('user_version', { simple: true }) as number;
  } finally {
    probe.close();
  }
  if (version === 0 || version >= SCHEMA_VERSION) return;
  let db: Db | null = null;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma(`busy_timeout = ${UPGRADE_WAIT_MS}`);
    migrate(db);
  } catch (e) {
    throw new Error(
      `${file}: database schema ${version} is older than this planewatch's (${SCHEMA_VERSION}) and could not be upgraded: ${(e as Error).message}`,
    );
  } finally {
    db?.close();
  }
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`database schema ${version} is newer than this planewatch understands (${SCHEMA_VERSION})`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** A capture left 'ingesting' by a process that no longer exists was cut off: say so. */
function markAbandonedCaptures(db: Db): void {
  const mark = db.prepare(`UPDATE captures SET status = 'incomplete', error = COALESCE(error, 'ingest was interrupted') WHERE id = ?`);
  for (const c of cutOffCaptures(db)) mark.run(c.id);
}

/**
 * Whether the process that recorded itself as writing (a capture being ingested, a live run) is gone:
 * none was recorded, or it is not this one and no longer runs.
 */
export function writerGone(pid: number | null): boolean {
  return pid === null || (pid !== process.pid && !processAlive(pid));
}

/**
 * A capture's status as it stands. One left 'ingesting' by a process that is gone was cut off: the
 * next connection that writes marks it 'incomplete', and a read-only one reads it so meanwhile.
 */
export function currentCaptureStatus(status: string, pid: number | null): string {
  return status === 'ingesting' && writerGone(pid) ? 'incomplete' : status;
}

/** Captures cut off mid-ingest and not classified since (their flows carry no final verdicts). */
export function cutOffCaptures(db: Db): { id: number; file: string }[] {
  const rows = db.prepare(`SELECT id, file, pid FROM captures WHERE status = 'ingesting'`).all() as { id: number; file: string; pid: number | null }[];
  return rows.filter((r) => writerGone(r.pid)).map(({ id, file }) => ({ id, file }));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Evidence as stored in `flow_evidence`: what the HTTP and SSH dissectors found. A connection's TLS
 * evidence is its `tls_sessions` row. Evidence written before schema 9 also has the TLS part, with
 * certificates by SHA-256 and the hello fingerprint by its id in `tls_fingerprints` (before schema 5,
 * the fingerprint's fields inline); it is read as it is.
 */
export interface StoredEvidence {
  tls?:
    | (Omit<TlsInfo, 'serverCertificates' | 'clientCertificates' | keyof HelloFingerprint> &
        Partial<HelloFingerprint> & { fingerprint?: number; serverCertificates: string[]; clientCertificates: string[] })
    | null;
  http: FlowRecord['http'];
  ssh: FlowRecord['ssh'];
  /** DNS transactions (schema 15 on; absent: none). */
  dns?: FlowRecord['dns'];
}

/** Writes flows, certificates and their details in batched transactions. */
export class FlowWriter {
  private queued: FlowRecord[] = [];
  /** The verdict given with each queued flow (null: not classified yet), in the same order. */
  private queuedVerdicts: (Verdict | null)[] = [];
  /** This writer opened the transaction in progress (else it writes in its caller's, if any). */
  private ownsTransaction = false;
  /** Flows written in the writer's own transaction so far. */
  private uncommitted = 0;
  private readonly insertFlow;
  private readonly findings: FindingInserter;
  private readonly insertEvidence;
  private readonly chains: ChainWriter;
  private readonly insertTls;
  private readonly insertHttp;
  private readonly insertSsh;
  private readonly insertDns;
  private readonly fingerprints: FingerprintWriter;
  /**
   * flow key → database id, for flows written by this writer (findings refer to them). Not kept when
   * constructed with `trackIds: false`: one entry per flow would make memory grow with the capture.
   */
  readonly ids = new Map<string, number>();
  written = 0;
  private readonly trackIds: boolean;
  /**
   * Classifies each flow as it is written, a queue at a time, rather than as each flow ends (see the
   * constructor). Null: the verdict comes with `add`, or there is none.
   */
  private readonly classify: ((rec: FlowRecord) => Verdict) | null;

  constructor(
    private readonly db: Db,
    private readonly captureId: number,
    /**
     * `classify`: the writer gives each flow its verdict when it writes the queue, in the order the
     * flows were added (the same verdicts as classifying each one as it ends). Classifying and storing
     * a queue back to back keeps that code and its data in the processor's caches, where flows judged
     * one by one between packets found them evicted by the packet path: 4 % of a 1 GB bulk load.
     */
    opts: { trackIds?: boolean; classify?: (rec: FlowRecord) => Verdict } = {},
  ) {
    this.trackIds = opts.trackIds ?? true;
    this.classify = opts.classify ?? null;
    this.fingerprints = new FingerprintWriter(db);
    this.insertFlow = db.prepare(`INSERT INTO flows (capture_id, flow_key, community_id, transport, ip_version,
      client_ip, client_port, server_ip, server_port, first_ts, last_ts, first_frame, last_frame,
      packets_client, packets_server, bytes_client, bytes_server, payload_client, payload_server,
      missing_client, missing_server, history, state, midstream, end_reason, tunnel, vlan, anomalies,
      app, tls_version, sni, nat_link, nat_repeat, path, path_detail, confidence, reasons, worst_severity, severity_rank, finding_count)
      VALUES (?,?,?,?,?, ?,?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?,?,?)`);
    this.findings = new FindingInserter(db);
    this.insertEvidence = db.prepare(`INSERT INTO flow_evidence (flow_id, evidence) VALUES (?,?)`);
    this.chains = new ChainWriter(db);
    this.insertTls = db.prepare(`INSERT INTO tls_sessions (flow_id, version, client_version, sni, alpn,
      alpn_selected, cipher, ja3, ja3s, ja4, client_cert_requested, client_cert_sent, established, resumed,
      alerts, server_subject, server_issuer, client_subject, app_data_bytes_client, app_data_bytes_server,
      server_chain, client_chain, cipher_id, session_ticket, psk, ech, hello_retry_request, decrypted,
      encrypted_from_frame_client, encrypted_from_frame_server, app_data_records_client, app_data_records_server,
      client_hello_frame, server_hello_frame, certificate_frame, fingerprint)
      VALUES (?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?,?,?, ?,?,?,?, ?,?,?,?)`);
    this.insertHttp = db.prepare(`INSERT INTO http_requests (flow_id, seq, ts, frame, version, method, path,
      host, user_agent, auth, auth_hash, status, reason, content_type, upgrade, stream_protocol,
      x_forwarded_for, x_forwarded_uri, x_forwarded_host, grpc_method, k8s_api, k8s_operation, k8s_target,
      k8s_namespace, k8s_name, auth_subject, auth_identity, impersonate_user, grpc_status, grpc_message,
      request_body_bytes, response_body_bytes, response_content_type)
      VALUES (?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?,?)`);
    this.insertSsh = db.prepare(`INSERT INTO ssh_sessions (flow_id, client_banner, server_banner, hassh, hassh_server) VALUES (?,?,?,?,?)`);
    this.insertDns = db.prepare(`INSERT INTO dns_queries (flow_id, seq, ts, frame, message_id, query, qtype, rcode, answers,
      response_ts, response_frame, truncated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`);
  }

  /**
   * Stores a flow, with its classification and findings when they are known already (a writer made
   * with `classify` judges it itself: give none). It is written within WRITE_QUEUE flows, and
   * committed within WRITE_BATCH flows or by `flush`; inside a transaction of the caller's, the
   * caller commits.
   */
  add(rec: FlowRecord, verdict: Verdict | null = null): void {
    this.queued.push(rec);
    this.queuedVerdicts.push(verdict);
    if (this.queued.length >= WRITE_QUEUE) this.drain();
  }

  /** Writes and commits every flow given so far. */
  flush(): void {
    this.drain();
    this.commit();
  }

  /** Writes the queued flows. A flow that cannot be written rolls back the writer's own transaction. */
  private drain(): void {
    const n = this.queued.length;
    if (n === 0) return;
    const flows = this.queued;
    const verdicts = this.queuedVerdicts;
    this.queued = [];
    this.queuedVerdicts = [];
    const own = this.ownsTransaction || !this.db.inTransaction;
    if (own && !this.ownsTransaction) {
      this.db.exec('BEGIN');
      this.ownsTransaction = true;
    }
    try {
      const classify = this.classify;
      for (let i = 0; i < n; i++) this.writeOne(flows[i]!, classify !== null ? classify(flows[i]!) : verdicts[i]!);
    } catch (e) {
      // The transaction is rolled back (here or by the caller): rows remembered as written may be gone.
      this.forgetWritten();
      if (own) {
        this.ownsTransaction = false;
        this.uncommitted = 0;
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      }
      throw e;
    }
    if (own) {
      this.uncommitted += n;
      if (this.uncommitted >= WRITE_BATCH) this.commit();
    }
  }

  /**
   * Forgets which certificates, chains and fingerprints are in the database: they are looked up
   * again. A caller whose own transaction around `add`/`flush` is rolled back must call it, since
   * rows the writer remembers as written went with it.
   */
  forgetWritten(): void {
    this.chains.forget();
    this.fingerprints.forget();
  }

  private commit(): void {
    if (!this.ownsTransaction) return;
    this.ownsTransaction = false;
    this.uncommitted = 0;
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  private writeOne(rec: FlowRecord, verdict: Verdict | null): void {
    const tls = rec.tls;
    const r = this.insertFlow.run(
      this.captureId, rec.id, rec.communityId, rec.transport, rec.ipVersion,
      rec.client.ip, rec.client.port, rec.server.ip, rec.server.port, rec.firstTs, rec.lastTs, rec.firstFrame, rec.lastFrame,
      rec.packets[0], rec.packets[1], rec.bytes[0], rec.bytes[1], rec.payloadBytes[0], rec.payloadBytes[1],
      rec.missingBytes[0], rec.missingBytes[1], rec.history, rec.state, rec.midstream ? 1 : 0, rec.endReason,
      rec.tunnel ? JSON.stringify(rec.tunnel) : null, rec.vlan, JSON.stringify(rec.anomalies),
      rec.app, tls?.version ?? null, tls?.sni ?? null, rec.natLink ?? null, rec.natRepeat === true ? 1 : 0,
      ...(verdict === null ? UNCLASSIFIED : classificationColumns(verdict)),
    );
    const flowId = Number(r.lastInsertRowid);
    if (verdict !== null) {
      this.findings.insert(flowId, this.captureId, verdict.findings);
      if (verdict.accepted.length > 0) this.findings.insertAccepted(flowId, this.captureId, verdict.accepted);
    }
    // A flow without HTTP, SSH or DNS evidence (TLS alone, other UDP, TCP without payload) has no
    // evidence row: reading it back gives the same empty evidence.
    const dns = rec.dns ?? [];
    if (rec.http.length > 0 || rec.ssh || dns.length > 0) {
      const evidence: StoredEvidence = dns.length > 0 ? { http: rec.http, ssh: rec.ssh, dns } : { http: rec.http, ssh: rec.ssh };
      this.insertEvidence.run(flowId, JSON.stringify(evidence));
    }
    for (let i = 0; i < dns.length; i++) {
      const d = dns[i]!;
      this.insertDns.run(flowId, i, d.ts, d.frame, d.id, d.query, d.qtype, d.rcode, JSON.stringify(d.answers), d.responseTs, d.responseFrame, d.truncated ? 1 : 0);
    }
    if (this.trackIds) this.ids.set(rec.id, flowId);
    this.written++;
    if (tls) {
      const serverChain = this.chains.idOf(tls.serverCertificates);
      const clientChain = this.chains.idOf(tls.clientCertificates);
      this.insertTls.run(
        flowId, tls.version, tls.clientVersion, tls.sni, JSON.stringify(tls.alpn), tls.alpnSelected, tls.cipher,
        tls.ja3, tls.ja3s, tls.ja4, tls.clientCertRequested === null ? null : tls.clientCertRequested ? 1 : 0,
        tls.clientCertificates.length > 0 ? 1 : 0, tls.established ? 1 : 0, tls.resumed ? 1 : 0, JSON.stringify(tls.alerts),
        tls.serverCertificates[0]?.subject ?? null, tls.serverCertificates[0]?.issuer ?? null,
        tls.clientCertificates[0]?.subject ?? null, tls.appDataBytes[0], tls.appDataBytes[1], serverChain, clientChain,
        tls.cipherId, tls.sessionTicket ? 1 : 0, tls.psk ? 1 : 0, tls.ech ? 1 : 0, tls.helloRetryRequest ? 1 : 0,
        tls.decrypted === undefined ? null : tls.decrypted ? 1 : 0, tls.encryptedFromFrame[0], tls.encryptedFromFrame[1],
        tls.appDataRecords[0], tls.appDataRecords[1], tls.clientHelloFrame, tls.serverHelloFrame, tls.certificateFrame,
        this.fingerprints.idOf(tls),
      );
    }
    rec.http.forEach((h, i) => {
      this.insertHttp.run(
        flowId, i, h.ts, h.frame, h.version, h.method, h.path, h.host, h.userAgent, h.auth, h.authHash, h.status,
        h.reason, h.contentType, h.upgrade, h.streamProtocol, h.xForwardedFor, h.xForwardedUri, h.xForwardedHost,
        h.grpcMethod, h.k8s?.api ?? null, h.k8s?.operation ?? null, h.k8s?.target ?? null, h.k8s?.namespace ?? null,
        h.k8s?.name ?? null, h.authIdentity?.subject ?? null, h.authIdentity ? JSON.stringify(h.authIdentity) : null,
        h.impersonateUser ?? null, h.grpcStatus ?? null, h.grpcMessage ?? null,
        h.requestBodyBytes, h.responseBodyBytes, h.responseContentType,
      );
    });
    if (rec.ssh) {
      this.insertSsh.run(flowId, rec.ssh.clientBanner, rec.ssh.serverBanner, rec.ssh.hassh, rec.ssh.hasshServer);
    }
  }

}

/** Chains remembered by the writer; past this many it starts over (the table has them all). */
const MAX_REMEMBERED_CHAINS = 8192;

/**
 * Writes each distinct certificate chain once (`certificate_chains` and its links, its certificates
 * in `certificates`) and hands out ids. A cluster's servers present the same chain on every
 * connection, and its clients theirs.
 */
class ChainWriter {
  private readonly remembered = new Map<string, number>();
  /** Certificates written (or found) by this writer; a CA is in many chains. */
  private readonly knownCerts = new Set<string>();
  private readonly insertCert;
  private readonly insert;
  private readonly lookup;
  private readonly insertLink;

  constructor(db: Db) {
    this.insertCert = db.prepare(`INSERT OR IGNORE INTO certificates (sha256, sha1, subject, issuer, subject_cn,
      issuer_cn, san, serial, not_before, not_after, key_type, key_bits, signature_algorithm, self_signed,
      is_ca, info, der) VALUES (?,?,?,?,?, ?,?,?,?,?,?,?,?,?, ?,?,?)`);
    this.insert = db.prepare(`INSERT INTO certificate_chains (digest, length) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`);
    this.lookup = db.prepare(`SELECT id FROM certificate_chains WHERE digest = ?`).pluck();
    this.insertLink = db.prepare(`INSERT INTO certificate_chain_links (chain_id, position, sha256) VALUES (?,?,?)`);
  }

  /** The id of a presented chain (null when none was seen), written first if new. Inside a transaction. */
  idOf(certs: CertificateInfo[]): number | null {
    if (certs.length === 0) return null;
    let digest = certs[0]!.sha256;
    for (let i = 1; i < certs.length; i++) digest += ',' + certs[i]!.sha256;
    const known = this.remembered.get(digest);
    if (known !== undefined) return known;
    let id = this.lookup.get(digest) as number | undefined;
    if (id === undefined) {
      for (const c of certs) this.writeCert(c);
      id = Number(this.insert.run(digest, certs.length).lastInsertRowid);
      certs.forEach((c, i) => this.insertLink.run(id, i, c.sha256));
    }
    if (this.remembered.size >= MAX_REMEMBERED_CHAINS) this.remembered.clear();
    this.remembered.set(digest, id);
    return id;
  }

  private writeCert(c: CertificateInfo): void {
    if (this.knownCerts.has(c.sha256)) return;
    this.knownCerts.add(c.sha256);
    const { der, ...info } = c;
    this.insertCert.run(
      c.sha256, c.sha1, c.subject, c.issuer, c.subjectCN, c.issuerCN, JSON.stringify(c.san), c.serial, c.notBefore,
      c.notAfter, c.keyType, c.keyBits, c.signatureAlgorithm, c.selfSigned ? 1 : 0, c.isCA ? 1 : 0,
      JSON.stringify(info), der ? Buffer.from(der, 'base64') : null,
    );
  }

  /** Forgets what was written: after a rollback it may be gone. */
  forget(): void {
    this.remembered.clear();
    this.knownCerts.clear();
  }
}

/** Reads every stored certificate back as CertificateInfo, keyed by SHA-256. */
export function loadCertificate(db: Db, sha256: string): CertificateInfo | null {
  const row = db.prepare(`SELECT info, der FROM certificates WHERE sha256 = ?`).get(sha256) as { info: string; der: Buffer | null } | undefined;
  if (!row) return null;
  return { ...(JSON.parse(row.info) as Omit<CertificateInfo, 'der'>), der: row.der ? row.der.toString('base64') : '' };
}

/** A stored flow read back with its evidence, as the classifier and the reports take it. */
export interface StoredFlow extends FlowRecord {
  dbId: number;
  captureId: number;
}

interface FlowRow {
  id: number; capture_id: number; flow_key: string; community_id: string; transport: string; ip_version: number;
  client_ip: string; client_port: number; server_ip: string; server_port: number; first_ts: number; last_ts: number;
  first_frame: number; last_frame: number; packets_client: number; packets_server: number; bytes_client: number;
  bytes_server: number; payload_client: number; payload_server: number; missing_client: number; missing_server: number;
  history: string; state: string; midstream: number; end_reason: string; tunnel: string | null; vlan: number;
  anomalies: string; app: string; evidence: string; nat_link: string | null; nat_repeat: number;
  // the flow's tls_sessions row (all null without one)
  t_flow_id: number | null; t_version: string | null; t_client_version: string | null; t_sni: string | null;
  t_alpn: string | null; t_alpn_selected: string | null; t_cipher: string | null; t_cipher_id: number | null;
  t_session_ticket: number | null; t_psk: number | null; t_ech: number | null; t_hello_retry_request: number | null;
  t_resumed: number | null; t_server_chain: number | null; t_client_chain: number | null;
  t_client_cert_requested: number | null; t_alerts: string | null; t_established: number | null;
  t_encrypted_from_frame_client: number | null; t_encrypted_from_frame_server: number | null;
  t_app_data_records_client: number | null; t_app_data_records_server: number | null;
  t_app_data_bytes_client: number | null; t_app_data_bytes_server: number | null; t_client_hello_frame: number | null;
  t_server_hello_frame: number | null; t_certificate_frame: number | null; t_decrypted: number | null;
  t_fingerprint: number | null;
}

/**
 * The columns rowToFlow reads, in the order a raw row holds them; the SELECT list is built from this
 * one list. Naming them rather than `SELECT *` skips the classification columns: better-sqlite3 spends
 * most of a row's cost converting values.
 */
const FLOW_ROW_KEYS = [
  'id', 'capture_id', 'flow_key', 'community_id', 'transport', 'ip_version', 'client_ip', 'client_port', 'server_ip',
  'server_port', 'first_ts', 'last_ts', 'first_frame', 'last_frame', 'packets_client', 'packets_server', 'bytes_client',
  'bytes_server', 'payload_client', 'payload_server', 'missing_client', 'missing_server', 'history', 'state', 'midstream',
  'end_reason', 'tunnel', 'vlan', 'anomalies', 'app', 'evidence', 'nat_link', 'nat_repeat', 't_flow_id', 't_version', 't_client_version', 't_sni',
  't_alpn', 't_alpn_selected', 't_cipher', 't_cipher_id', 't_session_ticket', 't_psk', 't_ech', 't_hello_retry_request',
  't_resumed', 't_server_chain', 't_client_chain', 't_client_cert_requested', 't_alerts', 't_established',
  't_encrypted_from_frame_client', 't_encrypted_from_frame_server', 't_app_data_records_client',
  't_app_data_records_server', 't_app_data_bytes_client', 't_app_data_bytes_server', 't_client_hello_frame',
  't_server_hello_frame', 't_certificate_frame', 't_decrypted', 't_fingerprint',
] as const satisfies readonly (keyof FlowRow)[];

/** Columns that are not plain names of `flows` in the joined query (`t_x` is `tls_sessions.x`). */
const FLOW_ROW_SQL: Partial<Record<keyof FlowRow, string>> = { id: 'flows.id', evidence: `COALESCE(e.evidence, '{}')` };

const FLOW_ROW_SELECT = FLOW_ROW_KEYS.map((k) =>
  FLOW_ROW_SQL[k] ? `${FLOW_ROW_SQL[k]} AS ${k}` : k.startsWith('t_') ? `t.${k.slice(2)} AS ${k}` : k,
).join(', ');

/**
 * A row read in raw mode (an array in FLOW_ROW_KEYS order) as a FlowRow. Raw rows halve the cost of
 * reading flows back: better-sqlite3 builds a keyed object slowly. The function is generated from
 * FLOW_ROW_KEYS (fixed names, nothing from the data) as one object literal, so every row gets the
 * same shape at once instead of one property added at a time.
 */
const flowRowFromRaw = new Function('a', `return { ${FLOW_ROW_KEYS.map((k, i) => `${k}: a[${i}]`).join(', ')} };`) as (
  a: unknown[],
) => FlowRow;

/** Rows read per page when streaming flows back: pages by id, so writes may happen in between. */
const READ_PAGE = 2000;

/** Turns raw flow rows (FLOW_ROW_KEYS order) into StoredFlows, resolving certificates and fingerprints. */
class StoredFlowDecoder {
  /** A cluster has few distinct certificates and chains and thousands of connections: each is read once. */
  private readonly certCache = new Map<string, CertificateInfo | null>();
  private readonly chainCache = new Map<number, CertificateInfo[]>();
  private readonly chainLinks;
  readonly fingerprints: FingerprintReader;

  constructor(private readonly db: Db) {
    this.fingerprints = new FingerprintReader(db);
    this.chainLinks = db.prepare(`SELECT sha256 FROM certificate_chain_links WHERE chain_id = ? ORDER BY position`).pluck();
  }

  decode(raw: unknown[]): StoredFlow {
    return rowToFlow(flowRowFromRaw(raw), this);
  }

  cert(sha: string): CertificateInfo | null {
    let c = this.certCache.get(sha);
    if (c === undefined) {
      c = loadCertificate(this.db, sha);
      this.certCache.set(sha, c);
    }
    return c;
  }

  /** Certificates by SHA-256, those missing from the table (a damaged database) left out. */
  certs(list: string[]): CertificateInfo[] {
    const out: CertificateInfo[] = [];
    for (const sha of list) {
      const c = this.cert(sha);
      if (c !== null) out.push(c);
    }
    return out;
  }

  /** A chain's certificates in the order presented (none for null); the list is the caller's. */
  chain(id: number | null): CertificateInfo[] {
    if (id === null) return [];
    let c = this.chainCache.get(id);
    if (c === undefined) {
      c = this.certs(this.chainLinks.all(id) as string[]);
      this.chainCache.set(id, c);
    }
    return c.slice();
  }
}

const FLOW_ROW_FROM = `SELECT ${FLOW_ROW_SELECT} FROM flows LEFT JOIN flow_evidence e ON e.flow_id = flows.id
  LEFT JOIN tls_sessions t ON t.flow_id = flows.id`;

/**
 * Streams stored flows (optionally of some captures) with their evidence and certificates, page by
 * page (keyset on id), so no statement stays open while the caller writes.
 */
/**
 * Every stored flow in id order, a page at a time: each page is read when asked for, so rows written
 * or deleted between two pages are seen as they are then (those written behind the current page are
 * not, those ahead of it are).
 */
export class StoredFlowPages {
  private readonly decoder: StoredFlowDecoder;
  private readonly page;
  private after = 0;

  constructor(db: Db, pageSize = READ_PAGE) {
    this.decoder = new StoredFlowDecoder(db);
    this.page = db.prepare(`${FLOW_ROW_FROM} WHERE flows.id > ? ORDER BY flows.id LIMIT ${pageSize}`).raw(true);
  }

  /** The next page; empty at the end. */
  next(): StoredFlow[] {
    const rows = this.page.all(this.after) as unknown[][];
    if (rows.length > 0) this.after = rows[rows.length - 1]![0] as number;
    return rows.map((raw) => this.decoder.decode(raw));
  }
}

export function* iterateStoredFlows(db: Db, captureIds?: number[]): Generator<StoredFlow> {
  const decoder = new StoredFlowDecoder(db);
  const inCaptures = captureIds && captureIds.length > 0 ? `AND capture_id IN (${captureIds.map(() => '?').join(',')})` : '';
  const page = db.prepare(`${FLOW_ROW_FROM} WHERE flows.id > ? ${inCaptures} ORDER BY flows.id LIMIT ${READ_PAGE}`).raw(true);
  let after = 0;
  for (;;) {
    const rows = page.all(after, ...(captureIds ?? [])) as unknown[][];
    if (rows.length === 0) return;
    for (const raw of rows) yield decoder.decode(raw);
    after = rows[rows.length - 1]![0] as number;
  }
}

/** Flow ids looked up per statement by storedFlowsById. */
const IDS_PER_LOOKUP = 500;

/** The stored flows with these ids (those that exist), in ascending id order. */
export function storedFlowsById(db: Db, ids: readonly number[]): StoredFlow[] {
  const decoder = new StoredFlowDecoder(db);
  const sorted = [...ids].sort((a, b) => a - b);
  const out: StoredFlow[] = [];
  for (let i = 0; i < sorted.length; i += IDS_PER_LOOKUP) {
    const chunk = sorted.slice(i, i + IDS_PER_LOOKUP);
    const rows = db
      .prepare(`${FLOW_ROW_FROM} WHERE flows.id IN (${chunk.map(() => '?').join(',')}) ORDER BY flows.id`)
      .raw(true)
      .all(...chunk) as unknown[][];
    for (const raw of rows) out.push(decoder.decode(raw));
  }
  return out;
}

function rowToFlow(row: FlowRow, decoder: StoredFlowDecoder): StoredFlow {
  const ev = JSON.parse(row.evidence) as StoredEvidence;
  // Evidence written before schema 9 has the TLS part (null without TLS); later, the session row is it.
  const tls =
    ev.tls !== undefined ? (ev.tls === null ? null : storedTls(ev.tls, decoder)) : row.t_flow_id === null ? null : sessionTls(row, decoder);
  return {
    dbId: row.id,
    captureId: row.capture_id,
    captureIndex: row.capture_id,
    id: row.flow_key,
    communityId: row.community_id,
    transport: row.transport as 'tcp' | 'udp',
    ipVersion: row.ip_version as 4 | 6,
    client: { ip: row.client_ip, port: row.client_port },
    server: { ip: row.server_ip, port: row.server_port },
    firstTs: row.first_ts,
    lastTs: row.last_ts,
    firstFrame: row.first_frame,
    lastFrame: row.last_frame,
    packets: [row.packets_client, row.packets_server],
    bytes: [row.bytes_client, row.bytes_server],
    payloadBytes: [row.payload_client, row.payload_server],
    missingBytes: [row.missing_client, row.missing_server],
    history: row.history,
    state: row.state,
    midstream: row.midstream === 1,
    endReason: row.end_reason as FlowRecord['endReason'],
    tunnel: row.tunnel ? JSON.parse(row.tunnel) : null,
    vlan: row.vlan,
    anomalies: JSON.parse(row.anomalies),
    app: row.app as FlowRecord['app'],
    tls,
    http: ev.http ?? [],
    ssh: ev.ssh ?? null,
    dns: ev.dns ?? [],
    natLink: row.nat_link,
    natRepeat: row.nat_repeat === 1,
  };
}

/** TLS evidence as read back: the fingerprint's fields put back in place of its id, certificates resolved. */
function storedTls(stored: NonNullable<StoredEvidence['tls']>, decoder: StoredFlowDecoder): TlsInfo {
  // Evidence without an id (written before fingerprints had their table) carries the fields itself.
  const { fingerprint: id, ...rest } = stored;
  const fp = id === undefined ? null : decoder.fingerprints.get(id);
  return {
    ...fp,
    ...(rest as Omit<typeof rest, keyof HelloFingerprint> & HelloFingerprint),
    serverCertificates: decoder.certs(stored.serverCertificates),
    clientCertificates: decoder.certs(stored.clientCertificates),
  };
}

/**
 * TLS evidence from the flow's `tls_sessions` row. One literal of every TlsInfo field: a field added
 * to TlsInfo does not compile here until it has a column (and FlowWriter writes it).
 */
function sessionTls(r: FlowRow, decoder: StoredFlowDecoder): TlsInfo {
  const fp = r.t_fingerprint === null ? MISSING_FINGERPRINT : decoder.fingerprints.get(r.t_fingerprint);
  return {
    version: r.t_version as TlsInfo['version'],
    clientVersion: r.t_client_version as TlsInfo['clientVersion'],
    sni: r.t_sni,
    alpn: r.t_alpn === null ? [] : (JSON.parse(r.t_alpn) as string[]),
    alpnSelected: r.t_alpn_selected,
    cipher: r.t_cipher,
    cipherId: r.t_cipher_id,
    clientCiphers: fp.clientCiphers,
    clientExtensions: fp.clientExtensions,
    serverExtensions: fp.serverExtensions,
    supportedGroups: fp.supportedGroups,
    signatureAlgorithms: fp.signatureAlgorithms,
    supportedVersions: fp.supportedVersions,
    ecPointFormats: fp.ecPointFormats,
    sessionTicket: r.t_session_ticket === 1,
    psk: r.t_psk === 1,
    ech: r.t_ech === 1,
    helloRetryRequest: r.t_hello_retry_request === 1,
    resumed: r.t_resumed === 1,
    ja3: fp.ja3,
    ja3Full: fp.ja3Full,
    ja3s: fp.ja3s,
    ja3sFull: fp.ja3sFull,
    ja4: fp.ja4,
    serverCertificates: decoder.chain(r.t_server_chain),
    clientCertificates: decoder.chain(r.t_client_chain),
    clientCertRequested: r.t_client_cert_requested === null ? null : r.t_client_cert_requested === 1,
    alerts: r.t_alerts === null ? [] : (JSON.parse(r.t_alerts) as TlsInfo['alerts']),
    established: r.t_established === 1,
    encryptedFromFrame: [r.t_encrypted_from_frame_client ?? 0, r.t_encrypted_from_frame_server ?? 0],
    appDataRecords: [r.t_app_data_records_client ?? 0, r.t_app_data_records_server ?? 0],
    appDataBytes: [r.t_app_data_bytes_client ?? 0, r.t_app_data_bytes_server ?? 0],
    clientHelloFrame: r.t_client_hello_frame ?? 0,
    serverHelloFrame: r.t_server_hello_frame ?? 0,
    certificateFrame: r.t_certificate_frame ?? 0,
    decrypted: r.t_decrypted === null ? undefined : r.t_decrypted === 1,
  };
}

/**
 * The classification columns of `flows` (path, path_detail, confidence, reasons, worst_severity,
 * severity_rank, finding_count) for a verdict.
 */
export function classificationColumns({ classification: c, findings }: Verdict): unknown[] {
  let worst: Finding['severity'] | null = null;
  for (const f of findings) if (worst === null || severityRank(f.severity) > severityRank(worst)) worst = f.severity;
  return [c.path, JSON.stringify(c.pathDetail), c.confidence, JSON.stringify(c.reasons), worst, severityRank(worst), findings.length];
}

/** The same columns for a flow not classified yet: the schema's defaults. */
const UNCLASSIFIED: readonly unknown[] = Object.freeze(['other', '{}', 0, '[]', null, 0, 0]);

/** Inserts a flow's findings: the open ones, and those accepted as risks. */
export class FindingInserter {
  private readonly stmt;
  private readonly acceptedStmt;

  constructor(db: Db) {
    this.stmt = db.prepare(`INSERT INTO findings (rule, severity, severity_rank, flow_id, capture_id, title,
      evidence, recommendation, reference, cis, ts, frame) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`);
    this.acceptedStmt = db.prepare(`INSERT INTO accepted_findings (rule, severity, severity_rank, flow_id, capture_id, title,
      evidence, recommendation, reference, cis, ts, frame, reason, until, accepted_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`);
  }

  insert(flowId: number, captureId: number, findings: Finding[]): void {
    for (const f of findings) {
      this.stmt.run(f.rule, f.severity, severityRank(f.severity), flowId, captureId, f.title, f.evidence,
        f.recommendation, f.reference, f.cis, f.ts, f.frame);
    }
  }

  insertAccepted(flowId: number, captureId: number, findings: AcceptedFinding[]): void {
    for (const f of findings) {
      const a = f.acceptance;
      this.acceptedStmt.run(f.rule, f.severity, severityRank(f.severity), flowId, captureId, f.title, f.evidence,
        f.recommendation, f.reference, f.cis, f.ts, f.frame, a.reason, a.until, a.source);
    }
  }
}

import { existsSync } from 'node:fs';
import { readConversation, type Conversation } from './conversation';
import { loadKeyLogFiles } from '../../dissectors/tls/decrypt/key-log';
import { join, resolve } from 'node:path';
import { FdSink } from '../export/byte-sink';
import { flowPacketsProblem, locateCapture } from '../export/capture-location';
import { packetsFileName, STORED_FLOW_SELECTOR_SQL, writeFlowPackets, type StoredFlowSelector } from '../export/flow-packets';
import { captureFileWriter } from '../export/frame-writers';
import { openStoreReadOnly, type Db } from '../store/store';
import { natRepeatedFindings } from '../store/nat-repeats';
import { mayRecompute } from '../store/refresh-spacing';
import { endpointText } from '../decode/address';
import { readLiveStatus } from '../live/live-status';
import { SEVERITIES, severityRank, type Severity } from '../model/analysis';
import { listRequests, requestObject, requestSender, type RequestItem } from '../web/request-queries';
import { StatementCache } from '../web/statements';
import { tunnelText } from '../report/tunnel-text';

/** Rows fetched per list at most: the screen shows a window, the count says how many there are. */
export const MAX_FLOW_ROWS = 500;
export const MAX_FINDING_ROWS = 1000;
export const MAX_ENDPOINT_ROWS = 1000;
/** Requests listed in the Requests tab, newest first. */
export const MAX_REQUEST_ROWS = 500;
/** HTTP requests shown in a flow's detail. */
export const MAX_DETAIL_REQUESTS = 20;
/** Longest filter text kept. */
export const MAX_FILTER_LENGTH = 100;

export const SORT_KEYS = ['time', 'bytes', 'severity', 'path', 'server'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface FlowQuery {
  filter: string;
  sort: SortKey;
  desc: boolean;
}

export interface HeaderInfo {
  source: string;
  running: boolean;
  packets: number;
  packetsPerSec: number;
  flows: number;
  kernelDrops: number;
  ourDrops: number;
  elapsedS: number;
  message: string | null;
}

export interface PathRow {
  path: string;
  flows: number;
  bytes: number;
  findings: number;
  worstRank: number;
  clients: number;
  servers: number;
}

export interface FindingRow {
  id: number;
  rule: string;
  severity: Severity;
  title: string;
  evidence: string;
  recommendation: string;
  reference: string;
  flowId: number | null;
  path: string | null;
  client: string;
  server: string;
  ts: number | null;
}

export interface FlowRow {
  id: number;
  client: string;
  server: string;
  app: string;
  path: string;
  sni: string | null;
  bytes: number;
  packets: number;
  firstTs: number;
  lastTs: number;
  severity: Severity | null;
  findings: number;
  endReason: string;
}

export interface EndpointRow {
  ip: string;
  role: string;
  name: string | null;
  flows: number;
  bytes: number;
  findings: number;
}

/** A request read on a connection, newest first (the Requests tab). */
export interface RequestRow {
  id: number;
  flowId: number;
  ts: number | null;
  operation: string | null;
  /** `pods default/web-0`: the resource and the object, as kubectl names them. */
  object: string;
  /** Method and target (`POST /exec/default/web-0/web?…`). */
  request: string;
  status: number | null;
  /** The credential's subject (else its kind) and whom it impersonated, or null. */
  who: string | null;
  client: string;
  server: string;
  cleartext: boolean;
}

export interface TuiSnapshot {
  header: HeaderInfo;
  paths: PathRow[];
  severityCounts: Record<Severity, number>;
  /** Of those, findings a NAT'd connection's second view repeats from its first (see store/nat-repeats). */
  natRepeatedFindings: number;
  /** Findings accepted as risks (analyze --accept), not among `findings` or the counts. */
  acceptedFindings: number;
  findings: FindingRow[];
  flows: FlowRow[];
  /** Flows matching the filter (may exceed the rows fetched). */
  flowTotal: number;
  endpoints: EndpointRow[];
  /** The newest requests (MAX_REQUEST_ROWS at most). */
  requests: RequestRow[];
}

export interface FlowDetail {
  flow: FlowRow;
  transport: string;
  /** The tunnel it came in, in words (`VXLAN a:p → b:4789, VNI 42; the other way …`); null for none. */
  tunnel: string | null;
  /** Its 802.1Q VLAN id, 0 for none. */
  vlan: number;
  communityId: string;
  state: string;
  history: string;
  confidence: number;
  reasons: string[];
  pathDetail: Record<string, string>;
  tls: { version: string | null; sni: string | null; cipher: string | null; alpn: string | null; ja3: string | null; ja4: string | null;
    serverSubject: string | null; serverIssuer: string | null; clientSubject: string | null; clientCertRequested: number | null } | null;
  http: { method: string | null; path: string | null; host: string | null; userAgent: string | null; auth: string | null; authSubject: string | null; impersonateUser: string | null; status: number | null }[];
  ssh: { clientBanner: string | null; serverBanner: string | null } | null;
  findings: { rule: string; severity: Severity; title: string }[];
  /** DNS questions with their response and answers (`A 10.96.0.1`, …). */
  dns: { query: string | null; qtype: string | null; rcode: string | null; answers: string }[];
  /** Findings accepted as risks, with why. */
  acceptedFindings: { rule: string; severity: Severity; title: string; reason: string }[];
  /** The same connection on the other side of a NAT, as "client → server". */
  natPeers: string[];
  /** Flows with the same Community ID: the connection in another capture, or its ports used again. */
  sameCommunityId: string[];
}

/** Where the TUI gets its data: the database, or a fake in tests. */
export interface TuiDataSource {
  load(q: FlowQuery): TuiSnapshot;
  flowDetail(id: number): FlowDetail | null;
  /**
   * Writes a flow's packets, read again from its capture, to a pcapng file in the working directory;
   * resolves with a line for the user saying where (or why not). Absent: the key does nothing.
   */
  writePackets?(id: number): Promise<string>;
  /**
   * A flow's conversation read again from its capture (Follow Stream), or a line saying why it
   * cannot be. Absent: the key does nothing.
   */
  conversation?(id: number): Promise<Conversation | string>;
  close(): void;
}

export function emptySnapshot(source = ''): TuiSnapshot {
  return {
    header: { source, running: false, packets: 0, packetsPerSec: 0, flows: 0, kernelDrops: 0, ourDrops: 0, elapsedS: 0, message: null },
    paths: [],
    severityCounts: { critical: 0, high: 0, medium: 0, low: 0, info: 0 },
    natRepeatedFindings: 0,
    acceptedFindings: 0,
    findings: [],
    flows: [],
    flowTotal: 0,
    endpoints: [],
    requests: [],
  };
}

/**
 * The Overview's paths. SQLite walks the covering index flows_overview, in path order, which holds
 * every column read here and whose rows are a fraction of the table's (the benchmark capture's
 * 58,854 flows: 0.15 s to 0.02 s; a million flows from as many addresses: 1.1 s to 0.45 s); while
 * a bulk load has set the indexes aside, the table. A connection seen on both sides of a NAT counts
 * once (nat_repeat marks its second flow).
 */
export const PATHS_SQL = `SELECT path, SUM(1 - nat_repeat) AS flows,
    COALESCE(SUM(CASE WHEN nat_repeat = 0 THEN bytes_client + bytes_server ELSE 0 END), 0) AS bytes,
    SUM(finding_count) AS findings, MAX(severity_rank) AS worstRank, COUNT(DISTINCT client_ip) AS clients,
    COUNT(DISTINCT server_ip) AS servers FROM flows GROUP BY path ORDER BY flows DESC, path`;

const ORDER: Record<SortKey, string> = {
  time: 'first_ts',
  bytes: '(bytes_client + bytes_server)',
  severity: 'severity_rank',
  path: 'path',
  server: 'server_ip',
};

interface RawFlow {
  id: number; client_ip: string; client_port: number; server_ip: string; server_port: number; app: string; path: string;
  sni: string | null; bytes: number; packets: number; first_ts: number; last_ts: number; worst_severity: Severity | null;
  finding_count: number; end_reason: string;
}


function toRequestRow(r: RequestItem): RequestRow {
  return {
    id: r.id, flowId: r.flowId, ts: r.ts, operation: r.operation,
    object: requestObject(r),
    request: `${r.method ?? r.grpcMethod ?? ''} ${r.target ?? ''}`.trim(),
    status: r.status ?? r.grpcStatus,
    who: requestSender(r, false),
    client: r.clientName ?? r.clientIp,
    server: endpointText(r.serverIp, r.serverPort),
    cleartext: r.cleartext,
  };
}

function toFlowRow(r: RawFlow): FlowRow {
  return {
    id: r.id, client: endpointText(r.client_ip, r.client_port), server: endpointText(r.server_ip, r.server_port), app: r.app, path: r.path,
    sni: r.sni, bytes: r.bytes, packets: r.packets, firstTs: r.first_ts, lastTs: r.last_ts, severity: r.worst_severity,
    findings: r.finding_count, endReason: r.end_reason,
  };
}

const FLOW_COLUMNS = `id, client_ip, client_port, server_ip, server_port, app, path, sni, bytes_client + bytes_server AS bytes,
  packets_client + packets_server AS packets, first_ts, last_ts, worst_severity, finding_count, end_reason`;

/**
 * Reads the store read-only for the TUI. Each `load` is a handful of indexed queries (a few ms with
 * 10k flows); the database may not exist yet when a live run is starting, so opening is retried.
 */
export class DbDataSource implements TuiDataSource {
  private db: Db | null = null;
  /** The last snapshot read in full: the database version and question it answers, when, at what cost. */
  private last: { version: number; key: string; snap: TuiSnapshot; at: number; costMs: number } | null = null;

  /**
   * `packetsDir`: where `writePackets` puts its files (default: the working directory).
   * `keyLogFiles`: key logs to decrypt conversations with, besides the secrets the captures carry;
   * read again for each conversation (a live run's clients append to them).
   * `now`: the clock that spaces full reads (tests give their own).
   */
  constructor(
    private readonly file: string,
    private readonly packetsDir = '.',
    private readonly keyLogFiles: readonly string[] = [],
    private readonly now: () => number = Date.now,
  ) {}

  private open(): Db | null {
    if (this.db === null && existsSync(this.file)) {
      try {
        this.db = openStoreReadOnly(this.file);
      } catch {
        this.db = null;
      }
    }
    return this.db;
  }

  load(q: FlowQuery): TuiSnapshot {
    const db = this.open();
    if (db === null) return emptySnapshot(this.file);
    try {
      // Nothing committed since the last load and the same question: the same snapshot object, so the
      // app does not re-render. On a finished capture the periodic refresh then costs one pragma.
      const version = db.pragma('data_version', { simple: true }) as number;
      const key = JSON.stringify(q);
      const last = this.last;
      if (last !== null && last.key === key) {
        if (last.version === version) return last.snap;
        // Changed again soon after a costly read (all of it at a million flows: some 0.5 s, so at
        // most every 5 s): the header, the live run's counters, now; the rest when its turn comes.
        // A new question (filter, sort) is always answered at once.
        if (!mayRecompute(last.at, last.costMs, this.now())) {
          last.snap = { ...last.snap, header: this.header(db) };
          return last.snap;
        }
      }
      const t0 = this.now();
      const snap = this.query(db, q);
      const at = this.now();
      this.last = { version, key, snap, at, costMs: at - t0 };
      return snap;
    } catch {
      // Schema not there yet (a live run is creating it) or the database is busy: show what we had.
      return emptySnapshot(this.file);
    }
  }

  private query(db: Db, q: FlowQuery): TuiSnapshot {
    const snap = emptySnapshot(this.file);
    snap.header = this.header(db);
    snap.paths = db.prepare(PATHS_SQL).all() as PathRow[];
    // By rank: the findings_severity index answers it without reading the findings themselves.
    for (const r of db.prepare(`SELECT severity_rank AS rank, COUNT(*) AS n FROM findings GROUP BY severity_rank`).all() as { rank: number; n: number }[]) {
      const severity = SEVERITIES.find((s) => severityRank(s) === r.rank);
      if (severity !== undefined) snap.severityCounts[severity] = r.n;
    }
    snap.natRepeatedFindings = natRepeatedFindings(db);
    snap.acceptedFindings = db.prepare(`SELECT COUNT(*) FROM accepted_findings`).pluck().get() as number;
    snap.findings = (db.prepare(`SELECT f.id, f.rule, f.severity, f.title, f.evidence, f.recommendation, f.reference, f.ts,
        fl.id AS flowId, fl.path, fl.client_ip, fl.client_port, fl.server_ip, fl.server_port
        FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id
        ORDER BY f.severity_rank DESC, f.ts DESC, f.id DESC LIMIT ${MAX_FINDING_ROWS}`).all() as (FindingRow & {
      client_ip: string | null; client_port: number; server_ip: string | null; server_port: number;
    })[]).map((r) => ({
      id: r.id, rule: r.rule, severity: r.severity, title: r.title, evidence: r.evidence, recommendation: r.recommendation,
      reference: r.reference, flowId: r.flowId, path: r.path, ts: r.ts,
      client: r.client_ip === null ? '' : endpointText(r.client_ip, r.client_port),
      server: r.server_ip === null ? '' : endpointText(r.server_ip, r.server_port),
    }));
    const params: { like?: string; exact?: string }[] = [];
    let where = '';
    const filter = q.filter.trim().slice(0, MAX_FILTER_LENGTH);
    if (filter !== '') {
      const like = `%${filter.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where = `WHERE client_ip LIKE @like ESCAPE '\\' OR server_ip LIKE @like ESCAPE '\\' OR path LIKE @like ESCAPE '\\'
        OR app LIKE @like ESCAPE '\\' OR IFNULL(sni, '') LIKE @like ESCAPE '\\' OR CAST(server_port AS TEXT) = @exact
        OR CAST(client_port AS TEXT) = @exact OR IFNULL(worst_severity, '') = @exact OR community_id = @exact`;
      params.push({ like, exact: filter });
    }
    const dir = q.desc ? 'DESC' : 'ASC';
    snap.flows = (db.prepare(`SELECT ${FLOW_COLUMNS} FROM flows ${where} ORDER BY ${ORDER[q.sort]} ${dir}, id ${dir}
        LIMIT ${MAX_FLOW_ROWS}`).all(...params) as RawFlow[]).map(toFlowRow);
    snap.flowTotal = db.prepare(`SELECT COUNT(*) FROM flows ${where}`).pluck().get(...params) as number;
    snap.endpoints = db.prepare(`SELECT e.ip, e.primary_role AS role, e.name, e.flows, e.bytes, COALESCE(x.n, 0) AS findings
        FROM endpoints e LEFT JOIN (SELECT fl.server_ip AS ip, COUNT(*) AS n FROM findings f JOIN flows fl ON fl.id = f.flow_id
        GROUP BY fl.server_ip) x ON x.ip = e.ip
        ORDER BY e.flows DESC, e.ip LIMIT ${MAX_ENDPOINT_ROWS}`).all() as EndpointRow[];
    snap.requests = listRequests(new StatementCache(db), { limit: MAX_REQUEST_ROWS, offset: 0 }).items.map(toRequestRow);
    return snap;
  }

  private header(db: Db): HeaderInfo {
    const live = readLiveStatus(db);
    const totals = db.prepare(`SELECT COUNT(*) AS files, COALESCE(SUM(packets), 0) AS packets, MIN(first_ts) AS first,
        MAX(last_ts) AS last, GROUP_CONCAT(file, ', ') AS names FROM captures`).get() as {
      files: number; packets: number; first: number | null; last: number | null; names: string | null;
    };
    const flows = db.prepare(`SELECT COUNT(*) FROM flows`).pluck().get() as number;
    if (live !== null && live.running === 1) {
      return {
        source: live.source, running: true, packets: live.packets, packetsPerSec: live.packets_per_sec, flows,
        kernelDrops: live.kernel_drops, ourDrops: live.our_drops,
        elapsedS: Math.max(0, Date.now() / 1000 - live.started_at), message: live.message,
      };
    }
    return {
      source: totals.files === 1 ? (totals.names ?? '') : `${totals.files} captures`,
      running: false, packets: totals.packets, packetsPerSec: 0, flows,
      kernelDrops: live?.kernel_drops ?? 0, ourDrops: live?.our_drops ?? 0,
      elapsedS: totals.first !== null && totals.last !== null ? totals.last - totals.first : 0,
      message: live?.message ?? null,
    };
  }

  /** A stored flow and the file its packets can be read from again, or why not (`what` cannot be read again). */
  private flowCapture(id: number, what: string): { row: StoredFlowSelector; file: string } | string {
    const db = this.open();
    if (db === null) return 'no database yet';
    const row = db.prepare(`${STORED_FLOW_SELECTOR_SQL} WHERE f.id = ?`).get(id) as StoredFlowSelector | undefined;
    if (row === undefined) return 'flow not found';
    const where = locateCapture(row.captureFile, this.file);
    const problem = flowPacketsProblem(where, row.firstFrame);
    if (problem !== null || !('file' in where)) return `${problem}: ${what} cannot be read again`;
    return { row, file: where.file };
  }

  async writePackets(id: number): Promise<string> {
    const found = this.flowCapture(id, 'its packets');
    if (typeof found === 'string') return found;
    const { row, file } = found;
    const out = join(this.packetsDir, packetsFileName(row.key));
    try {
      const writer = captureFileWriter('pcapng', FdSink.open(out));
      try {
        await writeFlowPackets(file, 0, [row], writer);
      } finally {
        writer.close();
      }
      return `${writer.packets} packets written to ${resolve(out)}`;
    } catch (e) {
      return `cannot write ${out}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  async conversation(id: number): Promise<Conversation | string> {
    const found = this.flowCapture(id, 'its conversation');
    if (typeof found === 'string') return found;
    try {
      // Decrypted with the key log blocks the capture carries (a live run's --write file has them)
      // and the key logs the TUI was given.
      return await readConversation(found.file, found.row, loadKeyLogFiles(this.keyLogFiles));
    } catch (e) {
      return `cannot read the conversation: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  flowDetail(id: number): FlowDetail | null {
    const db = this.open();
    if (db === null) return null;
    try {
      const r = db.prepare(`SELECT ${FLOW_COLUMNS}, transport, tunnel, vlan, community_id, state, history, confidence, reasons, path_detail,
          nat_link FROM flows WHERE id = ?`).get(id) as (RawFlow & {
        transport: string; tunnel: string | null; vlan: number; community_id: string; state: string; history: string; confidence: number;
        reasons: string; path_detail: string; nat_link: string | null;
      }) | undefined;
      if (r === undefined) return null;
      const tls = db.prepare(`SELECT version, sni, cipher, alpn, ja3, ja4, server_subject AS serverSubject, server_issuer AS serverIssuer,
          client_subject AS clientSubject, client_cert_requested AS clientCertRequested FROM tls_sessions WHERE flow_id = ?`).get(id) as FlowDetail['tls'] | undefined;
      const http = db.prepare(`SELECT method, path, host, user_agent AS userAgent, auth, auth_subject AS authSubject, impersonate_user AS impersonateUser, status FROM http_requests
          WHERE flow_id = ? ORDER BY seq LIMIT ${MAX_DETAIL_REQUESTS}`).all(id) as FlowDetail['http'];
      const ssh = db.prepare(`SELECT client_banner AS clientBanner, server_banner AS serverBanner FROM ssh_sessions WHERE flow_id = ?`)
        .get(id) as FlowDetail['ssh'] | undefined;
      const findings = db.prepare(`SELECT rule, severity, title FROM findings WHERE flow_id = ? ORDER BY severity_rank DESC`)
        .all(id) as FlowDetail['findings'];
      const dns = (db.prepare(`SELECT query, qtype, rcode, answers FROM dns_queries WHERE flow_id = ? ORDER BY seq LIMIT ${MAX_DETAIL_REQUESTS}`)
        .all(id) as { query: string | null; qtype: string | null; rcode: string | null; answers: string }[])
        .map((d) => ({ ...d, answers: parseJson<{ type: string; data: string }[]>(d.answers, []).map((a) => `${a.type} ${a.data}`).join(', ') }));
      const acceptedFindings = db.prepare(`SELECT rule, severity, title, reason FROM accepted_findings WHERE flow_id = ? ORDER BY severity_rank DESC`)
        .all(id) as FlowDetail['acceptedFindings'];
      const peers = r.nat_link === null
        ? []
        : (db.prepare(`SELECT client_ip, client_port, server_ip, server_port FROM flows WHERE nat_link = ? AND id != ? ORDER BY id LIMIT 5`)
            .all(r.nat_link, id) as { client_ip: string; client_port: number; server_ip: string; server_port: number }[]);
      const same = db.prepare(`SELECT f.flow_key, c.file FROM flows f JOIN captures c ON c.id = f.capture_id
          WHERE f.community_id = ? AND f.id != ? ORDER BY f.first_ts, f.id LIMIT 5`).all(r.community_id, id) as { flow_key: string; file: string | null }[];
      return {
        flow: toFlowRow(r), transport: r.transport, tunnel: tunnelText(r.tunnel), vlan: r.vlan, communityId: r.community_id, state: r.state, history: r.history,
        confidence: r.confidence, reasons: parseJson<string[]>(r.reasons, []), pathDetail: parseJson<Record<string, string>>(r.path_detail, {}),
        tls: tls ?? null, http, ssh: ssh ?? null, dns, findings, acceptedFindings,
        natPeers: peers.map((p) => `${endpointText(p.client_ip, p.client_port)} → ${endpointText(p.server_ip, p.server_port)}`),
        sameCommunityId: same.map((x) => `${x.flow_key} in ${x.file ?? '?'}`),
      };
    } catch {
      return null;
    }
  }

  close(): void {
    this.db?.close();
    this.db = null;
  }
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

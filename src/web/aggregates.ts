/**
 * Whole-database aggregates (summary, path table, map, timeline, per-endpoint activity). Each walks
 * `flows` once, which on a million rows takes a good fraction of a second, so results are cached
 * and recomputed only when another connection has committed (`PRAGMA data_version`) — and, while a
 * live capture keeps committing, at most once per MIN_REFRESH_MS.
 */
import { PATH_IDS, SEVERITIES, severityRank, type Severity } from '../model/analysis';
import { currentCaptureStatus, type Db } from '../store/store';
import { PATH_INFO } from './path-info';
import { drawnPerAddress, roleGroup, type RoleGroup } from './roles';
import { natRepeatedFindingsSql } from '../store/nat-repeats';
import type { StatementCache } from './statements';
import { mayRecompute } from '../store/refresh-spacing';

/** Shortest time between two recomputations of one aggregate while the database keeps changing. */
export const MIN_REFRESH_MS = 2_000;
/** Addresses drawn as their own node on the map; the rest fold into their role group's node. */
export const MAX_MAP_ADDRESSES = 48;
/** Distinct (path, client, server) triples read for the map; beyond it the map says it is truncated. */
export const MAX_MAP_TRIPLES = 200_000;

/** One row of v_path_summary. */
interface PathRow {
  path: string;
  flows: number;
  bytes: number | null;
  findings: number | null;
  worst_rank: number | null;
  first_ts: number | null;
  last_ts: number | null;
}

/**
 * v_path_summary's sums made from flows grouped by (path, client, server): connections (`u`, `ub`:
 * the second flow of a connection seen on both sides of a NAT left out), not flows.
 */
function pathSums(triples: readonly { path: string; u: number; ub: number; f: number; r: number; t0: number; t1: number }[]): PathRow[] {
  const by = new Map<string, PathRow>();
  for (const t of triples) {
    let p = by.get(t.path);
    if (!p) by.set(t.path, (p = { path: t.path, flows: 0, bytes: 0, findings: 0, worst_rank: t.r, first_ts: t.t0, last_ts: t.t1 }));
    p.flows += t.u;
    p.bytes = (p.bytes ?? 0) + (t.ub ?? 0);
    p.findings = (p.findings ?? 0) + (t.f ?? 0);
    if (t.r > (p.worst_rank ?? -1)) p.worst_rank = t.r;
    if (t.t0 < (p.first_ts ?? Infinity)) p.first_ts = t.t0;
    if (t.t1 > (p.last_ts ?? -Infinity)) p.last_ts = t.t1;
  }
  return [...by.values()];
}

/** The activity entry of `ip` in `m`, made on first use. */
function activityAt(m: Map<string, EndpointActivity>, ip: string): EndpointActivity {
  let a = m.get(ip);
  if (!a) m.set(ip, (a = { asClient: 0, asServer: 0, findings: 0, worstRank: 0 }));
  return a;
}

/** Adds `n` findings of worst rank `r` between client `c` and server `s` to both (once when they are one). */
function addFindings(m: Map<string, EndpointActivity>, c: string, s: string, n: number, r: number): void {
  for (const ip of c === s ? [c] : [c, s]) {
    const a = activityAt(m, ip);
    a.findings += n;
    if (r > a.worstRank) a.worstRank = r;
  }
}

/** endpointActivity's counts made from flows grouped by (path, client, server). */
function activitySums(triples: readonly { c: string; s: string; n: number; f: number; r: number }[]): Map<string, EndpointActivity> {
  const m = new Map<string, EndpointActivity>();
  for (const t of triples) {
    activityAt(m, t.c).asClient += t.n;
    activityAt(m, t.s).asServer += t.n;
    if (t.f > 0) addFindings(m, t.c, t.s, t.f, t.r);
  }
  return m;
}

interface Entry {
  version: number;
  /** When it was computed, and what that cost. */
  at: number;
  costMs: number;
  value: unknown;
}

function worst(rank: number | null | undefined): Severity | null {
  for (const s of SEVERITIES) if (severityRank(s) === rank) return s;
  return null;
}

export interface EndpointActivity {
  asClient: number;
  asServer: number;
  findings: number;
  worstRank: number;
}

export class Aggregates {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly db: Db,
    private readonly stmts: StatementCache,
    /** Groups the map reads at most (a lower bound for tests of the fallback). */
    private readonly maxMapTriples = MAX_MAP_TRIPLES,
    /** The clock that spaces recomputations (tests give their own). */
    private readonly now: () => number = Date.now,
  ) {}

  /** Changes whenever another connection commits to the database. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  private cached<T>(key: string, compute: () => T): T {
    const version = this.dataVersion();
    const now = this.now();
    const e = this.cache.get(key);
    // While the database keeps changing, at most every MIN_REFRESH_MS, and a costly aggregate (the
    // map of a million flows) only a tenth of the time: the server keeps answering the lists.
    if (e && (e.version === version || !mayRecompute(e.at, e.costMs, now, MIN_REFRESH_MS))) return e.value as T;
    const value = compute();
    const at = this.now();
    this.cache.set(key, { version, at, costMs: at - now, value });
    return value;
  }

  /** Flows, bytes, findings and time range per path, for every path id (zeros where none). */
  paths() {
    return this.overview().paths;
  }

  /** The paths table from the rows of v_path_summary (or the same sums made from the map's triples). */
  private pathRows(rows: PathRow[]) {
    const byPath = new Map(rows.map((r) => [r.path, r]));
    const ids: string[] = [...PATH_IDS, ...rows.map((r) => r.path).filter((p) => !(PATH_IDS as readonly string[]).includes(p))];
    return ids.map((path) => {
      const r = byPath.get(path);
      const info = PATH_INFO[path as keyof typeof PATH_INFO] ?? { title: path, section: '—', reference: '' };
      return {
        path, title: info.title, section: info.section, reference: info.reference, flows: r?.flows ?? 0, bytes: r?.bytes ?? 0,
        findings: r?.findings ?? 0, worstSeverity: worst(r?.worst_rank), firstTs: r?.first_ts ?? null, lastTs: r?.last_ts ?? null,
      };
    });
  }

  summary() {
    const s = this.cachedSummary();
    // A capture's writer may be gone since the summary was computed (a killed load writes nothing
    // more, so the data version does not move): its status is read now.
    return { ...s, captures: s.captures.map(({ pid, ...c }) => ({ ...c, status: currentCaptureStatus(c.status, pid) })) };
  }

  private cachedSummary() {
    return this.cached('summary', () => {
      const count = (table: string) => this.stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)!.n;
      const paths = this.paths();
      let first: number | null = null;
      let last: number | null = null;
      for (const p of paths) {
        if (p.firstTs !== null && (first === null || p.firstTs < first)) first = p.firstTs;
        if (p.lastTs !== null && (last === null || p.lastTs > last)) last = p.lastTs;
      }
      const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
      for (const r of this.stmts.all<{ severity: string; n: number }>('SELECT severity, COUNT(*) AS n FROM findings GROUP BY severity')) {
        if (r.severity in bySeverity) bySeverity[r.severity as Severity] = r.n;
      }
      const byRule = this.stmts
        .all<{ rule: string; severity: string; n: number; title: string }>(
          'SELECT rule, severity, COUNT(*) AS n, MIN(title) AS title FROM findings GROUP BY rule, severity ORDER BY MAX(severity_rank) DESC, n DESC',
        )
        .filter((r) => (SEVERITIES as readonly string[]).includes(r.severity))
        .map((r) => ({ rule: r.rule, severity: r.severity as Severity, count: r.n, title: r.title }));
      return {
        counts: {
          captures: count('captures'), flows: count('flows'), findings: count('findings'), endpoints: count('endpoints'),
          certificates: count('certificates'), httpRequests: count('http_requests'), tlsSessions: count('tls_sessions'),
          sshSessions: count('ssh_sessions'),
        },
        timeRange: { first, last },
        findingsBySeverity: bySeverity,
        findingsByRule: byRule,
        natRepeatedFindings: this.stmts.one<{ n: number }>(natRepeatedFindingsSql(this.db))!.n,
        acceptedFindings: count('accepted_findings'),
        paths,
        captures: this.stmts.all<{ id: number; file: string; status: string; pid: number | null }>('SELECT id, file, status, pid FROM captures ORDER BY id'),
      };
    });
  }

  /**
   * Primary role and name of every endpoint something is known about. An address of role `unknown`
   * without a name is left out (a flood's million spoofed sources): the map draws it, and names it,
   * as it would an address the table does not hold.
   */
  roles(): Map<string, { role: string; name: string | null }> {
    return this.cached('roles', () => {
      const m = new Map<string, { role: string; name: string | null }>();
      for (const r of this.stmts.all<{ ip: string; primary_role: string; name: string | null }>(
        `SELECT ip, primary_role, name FROM endpoints WHERE primary_role <> 'unknown' OR name IS NOT NULL`,
      )) {
        m.set(r.ip, { role: r.primary_role, name: r.name });
      }
      return m;
    });
  }

  /** The primary role of an address (`unknown` for one roles() leaves out), or null if it is no endpoint. */
  roleOf(ip: string): string | null {
    return this.roles().get(ip)?.role ?? this.stmts.one<{ r: string }>('SELECT primary_role AS r FROM endpoints WHERE ip = ?', [ip])?.r ?? null;
  }

  /**
   * Flows as client and as server and findings per address: of every address, or, given `ips`, of
   * those at least. When the map's groups covered every flow they are summed from them; otherwise
   * the addresses asked for are counted on the tables, not all of them (a million distinct addresses
   * would take seconds).
   */
  endpointActivity(ips?: readonly string[]): Map<string, EndpointActivity> {
    const summed = this.overview().activity;
    if (summed !== null) return summed;
    return ips === undefined ? this.activityFromTables() : this.activityOf(ips);
  }

  /** endpointActivity of `ips` alone, counted on the tables through the indexes on the addresses. */
  private activityOf(ips: readonly string[]): Map<string, EndpointActivity> {
    const m = new Map<string, EndpointActivity>();
    if (ips.length === 0) return m;
    const asked = new Set(ips);
    const wanted = [...asked];
    const marks = wanted.map(() => '?').join(',');
    for (const ip of wanted) activityAt(m, ip);
    for (const r of this.stmts.all<{ ip: string; n: number }>(`SELECT client_ip AS ip, COUNT(*) AS n FROM flows WHERE client_ip IN (${marks}) GROUP BY client_ip`, wanted)) {
      activityAt(m, r.ip).asClient = r.n;
    }
    for (const r of this.stmts.all<{ ip: string; n: number }>(`SELECT server_ip AS ip, COUNT(*) AS n FROM flows WHERE server_ip IN (${marks}) GROUP BY server_ip`, wanted)) {
      activityAt(m, r.ip).asServer = r.n;
    }
    const pairs = this.stmts.all<{ c: string; s: string; n: number; r: number }>(
      `SELECT fl.client_ip AS c, fl.server_ip AS s, COUNT(*) AS n, MAX(f.severity_rank) AS r FROM findings f JOIN flows fl ON fl.id = f.flow_id
        WHERE fl.id IN (SELECT id FROM flows WHERE client_ip IN (${marks}) UNION SELECT id FROM flows WHERE server_ip IN (${marks})) GROUP BY 1, 2`,
      [...wanted, ...wanted],
    );
    for (const p of pairs) addFindings(m, p.c, p.s, p.n, p.r);
    // Only the addresses asked for: the pairs also named their peers.
    for (const ip of [...m.keys()]) if (!asked.has(ip)) m.delete(ip);
    return m;
  }

  /** endpointActivity by its own queries (when the map's groups were too many to hold all flows). */
  private activityFromTables(): Map<string, EndpointActivity> {
    return this.cached('activity', () => {
      const m = new Map<string, EndpointActivity>();
      for (const r of this.stmts.all<{ ip: string; n: number }>('SELECT client_ip AS ip, COUNT(*) AS n FROM flows GROUP BY client_ip')) activityAt(m, r.ip).asClient = r.n;
      for (const r of this.stmts.all<{ ip: string; n: number }>('SELECT server_ip AS ip, COUNT(*) AS n FROM flows GROUP BY server_ip')) activityAt(m, r.ip).asServer = r.n;
      this.addAllFindings(m);
      return m;
    });
  }

  /**
   * Findings and their worst rank per address, of the addresses with at least one. From the map's
   * groups when they covered every flow; otherwise by a walk of the findings alone, which a flood's
   * million finding-less addresses do not lengthen.
   */
  endpointFindings(): Map<string, EndpointActivity> {
    const summed = this.overview().activity;
    if (summed !== null) return new Map([...summed].filter(([, a]) => a.findings > 0));
    return this.cached('endpoint-findings', () => this.addAllFindings(new Map()));
  }

  /** Adds every finding to the activity of its flow's two addresses. */
  private addAllFindings(m: Map<string, EndpointActivity>): Map<string, EndpointActivity> {
    const pairs = this.stmts.all<{ c: string; s: string; n: number; r: number }>(
      'SELECT fl.client_ip AS c, fl.server_ip AS s, COUNT(*) AS n, MAX(f.severity_rank) AS r FROM findings f JOIN flows fl ON fl.id = f.flow_id GROUP BY 1, 2',
    );
    for (const p of pairs) addFindings(m, p.c, p.s, p.n, p.r);
    return m;
  }

  topology() {
    return this.overview().topology;
  }

  /**
   * The map and the paths table, from one walk of the covering index flows_overview: flows grouped
   * by (path, client, server). The paths table is summed from those groups unless there were more of
   * them than the map reads; then it has a walk of its own.
   */
  private overview() {
    return this.cached('overview', () => {
      const roles = this.roles();
      const triples = this.stmts.rows(
        `SELECT path, client_ip, server_ip, COUNT(*), SUM(bytes_client + bytes_server),
                SUM(1 - nat_repeat), SUM(CASE WHEN nat_repeat = 0 THEN bytes_client + bytes_server ELSE 0 END),
                SUM(finding_count), MAX(severity_rank), MIN(first_ts), MAX(last_ts)
           FROM flows GROUP BY path, client_ip, server_ip LIMIT ?`,
        [this.maxMapTriples + 1],
        (r) => ({
          path: r[0] as string, c: r[1] as string, s: r[2] as string, n: r[3] as number, b: r[4] as number, u: r[5] as number,
          ub: r[6] as number, f: r[7] as number, r: r[8] as number, t0: r[9] as number, t1: r[10] as number,
        }),
      );
      let truncated = triples.length > this.maxMapTriples;
      if (truncated) triples.length = this.maxMapTriples;
      const paths = this.pathRows(truncated ? this.stmts.all<PathRow>('SELECT * FROM v_path_summary') : pathSums(triples));
      // Per address: flows as client and as server, findings (a flow's finding_count is its number of
      // findings, its severity_rank their worst) — the same sums, when the groups cover every flow.
      const activity = truncated ? null : activitySums(triples);

      // Which addresses get their own node: the busiest of the groups drawn per address.
      const traffic = new Map<string, number>();
      for (const t of triples) {
        traffic.set(t.c, (traffic.get(t.c) ?? 0) + t.b);
        traffic.set(t.s, (traffic.get(t.s) ?? 0) + t.b);
      }
      const groupOf = (ip: string): RoleGroup => roleGroup(roles.get(ip)?.role);
      const candidates = [...traffic.keys()].filter((ip) => drawnPerAddress(groupOf(ip)));
      candidates.sort((a, b) => (groupOf(a) === 'apiserver' ? -1 : 0) - (groupOf(b) === 'apiserver' ? -1 : 0) || traffic.get(b)! - traffic.get(a)!);
      const own = new Set(candidates.slice(0, MAX_MAP_ADDRESSES));
      if (candidates.length > MAX_MAP_ADDRESSES) truncated = true;

      interface Node { id: string; kind: 'endpoint' | 'group'; ip: string | null; group: string; role: string; label: string; members: Set<string>; flows: number; bytes: number }
      const nodes = new Map<string, Node>();
      const nodeFor = (ip: string): Node => {
        const g = groupOf(ip);
        const id = own.has(ip) ? `ip:${ip}` : `group:${g}`;
        let n = nodes.get(id);
        if (!n) {
          const info = roles.get(ip);
          n = own.has(ip)
            ? { id, kind: 'endpoint', ip, group: g, role: info?.role ?? 'unknown', label: info?.name ?? ip, members: new Set(), flows: 0, bytes: 0 }
            : { id, kind: 'group', ip: null, group: g, role: g, label: g, members: new Set(), flows: 0, bytes: 0 };
          nodes.set(id, n);
        }
        n.members.add(ip);
        return n;
      };
      interface Edge { id: string; source: string; target: string; path: string; clientGroup: string; clientIp: string | null; serverGroup: string; serverIp: string | null; flows: number; bytes: number; findings: number; rank: number }
      const edges = new Map<string, Edge>();
      for (const t of triples) {
        const a = nodeFor(t.c);
        const b = nodeFor(t.s);
        a.flows += t.n;
        a.bytes += t.b;
        if (b !== a) {
          b.flows += t.n;
          b.bytes += t.b;
        }
        const id = `${t.path}|${a.id}|${b.id}`;
        let e = edges.get(id);
        if (!e) {
          e = { id, source: a.id, target: b.id, path: t.path, clientGroup: a.group, clientIp: a.ip, serverGroup: b.group, serverIp: b.ip, flows: 0, bytes: 0, findings: 0, rank: 0 };
          edges.set(id, e);
        }
        e.flows += t.n;
        e.bytes += t.b;
        e.findings += t.f;
        if (t.r > e.rank) e.rank = t.r;
      }
      const topology = {
        nodes: [...nodes.values()].map((n) => ({
          id: n.id, kind: n.kind, ip: n.ip, group: n.group, role: n.role,
          label: n.kind === 'group' ? `${n.label} (${n.members.size})` : n.label, members: n.members.size, flows: n.flows, bytes: n.bytes,
        })),
        edges: [...edges.values()].map((e) => ({
          id: e.id, source: e.source, target: e.target, path: e.path, clientGroup: e.clientGroup, clientIp: e.clientIp,
          serverGroup: e.serverGroup, serverIp: e.serverIp, flows: e.flows, bytes: e.bytes, findings: e.findings, worstSeverity: worst(e.rank),
        })),
        truncated,
      };
      return { topology, paths, activity };
    });
  }

  timeline(buckets: number) {
    return this.cached(`timeline:${buckets}`, () => {
      const range = this.stmts.one<{ a: number | null; b: number | null }>('SELECT MIN(first_ts) AS a, MAX(first_ts) AS b FROM flows')!;
      if (range.a === null || range.b === null) return { start: null, end: null, bucketSeconds: 0, buckets: [] };
      const span = Math.max(range.b - range.a, 1e-3);
      const width = span / buckets;
      const out = Array.from({ length: buckets }, (_, i) => ({ t: range.a! + i * width, flows: 0, findings: 0, rank: 0 }));
      const clamp = (b: number) => Math.min(Math.max(b, 0), buckets - 1);
      for (const r of this.stmts.all<{ b: number; n: number }>('SELECT CAST((first_ts - ?) / ? AS INTEGER) AS b, COUNT(*) AS n FROM flows GROUP BY b', [range.a, width])) {
        out[clamp(r.b)]!.flows += r.n;
      }
      for (const r of this.stmts.all<{ b: number; n: number; r: number }>(
        'SELECT CAST((ts - ?) / ? AS INTEGER) AS b, COUNT(*) AS n, MAX(severity_rank) AS r FROM findings WHERE ts IS NOT NULL GROUP BY b',
        [range.a, width],
      )) {
        const o = out[clamp(r.b)]!;
        o.findings += r.n;
        if (r.r > o.rank) o.rank = r.r;
      }
      return { start: range.a, end: range.b, bucketSeconds: width, buckets: out.map((o) => ({ t: o.t, flows: o.flows, findings: o.findings, worstSeverity: worst(o.rank) })) };
    });
  }

  /** Cheap enough to poll every second: two index lookups and the captures table. */
  version() {
    const ids = this.stmts.one<{ f: number | null; g: number | null; n: number }>(
      'SELECT (SELECT MAX(id) FROM flows) AS f, (SELECT MAX(id) FROM findings) AS g, (SELECT COUNT(*) FROM findings) AS n',
    )!;
    const captures = this.stmts
      .all<{ id: number; status: string; packets: number; pid: number | null }>('SELECT id, status, packets, pid FROM captures ORDER BY id')
      // A capture whose writer is gone is not being ingested, though the row still says so.
      .map(({ pid, ...c }) => ({ ...c, status: currentCaptureStatus(c.status, pid) }));
    return {
      dataVersion: this.dataVersion(),
      maxFlowId: ids.f ?? 0,
      maxFindingId: ids.g ?? 0,
      findings: ids.n,
      captures,
      live: captures.some((c) => c.status === 'ingesting'),
    };
  }
}

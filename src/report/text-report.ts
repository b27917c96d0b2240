import type { Db } from '../store/store';
import { cell, terminalSafe } from './terminal-text';
import { SEVERITIES } from '../model/analysis';
import { FINDING_IDS } from '../analysis/finding-catalogue';
import { natRepeatedFindings } from '../store/nat-repeats';
import { NEVER_OPENED_SQL, NEVER_OPENED_STATES } from '../analysis/connection-attempt';

/** Severity markers readable without colour. */
export const SEVERITY_MARK: Record<string, string> = { critical: '!!', high: '!', medium: '~', low: '-', info: 'i' };

function where(captureIds: number[]): string {
  return captureIds.length > 0 ? `capture_id IN (${captureIds.join(',')})` : '1';
}

/** The rule column: the longest finding id and a space. */
const RULE_WIDTH = Math.max(...FINDING_IDS.map((id) => id.length)) + 1;

/** Findings of one rule listed one by one; a rule with more gets one line with their spread. */
const LISTED_PER_RULE = 3;

function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

const addresses = (n: number) => plural(n, 'address', 'addresses');

/** Findings of one rule looked at for copies of one connection (the rule's lines), as a multiple of those listed. */
const FOLDED_COPIES = 4;

/** What a listed finding stands for when the same connection raised it more than once. */
function copiesNote(n: number, captures: number): string {
  if (n === 1) return '';
  return captures === n ? ` (the same connection in ${captures} captures)` : ` (${n} times, with the same addresses and ports, in ${plural(captures, 'capture')})`;
}

/** Sources of attempts named in the summary, most attempts first. */
const LISTED_SOURCES = 3;

/**
 * Who made the attempts that never opened: how many addresses, and those that made the most with how
 * many addresses and ports they tried (a port scan tries many ports of one address, an address scan
 * one port of many; a flood from spoofed addresses is one attempt each).
 */
function attemptSources(db: Db, captureIds: number[]): string {
  const rows = db
    .prepare(
      `WITH s AS MATERIALIZED (
         SELECT client_ip ip, COUNT(*) n, COUNT(DISTINCT server_ip) a, COUNT(DISTINCT server_port) p
           FROM flows WHERE ${NEVER_OPENED_SQL} AND ${where(captureIds)} GROUP BY client_ip)
       SELECT (SELECT COUNT(*) FROM s) sources, ip, n, a, p FROM s ORDER BY n DESC, ip LIMIT ${LISTED_SOURCES}`,
    )
    .all() as { sources: number; ip: string; n: number; a: number; p: number }[];
  const sources = rows[0]?.sources ?? 0;
  const from = `from ${addresses(sources)}`;
  const repeated = rows.filter((r) => r.n > 1);
  if (repeated.length === 0) return sources === 1 ? from : `${from}, one attempt each`;
  const each = repeated.map((r) => `${terminalSafe(r.ip, 64)} made ${r.n}, to ${addresses(r.a)} on ${plural(r.p, 'port')}`);
  return `${from}; most by ${each.join('; ')}`;
}

/** The human summary `planewatch analyze` prints: paths, then findings by severity, rule by rule. */
export function textReport(db: Db, captureIds: number[], dbFile?: string): string {
  const lines: string[] = [];
  const paths = db
    // A connection seen on both sides of a NAT is two flows: counted once (nat_repeat marks the second).
    .prepare(`SELECT path, SUM(1 - nat_repeat) n, SUM(CASE WHEN nat_repeat = 0 THEN bytes_client + bytes_server ELSE 0 END) b,
                     SUM(finding_count) fc, MAX(severity_rank) w
                FROM flows WHERE ${where(captureIds)} GROUP BY path ORDER BY n DESC, path`)
    .all() as { path: string; n: number; b: number; fc: number; w: number }[];
  lines.push('Communication paths');
  lines.push(`  ${cell('path', 28)}${cell('conns', 8)}${cell('bytes', 12)}findings`);
  for (const p of paths) lines.push(`  ${cell(p.path, 28)}${cell(p.n, 8)}${cell(formatBytes(p.b), 12)}${p.fc}`);
  const repeats = db.prepare(`SELECT COUNT(*) FROM flows WHERE nat_repeat = 1 AND ${where(captureIds)}`).pluck().get() as number;
  if (repeats > 0) lines.push(`  (${plural(repeats, 'connection')} seen on both sides of a NAT counted once)`);
  // Attempts that never opened (a scan, a flood, closed or filtered ports) are counted in their paths:
  // say how many there were, and how to list them.
  const states = Object.keys(NEVER_OPENED_STATES);
  const attempts = db
    .prepare(`SELECT state, COUNT(*) n FROM flows WHERE ${NEVER_OPENED_SQL} AND ${where(captureIds)} GROUP BY state ORDER BY n DESC, state`)
    .all() as { state: string; n: number }[];
  if (attempts.length > 0) {
    const total = attempts.reduce((a, r) => a + r.n, 0);
    const list = dbFile
      ? `planewatch flows --db ${terminalSafe(dbFile, 200)} --state ${states.join(',')}`
      : `analyze with --db FILE, then planewatch flows --db FILE --state ${states.join(',')}`;
    lines.push(`  (${plural(total, 'connection attempt')} never opened: ${attempts.map((r) => `${r.n} ${r.state}`).join(', ')}; listed by ${list})`);
    lines.push(`  (${attemptSources(db, captureIds)})`);
  }

  const bySev = db
    .prepare(`SELECT severity, COUNT(*) n FROM findings WHERE ${where(captureIds)} GROUP BY severity`)
    .all() as { severity: string; n: number }[];
  const counts = new Map(bySev.map((r) => [r.severity, r.n]));
  lines.push('');
  lines.push(`Findings: ${SEVERITIES.map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ')}`);
  // Each view of a connection seen across a NAT is judged as a flow of its own, and what the payload
  // shows (a token, a weak cipher) shows on both: say how many findings repeat the other view's.
  const repeated = natRepeatedFindings(db, captureIds);
  if (repeated > 0) {
    lines.push(`  (${plural(repeated, 'finding')} on the second view of a connection seen on both sides of a NAT, as on its first)`);
  }
  const rules = db
    .prepare(`SELECT f.rule, f.severity, COUNT(*) n, COUNT(DISTINCT fl.client_ip) clients,
                     COUNT(DISTINCT fl.server_ip || ' ' || fl.server_port) servers
                FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id
               WHERE f.${where(captureIds)} GROUP BY f.rule, f.severity ORDER BY MAX(f.severity_rank) DESC, n DESC, f.rule`)
    .all() as { rule: string; severity: string; n: number; clients: number; servers: number }[];
  const examples = db
    .prepare(`SELECT evidence FROM findings WHERE ${where(captureIds)} AND rule = ? AND severity = ? ORDER BY ts, id LIMIT ${LISTED_PER_RULE}`)
    .pluck();
  // The same connection recorded in several captures (both ends, two taps, a copy with its keys)
  // raises the same finding in each: such findings are listed once, with how many there are.
  const sameConnection = db.prepare(
    `SELECT f.evidence, COUNT(*) n, COUNT(DISTINCT f.capture_id) captures
       FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id
      WHERE f.${where(captureIds)} AND f.rule = ? AND f.severity = ?
      GROUP BY f.evidence, COALESCE(fl.community_id, f.id) ORDER BY MIN(f.ts), MIN(f.id) LIMIT ${LISTED_PER_RULE + 1}`,
  );
  for (const r of rules) {
    const head = `  ${cell(SEVERITY_MARK[r.severity] ?? '', 3)}${cell(r.severity, 9)}${cell(r.rule, RULE_WIDTH)}`;
    if (r.n <= LISTED_PER_RULE * FOLDED_COPIES) {
      const groups = sameConnection.all(r.rule, r.severity) as { evidence: string; n: number; captures: number }[];
      if (groups.length <= LISTED_PER_RULE) {
        for (const g of groups) lines.push(head + terminalSafe(g.evidence, 160) + copiesNote(g.n, g.captures));
        continue;
      }
    }
    const evidence = examples.all(r.rule, r.severity) as string[];
    // Many of one rule (a kubelet fleet, every connection of a client): one line with the spread and
    // the first occurrence, and where to read them all.
    const spread = `${r.n} findings, ${plural(r.servers, 'server')}, ${plural(r.clients, 'client')}`;
    lines.push(`${head}${spread}; first: ${terminalSafe(evidence[0] ?? '', 100)}`);
    const all = dbFile
      ? `all of them: planewatch findings --db ${terminalSafe(dbFile, 200)} --rule ${r.rule}`
      : `all of them: analyze with --db FILE, then planewatch findings --db FILE --rule ${r.rule}`;
    lines.push(`${' '.repeat(2 + 3 + 9 + RULE_WIDTH)}${all}`);
  }
  // Findings accepted as risks: not counted above; say how many, why, and where to list them.
  const accepted = db
    .prepare(`SELECT rule, COUNT(*) n, MIN(reason) reason, COUNT(DISTINCT reason) reasons FROM accepted_findings
               WHERE ${where(captureIds)} GROUP BY rule ORDER BY MAX(severity_rank) DESC, n DESC, rule`)
    .all() as { rule: string; n: number; reason: string; reasons: number }[];
  if (accepted.length > 0) {
    const total = accepted.reduce((a, r) => a + r.n, 0);
    const list = dbFile ? `planewatch findings --db ${terminalSafe(dbFile, 200)} --accepted` : 'analyze with --db FILE, then planewatch findings --db FILE --accepted';
    lines.push('');
    lines.push(`Accepted: ${plural(total, 'finding')} accepted as risks (--accept), not counted above (${list})`);
    for (const r of accepted) {
      const why = r.reasons === 1 ? terminalSafe(r.reason, 120) : `${r.reasons} reasons`;
      lines.push(`  ${cell(r.rule, RULE_WIDTH)}${cell(r.n, 6)}${why}`);
    }
  }
  // Requests read: how many, how many got into a pod (exec, attach, port-forward), how many were refused.
  const req = db
    .prepare(`SELECT COUNT(*) n, COUNT(CASE WHEN h.k8s_operation IN ('exec','attach','portforward','run') THEN 1 END) pod,
                     COUNT(CASE WHEN h.status IN (401, 403) THEN 1 END) refused
                FROM http_requests h JOIN flows fl ON fl.id = h.flow_id WHERE fl.${where(captureIds)}`)
    .get() as { n: number; pod: number; refused: number };
  if (req.n > 0) {
    lines.push('');
    const list = dbFile ? `planewatch requests --db ${terminalSafe(dbFile, 200)}` : 'analyze with --db FILE, then planewatch requests --db FILE';
    lines.push(`Requests: ${plural(req.n, 'request')} read, ${req.pod} into a pod (exec, attach, port-forward), ${req.refused} refused (401, 403) (each: ${list})`);
  }
  // Credentials in readable requests: how many, how many crossed in cleartext, where to read them.
  const cred = db
    .prepare(`SELECT COUNT(DISTINCT h.auth_hash) n,
                     COUNT(DISTINCT CASE WHEN NOT EXISTS (SELECT 1 FROM tls_sessions t WHERE t.flow_id = h.flow_id) THEN h.auth_hash END) clear
                FROM http_requests h JOIN flows fl ON fl.id = h.flow_id
               WHERE h.auth_hash IS NOT NULL AND fl.${where(captureIds)}`)
    .get() as { n: number; clear: number };
  if (cred.n > 0) {
    lines.push('');
    const list = dbFile ? `planewatch credentials --db ${terminalSafe(dbFile, 200)}` : 'analyze with --db FILE, then planewatch credentials --db FILE';
    lines.push(`Credentials: ${plural(cred.n, 'credential')} seen in readable requests, ${cred.clear} in cleartext (whose, and where: ${list})`);
  }
  return lines.join('\n');
}

export function formatBytes(n: number | null): string {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

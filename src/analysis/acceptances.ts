import { BlockList, isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { Acceptance, AcceptedFinding, Classification, Finding } from '../model/analysis';
import { PATH_IDS } from '../model/analysis';
import type { FlowRecord } from '../model/flow-record';
import { FINDING_IDS } from './finding-catalogue';
import { inNetworks } from './inventory';

/**
 * Accepted findings: risks a team has looked at and decided to live with for now (a lab cluster's
 * self-signed kubelet certificates, an SSH tunnel until a migration ends), listed in a file given
 * with `--accept`, as `.trivyignore`, Suricata's suppressions or Zeek's notice policy do for their
 * tools. A finding an entry matches is still raised and stored, with the entry's reason, but apart
 * from the open findings: it does not count towards `--fail-on`, a flow's worst severity or the
 * findings the views list, and it is listed on request. An entry with `until` stops accepting
 * after that time (the finding is open again), so an acceptance cannot be forgotten.
 *
 * The file is YAML (or JSON, which YAML reads too):
 *
 *   accept:
 *     - rule: kubelet-tls-unverified      # a finding id, or "*" for any
 *       server: 10.0.1.0/24               # address or CIDR, or a list of them (optional)
 *       client: 10.0.0.10                 # the same, for the client (optional)
 *       serverName: worker-*              # the server's name: a node, namespace/pod, Service, a DNS
 *       clientName: kube-system/*         #   name; * matches any run of characters (optional)
 *       port: 10250                       # the server's port, or a list (optional)
 *       path: apiserver-to-kubelet        # a path id, or a list (optional)
 *       evidence: CN=lab-                 # text the evidence contains, any case (optional)
 *       reason: lab cluster, kubelet serving certificates not yet from the cluster CA (OPS-123)
 *       until: 2027-03-31                 # a date (through that day, UTC) or a time (optional)
 *
 * A key it does not know is an error, not ignored: a misspelt `sever:` would otherwise accept the
 * rule on every server.
 */

interface AcceptEntry {
  source: string;
  rule: string;
  clients: BlockList | null;
  servers: BlockList | null;
  /** Name patterns (anchored, any case) the client's or the server's name must match. */
  clientNames: RegExp[] | null;
  serverNames: RegExp[] | null;
  ports: Set<number> | null;
  paths: Set<string> | null;
  evidence: string | null;
  reason: string;
  /** Epoch milliseconds from which the entry no longer accepts (null: never). */
  untilMs: number | null;
  until: string | null;
}

export interface AcceptList {
  /** The entries in force. */
  entries: readonly AcceptEntry[];
  /** Entries whose `until` has passed, for a warning: their findings are open again. */
  expired: readonly { source: string; rule: string; until: string }[];
}

const KEYS = new Set(['rule', 'client', 'server', 'clientName', 'serverName', 'port', 'path', 'evidence', 'reason', 'until']);
const DAY_MS = 86_400_000;
const MAX_REASON_CHARS = 500;

/** An empty list: nothing accepted. */
export function noAcceptances(): AcceptList {
  return { entries: [], expired: [] };
}

/**
 * Reads accept files (`{ source, content }`), judging `until` against `nowMs`. Throws one clear
 * error naming the file and the entry on anything it cannot take.
 */
export function parseAcceptFiles(files: readonly { source: string; content: string }[], nowMs: number): AcceptList {
  const entries: AcceptEntry[] = [];
  const expired: AcceptList['expired'][number][] = [];
  for (const { source, content } of files) {
    let doc: unknown;
    try {
      doc = parseYaml(content);
    } catch (e) {
      throw new Error(`${source}: accepted findings: not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    const list = listOf(doc, source);
    list.forEach((raw, i) => {
      const entry = parseEntry(raw, `${source}#${i + 1}`);
      if (entry.untilMs !== null && entry.untilMs <= nowMs) expired.push({ source: entry.source, rule: entry.rule, until: entry.until! });
      else entries.push(entry);
    });
  }
  return { entries, expired };
}

function listOf(doc: unknown, source: string): unknown[] {
  if (doc === null || doc === undefined) return []; // an empty file accepts nothing
  if (Array.isArray(doc)) return doc;
  if (typeof doc === 'object' && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'accept');
    if (extra.length > 0) throw new Error(`${source}: accepted findings: unknown key ${extra.map((k) => `"${k}"`).join(', ')} (expected "accept:" and a list)`);
    if (o.accept === null || o.accept === undefined) return [];
    if (Array.isArray(o.accept)) return o.accept;
  }
  throw new Error(`${source}: accepted findings: expected a list of entries under "accept:"`);
}

function parseEntry(raw: unknown, source: string): AcceptEntry {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('an entry must be a mapping (rule, reason, …)');
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) fail(`unknown key ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...KEYS].join(', ')})`);
  const rule = o.rule;
  if (typeof rule !== 'string' || (rule !== '*' && !FINDING_IDS.includes(rule))) {
    fail(`"rule" must be a finding id or "*" (got ${JSON.stringify(rule ?? null)}; known: ${FINDING_IDS.join(', ')})`);
  }
  const reason = typeof o.reason === 'string' ? o.reason.trim() : '';
  if (reason === '') fail('"reason" is required: say why the risk is accepted');
  // Stored with every finding it accepts, and shown on one line: a ticket's reference belongs here, not an essay.
  if (reason.length > MAX_REASON_CHARS) fail(`"reason" is longer than ${MAX_REASON_CHARS} characters`);
  const paths = o.path === undefined ? null : new Set(strings(o.path, 'path', source));
  for (const p of paths ?? []) if (!(PATH_IDS as readonly string[]).includes(p)) fail(`"path": unknown path id "${p}" (known: ${PATH_IDS.join(', ')})`);
  const ports = o.port === undefined ? null : new Set(portList(o.port, source));
  const evidence = o.evidence === undefined ? null : typeof o.evidence === 'string' && o.evidence !== '' ? o.evidence.toLowerCase() : fail('"evidence" must be non-empty text');
  const { untilMs, until } = parseUntil(o.until, source);
  return {
    source,
    rule: rule as string,
    clients: o.client === undefined ? null : networks(o.client, 'client', source),
    servers: o.server === undefined ? null : networks(o.server, 'server', source),
    clientNames: o.clientName === undefined ? null : strings(o.clientName, 'clientName', source).map(glob),
    serverNames: o.serverName === undefined ? null : strings(o.serverName, 'serverName', source).map(glob),
    ports,
    paths,
    evidence,
    reason,
    untilMs,
    until,
  };
}

function strings(v: unknown, key: string, source: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
    throw new Error(`${source}: "${key}" must be text or a list of text`);
  }
  return list as string[];
}

function portList(v: unknown, source: string): number[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((p) => Number.isInteger(p) && (p as number) > 0 && (p as number) <= 65535)) {
    throw new Error(`${source}: "port" must be a port number (1–65535) or a list of them`);
  }
  return list as number[];
}

/** A name pattern: `*` any run of characters, everything else itself; the whole name, any case. */
function glob(pattern: string): RegExp {
  const body = pattern.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** Addresses and CIDRs as a BlockList (an address is its own /32 or /128). */
function networks(v: unknown, key: string, source: string): BlockList {
  const list = new BlockList();
  for (const text of strings(v, key, source)) {
    const [net, bits, ...rest] = text.trim().split('/');
    const family = isIP(net ?? '');
    const max = family === 6 ? 128 : 32;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || rest.length > 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && bits.trim() === '')) {
      throw new Error(`${source}: "${key}": not an address or CIDR: ${JSON.stringify(text)}`);
    }
    list.addSubnet(net!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** `until`: a date is through that day (UTC); a time is that instant. */
function parseUntil(v: unknown, source: string): { untilMs: number | null; until: string | null } {
  if (v === undefined || v === null) return { untilMs: null, until: null };
  if (v instanceof Date && !Number.isNaN(v.getTime())) return { untilMs: v.getTime(), until: v.toISOString() };
  if (typeof v === 'string') {
    const text = v.trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
      const day = Date.parse(`${text}T00:00:00Z`);
      // Date.parse rolls 2026-02-30 over into March: a day that does not exist is refused.
      if (!Number.isNaN(day) && new Date(day).toISOString().startsWith(text)) return { untilMs: day + DAY_MS, until: text };
    } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) {
      // A time without a zone is read as UTC, not as the machine's local time.
      const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`);
      if (!Number.isNaN(ms)) return { untilMs: ms, until: new Date(ms).toISOString() };
    }
  }
  throw new Error(`${source}: "until" must be a date (2027-03-31) or a time (2027-03-31T18:00:00Z), got ${JSON.stringify(v)}`);
}

/** The list with the entries whose `until` has passed by `nowMs` moved to `expired` (the same list if none). */
export function expireAcceptances(list: AcceptList, nowMs: number): AcceptList {
  if (!list.entries.some((e) => e.untilMs !== null && e.untilMs <= nowMs)) return list;
  const ended = list.entries.filter((e) => e.untilMs !== null && e.untilMs <= nowMs);
  return {
    entries: list.entries.filter((e) => !ended.includes(e)),
    expired: [...list.expired, ...ended.map((e) => ({ source: e.source, rule: e.rule, until: e.until! }))],
  };
}

/** What an address is called (the topology's name for it), or null; names are matched by pattern. */
export type NameOf = (ip: string) => string | null;

const NO_NAMES: NameOf = () => null;

function named(patterns: RegExp[], name: string | null): boolean {
  return name !== null && patterns.some((p) => p.test(name));
}

/** The first entry in force that accepts this finding of flow `f`, or null. */
export function acceptanceOf(list: AcceptList, finding: Finding, f: FlowRecord, c: Classification, nameOf: NameOf = NO_NAMES): Acceptance | null {
  for (const e of list.entries) {
    if (e.rule !== '*' && e.rule !== finding.rule) continue;
    if (e.clients !== null && !inNetworks(e.clients, f.client.ip)) continue;
    if (e.servers !== null && !inNetworks(e.servers, f.server.ip)) continue;
    if (e.clientNames !== null && !named(e.clientNames, nameOf(f.client.ip))) continue;
    if (e.serverNames !== null && !named(e.serverNames, nameOf(f.server.ip))) continue;
    if (e.ports !== null && !e.ports.has(f.server.port)) continue;
    if (e.paths !== null && !e.paths.has(c.path)) continue;
    if (e.evidence !== null && !finding.evidence.toLowerCase().includes(e.evidence)) continue;
    return { reason: e.reason, until: e.until, source: e.source };
  }
  return null;
}

/** Splits a flow's findings into the open ones and those an entry accepts. */
export function applyAcceptances(
  list: AcceptList,
  findings: Finding[],
  f: FlowRecord,
  c: Classification,
  nameOf: NameOf = NO_NAMES,
): { findings: Finding[]; accepted: AcceptedFinding[] } {
  if (list.entries.length === 0 || findings.length === 0) return { findings, accepted: [] };
  const open: Finding[] = [];
  const accepted: AcceptedFinding[] = [];
  for (const finding of findings) {
    const acceptance = acceptanceOf(list, finding, f, c, nameOf);
    if (acceptance === null) open.push(finding);
    else accepted.push({ ...finding, acceptance });
  }
  return { findings: open, accepted };
}

/** One line per expired entry, for stderr. */
export function expiredLines(list: AcceptList): string[] {
  return list.expired.map((e) => `planewatch: ${e.source} (${e.rule}) was accepted until ${e.until}: its findings are open again`);
}

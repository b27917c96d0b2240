import { describe, expect, it } from 'vitest';
import { acceptanceOf, applyAcceptances, expireAcceptances, expiredLines, parseAcceptFiles } from '../../src/analysis/acceptances';
import type { Classification, Finding } from '../../src/model/analysis';
import type { FlowRecord } from '../../src/model/flow-record';

const NOW = Date.parse('2026-06-15T12:00:00Z');

function parse(content: string, now = NOW) {
  return parseAcceptFiles([{ source: 'accept.yaml', content }], now);
}

function finding(rule: string, evidence = 'certificate CN=worker-1@1700000000 is self-signed'): Finding {
  return { rule, severity: 'high', flowId: 'c1f1', title: 't', evidence, recommendation: 'r', reference: 'ref', cis: null, ts: 1, frame: 1 };
}

function flow(client: string, server: string, port: number): FlowRecord {
  return { client: { ip: client, port: 40000 }, server: { ip: server, port } } as FlowRecord;
}

const kubelet: Classification = { path: 'apiserver-to-kubelet', pathDetail: {}, confidence: 0.9, reasons: [] };

describe('accept files', () => {
  it('reads YAML with comments, JSON, a bare list and an empty file', () => {
    const yaml = parse(`# accepted risks
accept:
  - rule: kubelet-tls-unverified   # the lab kubelets
    server: [10.0.1.0/24, 10.0.2.7]
    reason: lab cluster
`);
    expect(yaml.entries).toHaveLength(1);
    expect(parse('{"accept":[{"rule":"*","reason":"json too"}]}').entries).toHaveLength(1);
    expect(parse('- rule: weak-tls\n  reason: a list alone\n- rule: cert-expired\n  reason: two\n').entries).toHaveLength(2);
    expect(parse('').entries).toHaveLength(0);
    expect(parse('accept:\n').entries).toHaveLength(0);
  });

  it('refuses what would widen or blur an acceptance, naming the file and the entry', () => {
    // A misspelt scope key must not accept the rule everywhere.
    expect(() => parse('accept:\n  - rule: weak-tls\n    sever: 10.0.0.1\n    reason: x\n')).toThrow(/accept\.yaml#1: unknown key "sever"/);
    expect(() => parse('accept:\n  - rule: weak-tls\n')).toThrow(/accept\.yaml#1: "reason" is required/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: "  "\n')).toThrow(/"reason" is required/);
    expect(() => parse(`accept:\n  - rule: weak-tls\n    reason: ${'x'.repeat(501)}\n`)).toThrow(/"reason" is longer than 500 characters/);
    expect(() => parse('accept:\n  - reason: x\n')).toThrow(/"rule" must be a finding id/);
    expect(() => parse('accept:\n  - rule: kubelet-tls-unverfied\n    reason: x\n')).toThrow(/"rule" must be a finding id or "\*" \(got "kubelet-tls-unverfied"/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n  - rule: weak-tls\n    reason: x\n    server: 10.0.0.0/33\n')).toThrow(/accept\.yaml#2: "server": not an address or CIDR: "10\.0\.0\.0\/33"/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n    client: node-1\n')).toThrow(/"client": not an address or CIDR/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n    port: 70000\n')).toThrow(/"port" must be a port number/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n    path: kubelet\n')).toThrow(/unknown path id "kubelet"/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n    until: next week\n')).toThrow(/"until" must be a date/);
    expect(() => parse('accept:\n  - rule: weak-tls\n    reason: x\n    until: 2026-02-30\n')).toThrow(/"until" must be a date/);
    expect(() => parse('rules:\n  - rule: weak-tls\n')).toThrow(/unknown key "rules"/);
    expect(() => parse('accept: weak-tls\n')).toThrow(/expected a list of entries/);
    expect(() => parse('accept: [\n')).toThrow(/accept\.yaml: accepted findings: not YAML or JSON/);
  });

  it('matches by rule, client, server (address or CIDR, IPv4 or IPv6), server port, path and evidence text', () => {
    const list = parse(`accept:
  - rule: kubelet-tls-unverified
    server: 10.0.1.0/24
    port: [10250, 10255]
    path: apiserver-to-kubelet
    reason: first
  - rule: "*"
    client: fd00::10
    reason: any rule from this client
  - rule: weak-tls
    evidence: SHA1WITHRSA
    reason: by evidence, any case
`);
    const k = finding('kubelet-tls-unverified');
    expect(acceptanceOf(list, k, flow('10.0.0.10', '10.0.1.21', 10250), kubelet)).toEqual({ reason: 'first', until: null, source: 'accept.yaml#1' });
    expect(acceptanceOf(list, k, flow('10.0.0.10', '10.0.2.21', 10250), kubelet)).toBeNull(); // outside the CIDR
    expect(acceptanceOf(list, k, flow('10.0.0.10', '10.0.1.21', 443), kubelet)).toBeNull(); // another port
    expect(acceptanceOf(list, k, flow('10.0.0.10', '10.0.1.21', 10250), { ...kubelet, path: 'other' })).toBeNull(); // another path
    expect(acceptanceOf(list, finding('cert-expired'), flow('fd00::10', 'fd00::1', 6443), kubelet)?.source).toBe('accept.yaml#2');
    expect(acceptanceOf(list, finding('cert-expired'), flow('fd00::11', 'fd00::1', 6443), kubelet)).toBeNull();
    expect(acceptanceOf(list, finding('weak-tls', 'cert signed with sha1WithRSAEncryption'), flow('1.1.1.1', '2.2.2.2', 1), kubelet)?.reason).toBe('by evidence, any case');
    expect(acceptanceOf(list, finding('weak-tls', 'TLS 1.0'), flow('1.1.1.1', '2.2.2.2', 1), kubelet)).toBeNull();
  });

  it('matches names by pattern (any case, * for any run), and an address without a name matches no name', () => {
    const list = parse(`accept:
  - rule: kubelet-tls-unverified
    serverName: [worker-*, edge-1]
    clientName: "kube-system/*"
    reason: by name
`);
    const names: Record<string, string> = { '10.0.1.21': 'Worker-7', '10.0.1.22': 'edge-1', '10.0.1.23': 'edge-10', '10.0.0.5': 'kube-system/metrics-server-7d9', '10.0.0.6': 'default/web' };
    const nameOf = (ip: string) => names[ip] ?? null;
    const k = finding('kubelet-tls-unverified');
    const ok = (client: string, server: string) => acceptanceOf(list, k, flow(client, server, 10250), kubelet, nameOf) !== null;
    expect(ok('10.0.0.5', '10.0.1.21')).toBe(true);
    expect(ok('10.0.0.5', '10.0.1.22')).toBe(true);
    expect(ok('10.0.0.5', '10.0.1.23')).toBe(false); // edge-1 is the whole name, not a prefix
    expect(ok('10.0.0.6', '10.0.1.21')).toBe(false); // another namespace
    expect(ok('10.0.0.9', '10.0.1.21')).toBe(false); // a client with no name
    expect(acceptanceOf(list, k, flow('10.0.0.5', '10.0.1.21', 10250), kubelet)).toBeNull(); // no names known at all
    // A pattern's other characters are themselves: a dot is a dot.
    const dotted = parse('accept:\n  - rule: "*"\n    serverName: api.example.com\n    reason: x\n');
    expect(acceptanceOf(dotted, k, flow('a', 'b', 1), kubelet, () => 'apixexample.com')).toBeNull();
    expect(acceptanceOf(dotted, k, flow('a', 'b', 1), kubelet, () => 'API.example.com')).not.toBeNull();
  });

  it('splits a flow\'s findings into open and accepted, each accepted one with its acceptance', () => {
    const list = parse('accept:\n  - rule: kubelet-tls-unverified\n    reason: lab\n    until: 2026-12-31\n');
    const { findings, accepted } = applyAcceptances(list, [finding('kubelet-tls-unverified'), finding('cert-expired')], flow('a', 'b', 1), kubelet);
    expect(findings.map((f) => f.rule)).toEqual(['cert-expired']);
    expect(accepted).toEqual([{ ...finding('kubelet-tls-unverified'), acceptance: { reason: 'lab', until: '2026-12-31', source: 'accept.yaml#1' } }]);
  });

  it('ends an acceptance after its until: a date is through that day (UTC), a time without a zone is UTC', () => {
    const text = `accept:
  - rule: weak-tls
    reason: day
    until: 2026-06-15
  - rule: cert-expired
    reason: time
    until: 2026-06-15T11:59:00
  - rule: cert-changed
    reason: time with zone
    until: 2026-06-15T14:00:00+02:00
`;
    const list = parse(text);
    // The day is not over at noon; 11:59 UTC and 12:00 UTC (14:00+02:00) have passed.
    expect(list.entries.map((e) => e.rule)).toEqual(['weak-tls']);
    expect(list.expired).toEqual([
      { source: 'accept.yaml#2', rule: 'cert-expired', until: '2026-06-15T11:59:00.000Z' },
      { source: 'accept.yaml#3', rule: 'cert-changed', until: '2026-06-15T12:00:00.000Z' },
    ]);
    expect(expiredLines(list)[0]).toBe('planewatch: accept.yaml#2 (cert-expired) was accepted until 2026-06-15T11:59:00.000Z: its findings are open again');
    expect(acceptanceOf(list, finding('cert-expired'), flow('a', 'b', 1), kubelet)).toBeNull();
    // At midnight the day-long acceptance ends too (live capture re-checks before each pass).
    const later = expireAcceptances(list, Date.parse('2026-06-16T00:00:00Z'));
    expect(later.entries).toHaveLength(0);
    expect(later.expired.map((e) => e.rule)).toEqual(['cert-expired', 'cert-changed', 'weak-tls']);
    expect(expireAcceptances(list, NOW)).toBe(list);
  });
});

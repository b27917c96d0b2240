/**
 * DNS from real tools: dnsmasq answers, Node's resolver (c-ares) asks over UDP and dig over TCP,
 * tcpdump records on loopback.
 * planewatch's questions, response codes and answers are compared with tshark's, frame by frame, and
 * the names they give addresses are checked in the database.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, run, startCapture, waitForOutput } from './loopback-capture';
import { hasTshark } from './tshark-connections';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const ready = hasTool('dnsmasq') && hasTool('dig') && hasTool('tcpdump') && hasTshark;
const dir = mkdtempSync(join(tmpdir(), 'pw-dns-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A loopback address of this run's own: port 53 on it is free whatever else listens on 53.
const SERVER = `127.0.53.${10 + (process.pid % 200)}`;
const PCAP = join(dir, 'dns.pcap');

interface PwTransaction {
  frame: number;
  responseFrame: number | null;
  query: string | null;
  qtype: string | null;
  rcode: string | null;
  answers: { name: string; type: string; data: string; ttl: number }[];
}

const RCODE_NUMBERS: Record<string, string> = { NOERROR: '0', FORMERR: '1', SERVFAIL: '2', NXDOMAIN: '3', NOTIMP: '4', REFUSED: '5' };

describe.skipIf(!ready)('DNS recorded from dnsmasq and a real resolver', () => {
  let transactions: PwTransaction[] = [];
  let tshark = new Map<number, { response: boolean; query: string; a: string[]; aaaa: string[]; ptr: string[]; rcode: string }>();

  beforeAll(async () => {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '10.0.0.21 worker-1.example.internal\n');
    const capture = await startCapture(PCAP, ['port', '53', 'and', 'host', SERVER]);
    let server: ChildProcess | null = null;
    try {
      server = spawn('dnsmasq', [
        '--keep-in-foreground', '--no-daemon', '--log-facility=-', '--port=53', `--listen-address=${SERVER}`, '--bind-interfaces',
        '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        '--address=/kubernetes.default.svc.cluster.local/10.96.0.1',
        '--address=/metrics-server.kube-system.svc.cluster.local/10.96.0.20',
        '--host-record=etcd-0.etcd.kube-system.svc.cluster.local,10.244.1.5,fd00:10:244:1::5',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      await waitForOutput(server, 'started');
      const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([SERVER]);
      await resolver.resolve4('kubernetes.default.svc.cluster.local');
      await resolver.resolve4('metrics-server.kube-system.svc.cluster.local');
      await resolver.resolve4('etcd-0.etcd.kube-system.svc.cluster.local');
      await resolver.resolve6('etcd-0.etcd.kube-system.svc.cluster.local');
      await resolver.reverse('10.0.0.21');
      await expect(resolver.resolve4('nothing.example.internal')).rejects.toThrow();
      // DNS over TCP (RFC 7766), as NodeLocal DNSCache forwards the cluster zone.
      for (const args of [['kubernetes.default.svc.cluster.local', 'A'], ['-x', '10.0.0.21']]) {
        const r = await run('dig', ['+tcp', '+tries=1', '+time=3', `@${SERVER}`, ...args]);
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      await capture.stop();
      server?.kill('SIGTERM');
    }
    const out = spawnSync(process.execPath, [CLI, 'analyze', PCAP, '--json', '--db', join(dir, 'dns.db')], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const flows = (JSON.parse(out.stdout) as { flows: { app: string; transport: string; dns: PwTransaction[] }[] }).flows;
    expect(flows.every((f) => f.app === 'dns')).toBe(true);
    expect(flows.filter((f) => f.transport === 'tcp').map((f) => f.dns.length)).toEqual([1, 1]);
    transactions = flows.flatMap((f) => f.dns);
    const fields = spawnSync('tshark', ['-r', PCAP, '-Y', 'dns', '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=,',
      '-e', 'frame.number', '-e', 'dns.flags.response', '-e', 'dns.qry.name', '-e', 'dns.a', '-e', 'dns.aaaa', '-e', 'dns.ptr.domain_name', '-e', 'dns.flags.rcode'], { encoding: 'utf8' });
    expect(fields.status, fields.stderr).toBe(0);
    tshark = new Map(fields.stdout.trim().split('\n').map((line) => {
      const [frame, response, query, a, aaaa, ptr, rcode] = line.split('\t');
      const list = (s: string | undefined) => (s ? s.split(',') : []);
      return [Number(frame), { response: response === '1' || response === 'True', query: query ?? '', a: list(a), aaaa: list(aaaa), ptr: list(ptr), rcode: rcode ?? '' }];
    }));
  }, 30_000);

  it('reads every question and answer tshark reads, at the same frames', () => {
    // Eight questions (six over UDP, two over TCP), each answered.
    expect(transactions).toHaveLength(8);
    expect(tshark.size).toBe(16);
    for (const t of transactions) {
      const q = tshark.get(t.frame)!;
      const r = tshark.get(t.responseFrame!)!;
      expect(q.response).toBe(false);
      expect(r.response).toBe(true);
      expect(t.query).toBe(q.query.toLowerCase());
      expect(t.query).toBe(r.query.toLowerCase());
      expect(RCODE_NUMBERS[t.rcode!]).toBe(r.rcode);
      const data = (type: string) => t.answers.filter((a) => a.type === type).map((a) => a.data);
      expect(data('A')).toEqual(r.a);
      expect(data('AAAA')).toEqual(r.aaaa);
      expect(data('PTR')).toEqual(r.ptr);
    }
    expect(transactions.map((t) => `${t.qtype} ${t.query} ${t.rcode}`).sort()).toEqual([
      'A etcd-0.etcd.kube-system.svc.cluster.local NOERROR',
      'A kubernetes.default.svc.cluster.local NOERROR',
      'A kubernetes.default.svc.cluster.local NOERROR',
      'A metrics-server.kube-system.svc.cluster.local NOERROR',
      'A nothing.example.internal REFUSED',
      'AAAA etcd-0.etcd.kube-system.svc.cluster.local NOERROR',
      'PTR 21.0.0.10.in-addr.arpa NOERROR',
      'PTR 21.0.0.10.in-addr.arpa NOERROR',
    ]);
  });

  it('names the addresses in the database and knows the cluster\'s Service and pod addresses by their DNS names', () => {
    const db = new Database(join(dir, 'dns.db'), { readonly: true });
    try {
      expect(db.prepare(`SELECT address, name FROM v_dns_names ORDER BY address`).all()).toEqual([
        { address: '10.244.1.5', name: 'etcd-0.etcd.kube-system.svc.cluster.local' },
        { address: '10.96.0.1', name: 'kubernetes.default.svc.cluster.local' },
        { address: '10.96.0.20', name: 'metrics-server.kube-system.svc.cluster.local' },
        { address: 'fd00:10:244:1::5', name: 'etcd-0.etcd.kube-system.svc.cluster.local' },
      ]);
      expect(db.prepare(`SELECT ip, primary_role, name FROM endpoints WHERE ip NOT LIKE '127.%' ORDER BY ip`).all()).toEqual([
        { ip: '10.244.1.5', primary_role: 'pod', name: 'kube-system/etcd-0' },
        { ip: '10.96.0.1', primary_role: 'service', name: 'default/kubernetes' },
        { ip: '10.96.0.20', primary_role: 'service', name: 'kube-system/metrics-server' },
        { ip: 'fd00:10:244:1::5', primary_role: 'pod', name: 'kube-system/etcd-0' },
      ]);
      expect(db.prepare(`SELECT COUNT(*) FROM dns_queries`).pluck().get()).toBe(8);
    } finally {
      db.close();
    }
  });
});

/**
 * kube-proxy's DNAT done by the kernel as on a node: a "pod" connects to a Service address that a
 * "node" rewrites (iptables, as kube-proxy in iptables mode) to an API server's address and port.
 * Recorded as `tcpdump -i any` records it on a node, the connection shows twice: pod → Service
 * before the DNAT and pod → API server after it. planewatch must link the two, and nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issue, makeCa } from './lab-pki';
import { droppedByKernel, hasTool } from './loopback-capture';
import { canBuildLab, NetnsLab } from './netns-lab';
import type { JsonFlow } from './planewatch-json';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const SUBNET = '10.63.0';
const SERVICE = '10.96.0.1';
const EC = { ec: 'prime256v1' };

const canRun = canBuildLab() && ['tcpdump', 'openssl', 'curl', 'iptables', 'sysctl'].every(hasTool);

function analyze(pcap: string, extra: string[] = []): Promise<(JsonFlow & { natLink: string | null; natRepeat: boolean; midstream: boolean; packets: [number, number]; path: string; reasons: string[] })[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'analyze', pcap, '--json', '--quiet', ...extra], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (stdout.trim().startsWith('{')) resolve(JSON.parse(stdout).flows);
      else reject(new Error(`planewatch analyze failed: ${err?.message ?? ''} ${stderr}`));
    });
  });
}

describe.skipIf(!canRun)("a pod's connection to a Service address, before and after the node's DNAT", () => {
  let dir = '';
  let lab: NetnsLab | null = null;
  let flows: Awaited<ReturnType<typeof analyze>> = [];
  let report = '';
  let curls: { code: number | null; stderr: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-dnat-'));
    makeCa(dir, '/CN=kubernetes', EC);
    issue(dir, 'apiserver', '/CN=kube-apiserver', `subjectAltName=DNS:kubernetes.default.svc,IP:${SERVICE},IP:${SUBNET}.10\nextendedKeyUsage=serverAuth\n`, EC);
    lab = NetnsLab.create('nat', SUBNET, { node: 1, pod: 5, api: 10 });
    const node = lab.address('node');
    const must = async (host: string, cmd: string, args: string[]) => {
      const r = await lab!.run(host, cmd, args);
      if (r.code !== 0) throw new Error(`${host}: ${cmd} ${args.join(' ')}: ${r.stderr}`);
    };
    // The node forwards and rewrites the Service address, as kube-proxy's rules do.
    await must('node', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await must('node', 'sysctl', ['-qw', 'net.ipv4.conf.all.send_redirects=0']);
    await must('node', 'sysctl', ['-qw', 'net.ipv4.conf.eth0.send_redirects=0']);
    await must('node', 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-d', SERVICE, '-p', 'tcp', '--dport', '443', '-j', 'DNAT', '--to-destination', `${lab.address('api')}:6443`]);
    // The pod reaches the Service through the node; the API server answers it through the node too,
    // so that the node's connection tracking undoes the rewrite on the way back.
    await must('pod', 'ip', ['route', 'add', `${SERVICE}/32`, 'via', node]);
    await must('api', 'ip', ['route', 'add', `${lab.address('pod')}/32`, 'via', node]);
    const server = lab.start('api', 'openssl', ['s_server', '-accept', '6443', '-cert', join(dir, 'apiserver.crt'), '-key', join(dir, 'apiserver.key'), '-www', '-quiet']);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.exitCode).toBeNull();
    // A connection opened before the capture starts (a watch, say): it is picked up midstream. The
    // server (openssl s_server) takes one connection at a time: its request goes first, below.
    const early = lab.start('pod', 'openssl', ['s_client', '-connect', `${SERVICE}:443`, '-quiet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    early.stdout!.resume();
    early.stderr!.resume();
    await new Promise((r) => setTimeout(r, 700));
    expect(early.exitCode).toBeNull();
    const pcap = join(dir, 'any.pcap');
    const cap = await lab.capture(pcap, { anyInterface: true });
    const earlyExit = new Promise((r) => early.once('exit', r));
    early.stdin!.end('GET / HTTP/1.0\r\n\r\n');
    await Promise.race([earlyExit, new Promise((r) => setTimeout(r, 5000))]);
    curls = [];
    for (let i = 0; i < 3; i++) curls.push(await lab.run('pod', 'curl', ['-sk', '--max-time', '5', '-o', '/dev/null', `https://${SERVICE}:443/`]));
    report = await cap.stop();
    flows = await analyze(pcap);
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir !== '' && !process.env.PLANEWATCH_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  it('recorded every request whole', () => {
    for (const c of curls) expect(c.code, c.stderr).toBe(0);
    expect(droppedByKernel(report)).toBe(0);
  });

  it('pairs each connection to the Service with the same connection to the API server, and links nothing else', () => {
    const whole = flows.filter((f) => !f.midstream);
    const before = whole.filter((f) => f.server.ip === SERVICE && f.server.port === 443);
    const after = whole.filter((f) => f.server.ip === `${SUBNET}.10` && f.server.port === 6443);
    expect(before).toHaveLength(3);
    expect(after).toHaveLength(3);
    expect(whole).toHaveLength(6);
    for (const b of before) {
      const a = after.find((x) => x.client.port === b.client.port)!;
      expect(a, `${b.client.ip}:${b.client.port}`).toBeDefined();
      expect(b.natLink).toEqual(expect.any(String));
      expect(a.natLink).toBe(b.natLink);
      // One connection: the same packets on both sides of the rewrite (each copy counted once).
      expect(a.packets).toEqual(b.packets);
    }
    expect(new Set(whole.map((f) => f.natLink)).size).toBe(3);
  });

  it('links the same views when several analysis threads share the capture (both views keep the client port)', async () => {
    const shared = await analyze(join(dir, 'any.pcap'), ['--threads', '3']);
    const links = (fs: typeof flows) =>
      fs.map((f) => `${f.client.ip}:${f.client.port}>${f.server.ip}:${f.server.port} ${f.natRepeat} ${f.path}`).sort();
    expect(links(shared)).toEqual(links(flows));
    const pairs = (fs: typeof flows) => {
      const byLink = new Map<string, number[]>();
      for (const f of fs) if (f.natLink !== null) byLink.set(f.natLink, [...(byLink.get(f.natLink) ?? []), f.server.port]);
      return [...byLink.values()].map((ports) => ports.sort().join('+')).sort();
    };
    expect(pairs(shared)).toEqual(pairs(flows));
    expect(pairs(shared)).toHaveLength(4);
  });

  it('pairs the connection opened before the capture by the first packet both views recorded', () => {
    const picked = flows.filter((f) => f.midstream);
    expect(picked.map((f) => `${f.server.ip}:${f.server.port}`).sort()).toEqual([`${SUBNET}.10:6443`, `${SERVICE}:443`]);
    expect(picked[0]!.natLink).toEqual(expect.any(String));
    expect(picked[1]!.natLink).toBe(picked[0]!.natLink);
    expect(picked[0]!.client).toEqual(picked[1]!.client);
    expect(picked.filter((f) => f.natRepeat)).toHaveLength(1);
  });

  it('counts each connection once in the summary, and says so', async () => {
    expect(flows.filter((f) => f.natRepeat)).toHaveLength(4);
    expect(flows.filter((f) => f.natRepeat && !f.midstream).map((f) => f.server.port)).toEqual([6443, 6443, 6443]);
    const text = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [CLI, 'analyze', join(dir, 'any.pcap')], { encoding: 'utf8' }, (err, stdout, stderr) => {
        if (stdout.includes('Communication paths')) resolve(stdout);
        else reject(new Error(`planewatch analyze failed: ${err?.message ?? ''} ${stderr}`));
      });
    });
    expect(text).toMatch(/^ {2}pod-to-apiserver +4 /m);
    expect(text).toContain('(4 connections seen on both sides of a NAT counted once)');
  });

  it('knows the Service address from the rewrite, and both views as a pod reaching the API server through it', () => {
    // TLS 1.3 hides the certificate: without the link only the port hints at an API server behind
    // 6443, and nothing at all at the Service address.
    for (const f of flows) {
      expect(f.path, `${f.server.ip}:${f.server.port} ${f.reasons.join('; ')}`).toBe('pod-to-apiserver');
      const other = flows.find((o) => o.natLink === f.natLink && o.id !== f.id)!;
      expect(f.reasons.join('\n')).toContain(`the same connection is flow ${other.id}`);
    }
    for (const f of flows.filter((x) => x.server.ip === SERVICE)) {
      expect(f.reasons[0]).toMatch(new RegExp(`^${SERVICE.replace(/\./g, '\\.')}:443 is translated \\(DNAT\\) to the API server ${SUBNET.replace(/\./g, '\\.')}\\.10:6443`));
    }
  });
});

/**
 * Mirrored traffic as a cloud's overlay carries it, made by the Linux kernel's own VXLAN devices: two
 * hosts (VTEPs) joined by an overlay, over an IPv4 underlay (VNI 42) and an IPv6 one (VNI 43), HTTP
 * connections between them, recorded on the underlay as a mirror session would deliver it. The
 * kernel picks each packet's UDP source port from a hash of its inner headers, so the two directions
 * of one connection travel in two outer connections: planewatch must name both, in conn.log's
 * `tunnel_parents` and in tunnel.log, as tshark reads the packets that opened them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeekCut } from '../cli/zeek-cut';
import { hasTool, startCapture } from './loopback-capture';
import { canBuildLab, NetnsLab } from './netns-lab';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const SUBNET = '10.64.0';
const OVERLAYS = [
  { dev: 'vx4', vni: 42, underlay: (octet: number) => `${SUBNET}.${octet}`, inner: '10.99.4' },
  { dev: 'vx6', vni: 43, underlay: (octet: number) => `fd64::${octet}`, inner: '10.99.6' },
];
const PORT = 8080;

/** The kernel makes VXLAN devices (some containers' kernels lack the module). */
function kernelHasVxlan(): boolean {
  if (!canBuildLab()) return false;
  const ns = `pwvxprobe${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return false;
  try {
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'vxp', 'type', 'vxlan', 'id', '1', 'remote', '192.0.2.1', 'dstport', '4789']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const canRun = ['tcpdump', 'tshark', 'curl'].every(hasTool) && kernelHasVxlan();

/** A frame as tshark reads it: outer addresses and UDP ports, and the inner TCP connection. */
interface Frame { number: number; outer: string; inner: string }

function tsharkFrames(pcap: string): Frame[] {
  const out = execFileSync('tshark', ['-r', pcap, '-Y', 'tcp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;',
    '-e', 'frame.number', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'udp.srcport', '-e', 'udp.dstport',
    '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').map((line) => {
    const [number, ip4src, ip4dst, ip6src, ip6dst, usrc, udst, tsrc, tdst] = line.split('\t') as string[];
    const v4s = ip4src!.split(';');
    const v4d = ip4dst!.split(';');
    // Outer: the IPv6 underlay's addresses when there is one, else the first IPv4 header's; inner: the last IPv4 header's.
    const outerSrc = ip6src !== '' ? ip6src! : v4s[0]!;
    const outerDst = ip6dst !== '' ? ip6dst! : v4d[0]!;
    return {
      number: Number(number),
      outer: `${outerSrc} ${udst === '' ? '' : usrc} ${outerDst} ${udst}`,
      inner: `${v4s.at(-1)}:${tsrc}>${v4d.at(-1)}:${tdst}`,
    };
  });
}

function planewatch(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`planewatch ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!canRun)('VXLAN made by the kernel: both outer connections of each connection', () => {
  let dir = '';
  let lab: NetnsLab | null = null;
  let pcap = '';
  let conn: ReturnType<typeof zeekCut>;
  let tunnel: ReturnType<typeof zeekCut>;
  let flows: { uid: string; frame: number; client: string; server: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-vxlan-'));
    lab = NetnsLab.create('vx', SUBNET, { vtepa: 1, vtepb: 2 });
    const ipIn = (host: string, args: string[]) => execFileSync('ip', ['-n', lab!.host(host).netns, ...args]);
    for (const [host, octet, peer] of [['vtepa', 1, 2], ['vtepb', 2, 1]] as const) {
      ipIn(host, ['-6', 'addr', 'add', `fd64::${octet}/64`, 'dev', 'eth0', 'nodad']);
      for (const o of OVERLAYS) {
        ipIn(host, ['link', 'add', o.dev, 'type', 'vxlan', 'id', String(o.vni), 'local', o.underlay(octet), 'remote', o.underlay(peer),
          'dstport', '4789', 'dev', 'eth0']);
        ipIn(host, ['addr', 'add', `${o.inner}.${octet}/24`, 'dev', o.dev]);
        ipIn(host, ['link', 'set', o.dev, 'up']);
      }
    }
    const server = lab.start('vtepb', process.execPath, ['-e',
      `require('http').createServer((q, s) => s.end('overlay ok\\n')).listen(${PORT}, '0.0.0.0', () => console.log('listening'))`]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve());
      server.once('exit', () => reject(new Error('the HTTP server exited')));
    });
    pcap = join(dir, 'underlay.pcap');
    const cap = await startCapture(pcap, ['udp', 'port', '4789'], lab.interfaceName);
    for (const o of OVERLAYS) {
      for (let i = 0; i < 2; i++) {
        const r = await lab.run('vtepa', 'curl', ['-s', '--max-time', '5', `http://${o.inner}.2:${PORT}/`]);
        expect(r.stdout, r.stderr).toBe('overlay ok\n');
      }
    }
    await cap.stop();
    const db = join(dir, 'vx.db');
    planewatch(['analyze', pcap, '--db', db, '--quiet']);
    planewatch(['export', join(dir, 'logs'), '--db', db]);
    conn = zeekCut(readFileSync(join(dir, 'logs', 'conn.log'), 'utf8'));
    tunnel = zeekCut(readFileSync(join(dir, 'logs', 'tunnel.log'), 'utf8'));
    const d = new Database(db, { readonly: true });
    try {
      flows = (d.prepare(`SELECT flow_key AS uid, first_frame AS frame, client_ip || ':' || client_port AS client,
        server_ip || ':' || server_port AS server FROM flows WHERE server_port = ? ORDER BY id`).all(PORT)) as typeof flows;
    } finally {
      d.close();
    }
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the four HTTP connections inside the tunnels, each with two tunnel parents', () => {
    expect(flows).toHaveLength(4);
    for (const f of flows) {
      const parents = conn.rows.find((r) => r.uid === f.uid)!.tunnel_parents!.split(',');
      expect(parents, f.uid).toHaveLength(2);
      expect(parents[0]).not.toBe(parents[1]);
    }
  });

  it("names the outer connections tshark shows for each direction's first packet, over IPv4 and IPv6 underlays", () => {
    const frames = tsharkFrames(pcap);
    const logged = new Map(tunnel.rows.filter((r) => r.action === 'Tunnel::DISCOVER')
      .map((r) => [r.uid!, { outer: `${r['id.orig_h']} ${r['id.orig_p']} ${r['id.resp_h']} ${r['id.resp_p']}`, type: r.tunnel_type, ids: r.planewatch_tunnel_ids }]));
    const underlays = new Set<string>();
    for (const f of flows) {
      const up = `${f.client}>${f.server}`;
      const down = `${f.server}>${f.client}`;
      const firstUp = frames.find((fr) => fr.inner === up)!;
      const firstDown = frames.find((fr) => fr.inner === down)!;
      const [a, b] = conn.rows.find((r) => r.uid === f.uid)!.tunnel_parents!.split(',').map((uid) => logged.get(uid)!);
      expect([a!.outer, b!.outer]).toEqual([firstUp.outer, firstDown.outer]);
      const vni = f.client.startsWith('10.99.6.') ? '43' : '42';
      for (const t of [a!, b!]) expect(t).toMatchObject({ type: 'Tunnel::VXLAN', ids: vni });
      // The kernel's source ports: from its ephemeral range, to the VXLAN port.
      for (const o of [firstUp.outer, firstDown.outer]) {
        const [, sport, , dport] = o.split(' ');
        expect(dport).toBe('4789');
        expect(Number(sport)).toBeGreaterThan(1023);
      }
      underlays.add(firstUp.outer.includes(':') ? 'ipv6' : 'ipv4');
    }
    expect([...underlays].sort()).toEqual(['ipv4', 'ipv6']);
  });

  it('shows both outer connections in a flow\'s details, IPv6 ones in brackets', () => {
    const v6 = flows.find((f) => f.client.startsWith('10.99.6.'))!;
    const shown = planewatch(['show', v6.uid, '--db', join(dir, 'vx.db')]);
    expect(shown).toMatch(/tunnel VXLAN \[fd64::1\]:\d+ → \[fd64::2\]:4789, VNI 43; the other way \[fd64::2\]:\d+ → \[fd64::1\]:4789/);
  });
});

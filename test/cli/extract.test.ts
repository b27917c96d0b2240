import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/ingest/read-capture';
import type { FlowRecord } from '../../src/model/flow-record';
import { analyzeCapture } from '../../src/pipeline/analyze-file';
import { buildFrame, buildPcap, pcapOfFrames, TCP } from '../pipeline/pcap-builder';
import { ethernet, ipv4, udp, vxlan } from '../decode/builders';
import { captureFileWriter } from '../../src/export/frame-writers';
import { FdSink } from '../../src/export/byte-sink';
import { copyFrames } from '../../src/export/flow-packets';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

/**
 * `planewatch extract`: a stored flow's packets written back out of its capture. What is written must
 * be the flow again — analysed alone, the output gives one flow with the stored flow's community id,
 * packets, bytes and history — and byte for byte the frames of the original capture.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-extract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd, encoding: 'buffer' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

interface StoredFlow {
  key: string;
  community_id: string;
  packets: number;
  bytes: number;
  history: string;
  first_frame: number;
  last_frame: number;
}

function storedFlows(db: string): StoredFlow[] {
  const d = new Database(db, { readonly: true });
  try {
    return d
      .prepare(`SELECT flow_key AS key, community_id, packets_client + packets_server AS packets, bytes_client + bytes_server AS bytes,
                  history, first_frame, last_frame FROM flows ORDER BY id`)
      .all() as StoredFlow[];
  } finally {
    d.close();
  }
}

/** Frames of a capture as [number, link type, hex bytes]. */
async function framesOf(file: string): Promise<{ frames: [number, number, string][]; keyLog: string }> {
  const frames: [number, number, string][] = [];
  const info = await readCapture(file, (f) => frames.push([f.number, f.linkType, Buffer.from(f.buf.subarray(f.start, f.end)).toString('hex')]));
  expect(info.error).toBeNull();
  return { frames, keyLog: info.keyLog };
}

async function flowsOf(file: string): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  const r = await analyzeCapture(file, { onFlowEnd: (f) => out.push(f) });
  expect(r.info.error).toBeNull();
  return out;
}

describe('planewatch extract', () => {
  const samples = [
    'kubelet-logs-exec-self-signed.pcap',
    'kubelet-logs-exec-self-signed.vxlan.pcap',
    'kubelet-logs-exec-self-signed.sll2.pcap',
    'kubelet-logs-exec-self-signed.two-interfaces.pcapng',
    'apiserver-proxy-http.pcap',
  ];

  it.each(samples)('%s: each flow written out is that flow again, its frames byte for byte', async (sample) => {
    const source = join(SAMPLES, sample);
    const db = join(dir, `${sample}.db`);
    expect(cli(['analyze', source, '--db', db, '--quiet']).code).toBe(0);
    const original = (await framesOf(source)).frames;
    const flows = storedFlows(db);
    expect(flows.length).toBeGreaterThan(0);
    for (const f of flows) {
      for (const ext of ['pcapng', 'pcap']) {
        const out = join(dir, `${sample}.${f.key}.${ext}`);
        const r = cli(['extract', f.key, '--db', db, '-o', out]);
        if (ext === 'pcap' && new Set(original.map(([, lt]) => lt)).size > 1) {
          // One connection seen on an Ethernet and a raw-IP interface: only pcapng holds both.
          expect(r.code).toBe(4);
          expect(r.stderr).toMatch(/frames of link types 1 and 101: a pcap file holds one; write pcapng instead/);
          continue;
        }
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`^${f.packets} packets of 1 flow written to .* \\(${ext}\\)`));
        const again = await flowsOf(out);
        expect(again.map((x) => [x.communityId, x.packets[0] + x.packets[1], x.bytes[0] + x.bytes[1], x.history])).toEqual([
          [f.community_id, f.packets, f.bytes, f.history],
        ]);
        // The same frames as in the capture, in its order, headers (tunnel, VLAN, cooked) and all.
        const written = (await framesOf(out)).frames.map(([, lt, hex]) => [lt, hex]);
        const wanted = new Set(written.map(([, hex]) => hex));
        const expected = original.filter(([n, , hex]) => n >= f.first_frame && n <= f.last_frame && wanted.has(hex)).map(([, lt, hex]) => [lt, hex]);
        expect(written).toEqual(expected);
      }
    }
  });

  it('brings the IP fragments of its packets, in their place, and not those of other flows between the same hosts', async () => {
    const ts = 1_700_000_000;
    // One UDP datagram of the flow 10.0.0.1:5000 → 10.0.0.2:53 in three fragments, another datagram
    // between the same hosts (other ports, other IP id) in two, and a packet of an unrelated flow.
    const datagram = udp(5000, 53, Buffer.alloc(40, 0x61));
    const other = udp(6000, 53, Buffer.alloc(24, 0x62));
    const frag = (id: number, body: Uint8Array, off: number, len: number, more: boolean) =>
      ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17, id, fragmentOffset: off, moreFragments: more }, body.subarray(off, off + len)));
    const frames = [
      buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5000, dport: 53, proto: 'udp', payload: 'query' }),
      frag(7, datagram, 0, 16, true),
      frag(9, other, 0, 16, true),
      buildFrame({ src: '10.0.0.9', dst: '10.0.0.8', sport: 7000, dport: 80, proto: 'tcp', flags: TCP.SYN }),
      frag(7, datagram, 16, 16, true),
      frag(9, other, 16, other.length - 16, false),
      frag(7, datagram, 32, datagram.length - 32, false),
      buildFrame({ src: '10.0.0.2', dst: '10.0.0.1', sport: 53, dport: 5000, proto: 'udp', payload: 'answer' }),
    ].map((data, i) => ({ data, ts: ts + i * 0.01 }));
    const source = join(dir, 'fragments.pcap');
    writeFileSync(source, pcapOfFrames(frames));
    const db = join(dir, 'fragments.db');
    expect(cli(['analyze', source, '--db', db, '--quiet']).code).toBe(0);
    const flow = storedFlows(db).find((f) => f.packets === 3)!;
    expect(flow).toBeDefined();
    const out = join(dir, 'fragments-out.pcap');
    const r = cli(['extract', flow.key, '--db', db, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const written = (await framesOf(out)).frames.map(([, , hex]) => hex);
    const hex = (i: number) => Buffer.from(frames[i]!.data).toString('hex');
    expect(written).toEqual([0, 1, 4, 6, 7].map(hex));
    const again = await flowsOf(out);
    expect(again).toHaveLength(1);
    expect(again[0]!.packets[0] + again[0]!.packets[1]).toBe(3);
  });

  it("brings a tunnel's outer fragments, which carry no inner addresses, with the inner packet they make", async () => {
    const ts = 1_700_000_000;
    // VXLAN between hosts 192.168.0.1 and .2 carries 10.0.0.1:5000 → 10.0.0.2:53; one outer datagram is
    // fragmented in two. Another outer datagram between the same hosts, of another inner flow, too.
    const inner = (sport: number, text: string) => ethernet(0x0800, ipv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 17 }, udp(sport, 53, Buffer.from(text))));
    const outer = (innerFrame: Uint8Array) => udp(40000, 4789, vxlan(42, innerFrame));
    const mine = outer(inner(5000, 'x'.repeat(60)));
    const theirs = outer(inner(6000, 'y'.repeat(60)));
    const frag = (id: number, body: Uint8Array, off: number, len: number, more: boolean) =>
      ethernet(0x0800, ipv4({ src: '192.168.0.1', dst: '192.168.0.2', protocol: 17, id, fragmentOffset: off, moreFragments: more }, body.subarray(off, off + len)));
    const frames = [
      frag(100, mine, 0, 48, true),
      frag(101, theirs, 0, 48, true),
      frag(101, theirs, 48, theirs.length - 48, false),
      frag(100, mine, 48, mine.length - 48, false),
      ethernet(0x0800, ipv4({ src: '192.168.0.2', dst: '192.168.0.1', protocol: 17 }, udp(40001, 4789, vxlan(42, ethernet(0x0800,
        ipv4({ src: '10.0.0.2', dst: '10.0.0.1', protocol: 17 }, udp(53, 5000, Buffer.from('answer')))))))),
    ].map((data, i) => ({ data, ts: ts + i * 0.01 }));
    const source = join(dir, 'tunnel-fragments.pcap');
    writeFileSync(source, pcapOfFrames(frames));
    const db = join(dir, 'tunnel-fragments.db');
    expect(cli(['analyze', source, '--db', db, '--quiet']).code).toBe(0);
    const flow = storedFlows(db).find((f) => f.packets === 2)!;
    expect(flow).toBeDefined();
    const out = join(dir, 'tunnel-fragments-out.pcap');
    expect(cli(['extract', flow.key, '--db', db, '-o', out]).code).toBe(0);
    const written = (await framesOf(out)).frames.map(([, , hex]) => hex);
    expect(written).toEqual([0, 3, 4].map((i) => Buffer.from(frames[i]!.data).toString('hex')));
  });

  it('a finding\'s flows at once, into pcapng with a key log embedded; a pipe gets the capture on standard output', async () => {
    const source = join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap');
    const db = join(dir, 'finding.db');
    expect(cli(['analyze', source, '--db', db, '--quiet']).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const withRule = d
      .prepare(`SELECT packets_client + packets_server FROM flows WHERE id IN (SELECT flow_id FROM findings WHERE rule = 'kubelet-tls-unverified')`)
      .pluck()
      .all() as number[];
    d.close();
    expect(withRule.length).toBeGreaterThan(1);
    const keys = join(dir, 'some.keys');
    writeFileSync(keys, `CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`);
    const out = join(dir, 'finding.pcapng');
    const r = cli(['extract', '--finding', 'kubelet-tls-unverified', '--db', db, '-o', out, '--keylog', keys]);
    expect(r.code, r.stderr).toBe(0);
    const read = await framesOf(out);
    expect(read.frames).toHaveLength(withRule.reduce((a, b) => a + b, 0));
    expect(read.keyLog).toContain('CLIENT_RANDOM ' + 'ab'.repeat(32));
    expect((await flowsOf(out)).length).toBe(withRule.length);

    // `findings` says how to get each finding's packets, and the command it gives works as given.
    const listed = cli(['findings', '--db', db, '--rule', 'kubelet-tls-unverified', '--limit', '1']);
    const hint = /^ {3}packets: planewatch (extract \S+ --db \S+ -o \S+)$/m.exec(listed.stdout.toString())!;
    expect(hint).not.toBeNull();
    const given = cli(hint[1]!.split(' '));
    expect(given.code, given.stderr).toBe(0);
    expect(given.stderr).toMatch(/packets of 1 flow written to c1f\d+\.pcapng/);
    // And the commands for its details and its conversation, which work as given too.
    const more = /^ {3}details: planewatch (show \S+ --db \S+) · conversation: planewatch (follow \S+ --db \S+)$/m.exec(listed.stdout.toString())!;
    expect(more).not.toBeNull();
    expect(cli(more[1]!.split(' ')).stdout.toString()).toMatch(/^Flow c1f\d+: /);
    expect(cli(more[2]!.split(' ')).stdout.toString()).toMatch(/^Follow flow c1f\d+: /);
    const piped = cli(['extract', '--finding', 'kubelet-tls-unverified', '--db', db, '--keylog', keys]);
    expect(piped.code).toBe(0);
    expect(piped.stdout.readUInt32LE(0)).toBe(0x0a0d0d0a); // a pcapng Section Header Block
    expect(piped.stdout.equals(readFileSync(out))).toBe(true);

    // Accepted as a risk, the finding is still raised: its flows' packets are still its evidence.
    const acceptFile = join(dir, 'accept-kubelets.yaml');
    writeFileSync(acceptFile, '- rule: kubelet-tls-unverified\n  reason: lab kubelets, self-signed until the CSR approver is deployed\n');
    expect(cli(['reclassify', '--db', db, '--accept', acceptFile]).code).toBe(0);
    expect(cli(['findings', '--db', db, '--rule', 'kubelet-tls-unverified']).stdout.toString()).not.toMatch(/kubelet-tls-unverified/);
    const accepted = cli(['extract', '--finding', 'kubelet-tls-unverified', '--db', db, '--keylog', keys]);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout.equals(readFileSync(out))).toBe(true);
  });

  it("embeds the capture's own TLS secrets of the extracted connections, and no other session's", async () => {
    // The sample with its four sessions' key log in a Decryption Secrets Block ahead of the packets.
    const sample = join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap');
    const keyLog = readFileSync(join(ROOT, 'captures/keylogs/kubelet-logs-exec-self-signed.keys'), 'latin1');
    const source = join(dir, 'four-sessions.pcapng');
    const frames: number[] = [];
    await readCapture(sample, (f) => void frames.push(f.number));
    const writer = captureFileWriter('pcapng', FdSink.open(source), [keyLog]);
    writer.source(0, sample);
    await copyFrames(sample, frames, writer);
    writer.close();
    const db = join(dir, 'four-sessions.db');
    expect(cli(['analyze', source, '--db', db, '--quiet']).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const tlsFlows = d.prepare(`SELECT f.flow_key FROM flows f JOIN tls_sessions t ON t.flow_id = f.id ORDER BY f.id`).pluck().all() as string[];
    d.close();
    expect(tlsFlows.length).toBe(4);
    const randomsOf = (text: string) => new Set(text.split('\n').filter((l) => l !== '').map((l) => l.split(' ')[1]));
    const seen = new Set<string>();
    for (const key of tlsFlows) {
      const out = join(dir, `four-sessions.${key}.pcapng`);
      const r = cli(['extract', key, '--db', db, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      const embedded = (await framesOf(out)).keyLog;
      // One session's lines, taken from the capture's key log as they were.
      const randoms = randomsOf(embedded);
      expect(randoms.size).toBe(1);
      for (const line of embedded.trim().split('\n')) expect(keyLog).toContain(line);
      seen.add([...randoms][0]!);
      if (hasTshark) {
        // The extract decrypts on its own in Wireshark: its HTTP requests are readable.
        const t = spawnSync('tshark', ['-r', out, '-Y', 'http.request', '-T', 'fields', '-e', 'http.request.uri'], { encoding: 'utf8' });
        expect(t.stdout.trim()).toMatch(/^\/(exec|containerLogs|run|attach|portForward|logs|pods|stats)/);
      }
    }
    // Each connection's own session: four extracts, the four sessions of the key log.
    expect(seen).toEqual(randomsOf(keyLog));
    // A pcap cannot carry them: the extract says so.
    const r = cli(['extract', tlsFlows[0]!, '--db', db, '-o', join(dir, 'four-sessions.pcap')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('holds the TLS secrets of these connections; pcap cannot carry them: write pcapng to keep them');
  });

  it('finds a capture moved along with the database, takes --capture, and says when the capture is not the flow\'s', () => {
    const moved = join(dir, 'moved');
    mkdirSync(moved);
    copyFileSync(join(SAMPLES, 'ssh-tunnel.pcap'), join(moved, 'ssh.pcap'));
    // Analysed with a path relative to where the command ran.
    expect(cli(['analyze', 'ssh.pcap', '--db', 'ssh.db', '--quiet'], moved).code).toBe(0);
    const key = storedFlows(join(moved, 'ssh.db'))[0]!.key;
    const ok = cli(['extract', key, '--db', join(moved, 'ssh.db'), '-o', join(dir, 'ssh-out.pcap')]);
    expect(ok.code, ok.stderr).toBe(0);

    const wrong = cli(['extract', key, '--db', join(moved, 'ssh.db'), '-o', join(dir, 'ssh-wrong.pcap'), '--capture', join(SAMPLES, 'etcd-peer.pcap')]);
    expect(wrong.code).toBe(0);
    expect(wrong.stderr).toMatch(new RegExp(`${key}: 0 of its \\d+ packets found in .*etcd-peer.pcap: is it the capture the flow came from\\?`));

    rmSync(join(moved, 'ssh.pcap'));
    const gone = cli(['extract', key, '--db', join(moved, 'ssh.db'), '-o', join(dir, 'ssh-gone.pcap')]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toMatch(/the capture ssh.pcap is not there .* give it with --capture FILE/);
  });

  it('refuses what it cannot do, with a reason and a usage exit code', () => {
    const db = join(dir, 'usage.db');
    const pcap = buildPcap([{ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 6443, flags: TCP.SYN }]);
    const fromStdin = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', '-', '--db', db, '--quiet'], { input: pcap });
    expect(fromStdin.status).toBe(0);
    const key = storedFlows(db)[0]!.key;
    const stdin = cli(['extract', key, '--db', db, '-o', join(dir, 'x.pcap')]);
    expect(stdin.code).toBe(4);
    expect(stdin.stderr).toMatch(/read from standard input: give the file it came from with --capture FILE/);
    const unknown = cli(['extract', 'c9f9', '--db', db, '-o', join(dir, 'x.pcap')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no flow c9f9 in the database/);
    expect(cli(['extract', '--db', db]).code).toBe(2);
    expect(cli(['extract', key, '--db', db, '--format', 'erf', '-o', join(dir, 'x.erf')]).code).toBe(2);
    expect(cli(['extract', key, '--db', db, '-o', join(dir, 'x.pcap'), '--keylog', join(dir, 'some.keys')]).stderr).toMatch(/pcapng only/);
  });

  it('several link types cannot share a pcap file: pcapng holds them', () => {
    const db = join(dir, 'two-links.db');
    expect(cli(['analyze', join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'), join(SAMPLES, 'kubelet-logs-exec-self-signed.sll2.pcap'), '--db', db, '--quiet']).code).toBe(0);
    const flows = storedFlows(db);
    const keys = [flows.find((f) => f.key.startsWith('c1'))!.key, flows.find((f) => f.key.startsWith('c2'))!.key];
    const pcap = cli(['extract', ...keys, '--db', db, '-o', join(dir, 'mixed.pcap')]);
    expect(pcap.code).toBe(4);
    expect(pcap.stderr).toMatch(/a pcap file holds one; write pcapng instead/);
    expect(existsSync(join(dir, 'mixed.pcap'))).toBe(false); // nothing half written left behind
    const ng = cli(['extract', ...keys, '--db', db, '-o', join(dir, 'mixed.pcapng')]);
    expect(ng.code, ng.stderr).toBe(0);
  });
});

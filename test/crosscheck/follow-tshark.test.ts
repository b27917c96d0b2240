/**
 * `follow` against tshark's Follow Stream (`-z follow,tcp,raw` and, with the key log,
 * `-z follow,tls,raw`): for every TCP connection of every sample, the bytes each side sent — the
 * reassembled payload, or what TLS decrypts to — must be tshark's, byte for byte. Whatever tshark
 * decrypts, planewatch must decrypt too (its layer is then 'tls').
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { followFlow, type FollowLayer } from '../../src/export/follow-stream';
import type { FlowRecord } from '../../src/model/flow-record';
import { analyzeCapture } from '../../src/pipeline/analyze-file';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { loadKeyLogFiles } from '../../dissectors/tls/decrypt/key-log';
import { hasTshark } from '../captures/tshark';
import { Http2FollowRenderer } from '../../src/report/follow-http2';
import { followRenderer } from '../../src/report/follow-text';

const execFileAsync = promisify(execFile);
const CAPTURES = join(import.meta.dirname, '../../captures');
const SAMPLES = join(CAPTURES, 'samples');
const sampleFiles = readdirSync(SAMPLES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

/** The key log of a sample: `captures/keylogs/<name>.keys` for every variant of it (a .dsb.pcapng carries its own too). */
function keyFileOf(sample: string): string | null {
  const base = sample.replace(/\.pcap(ng)?$/, '').split('.')[0]!;
  const f = join(CAPTURES, 'keylogs', `${base}.keys`);
  return existsSync(f) ? f : null;
}

const endpoint = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

interface Followed {
  /** The connection asked for, from tshark's Filter line: `ip:port,ip:port` as in the -z option. */
  pair: string;
  node0: string;
  /** Bytes from node 0 (lines without a tab) and node 1 (lines with one). */
  bytes: [Buffer, Buffer];
}

const FILTER = /^Filter: \(\(ipv?6?\.src eq (\S+) and (?:tcp|udp)\.srcport eq (\d+)\) and \(ipv?6?\.dst eq (\S+) and (?:tcp|udp)\.dstport eq (\d+)\)\)/;

/** Parses tshark's raw Follow blocks (several -z options print them in an order of tshark's own). */
function parseFollow(out: string): Followed[] {
  const blocks: Followed[] = [];
  let cur: { pair: string; node0: string; parts: [string[], string[]] } | null = null;
  for (const line of out.split('\n')) {
    if (line.startsWith('Follow: ')) cur = { pair: '', node0: '', parts: [[], []] };
    else if (cur === null) continue;
    else if (line.startsWith('Filter: ')) {
      const m = FILTER.exec(line);
      if (m !== null) cur.pair = `${endpoint(m[1]!, Number(m[2]))},${endpoint(m[3]!, Number(m[4]))}`;
    } else if (line.startsWith('Node 0: ')) cur.node0 = line.slice(8).trim();
    else if (line.startsWith('Node 1: ')) continue;
    else if (line.startsWith('=====')) {
      blocks.push({ pair: cur.pair, node0: cur.node0, bytes: [Buffer.from(cur.parts[0].join(''), 'hex'), Buffer.from(cur.parts[1].join(''), 'hex')] });
      cur = null;
    } else if (line.startsWith('\t')) cur.parts[1].push(line.trim());
    else if (line.trim() !== '') cur.parts[0].push(line.trim());
  }
  return blocks;
}

/** [client bytes, server bytes] from a tshark block (Node 0 tells which side is which). */
function sides(b: Followed, f: FlowRecord): [Buffer, Buffer] | null {
  if (b.bytes[0].length === 0 && b.bytes[1].length === 0) return [b.bytes[0], b.bytes[1]];
  if (b.node0 === endpoint(f.client.ip, f.client.port)) return [b.bytes[0], b.bytes[1]];
  if (b.node0 === endpoint(f.server.ip, f.server.port)) return [b.bytes[1], b.bytes[0]];
  return null;
}

const pairOf = (f: FlowRecord) => `${endpoint(f.client.ip, f.client.port)},${endpoint(f.server.ip, f.server.port)}`;

/** tshark's Follow of each flow, by `pairOf`. */
async function tsharkFollow(file: string, keyFile: string | null, flows: FlowRecord[], proto: 'tcp' | 'tls' | 'udp'): Promise<Map<string, Followed>> {
  const z = flows.flatMap((f) => ['-z', `follow,${proto},raw,${pairOf(f)}`]);
  const opts = keyFile === null ? [] : ['-o', `tls.keylog_file:${keyFile}`];
  const { stdout } = await execFileAsync('tshark', ['-r', file, ...opts, '-q', ...z], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return new Map(parseFollow(stdout).map((b) => [b.pair, b]));
}

async function ours(file: string, keyFile: string | null, f: FlowRecord): Promise<{ layer: FollowLayer; bytes: [Buffer, Buffer]; gaps: number }> {
  const parts: [Buffer[], Buffer[]] = [[], []];
  let gaps = 0;
  const r = await followFlow(file, { ...f, transport: f.transport, clientIp: f.client.ip, clientPort: f.client.port, serverIp: f.server.ip, serverPort: f.server.port }, {
    layer: 'auto',
    keyLog: loadKeyLogFiles(keyFile === null ? [] : [keyFile]),
    sink: { data: (c) => parts[c.dir].push(Buffer.from(c.data)), gap: () => void gaps++ },
  });
  expect(r.error).toBeNull();
  return { layer: r.layer, bytes: [Buffer.concat(parts[0]), Buffer.concat(parts[1])], gaps };
}

describe.skipIf(!hasTshark)('follow agrees with tshark on every sample connection', () => {
  const layers = { tcp: 0, tls: 0, udp: 0 };
  afterAll(() => {
    // Both views were compared: decrypted TLS and plain TCP payloads (encrypted records included).
    expect(layers.tls).toBeGreaterThan(20);
    expect(layers.tcp).toBeGreaterThan(20);
    expect(layers.udp).toBeGreaterThan(0);
  });
  // Samples with a key log file are followed with it and without it (their TLS then stays encrypted).
  const cases = sampleFiles.flatMap((f) => [
    [f, 'with its keys'] as const,
    ...(keyFileOf(f) !== null && !f.endsWith('.pcapng') ? [[f, 'without keys'] as const] : []),
  ]);
  it.each(cases)('%s %s', async (sample, keys) => {
    const file = join(SAMPLES, sample);
    const keyFile = keys === 'with its keys' ? keyFileOf(sample) : null;
    const keyLog = loadKeyLogFiles(keyFile === null ? [] : [keyFile]);
    const flows: FlowRecord[] = [];
    await analyzeCapture(file, { onFlowEnd: (f) => flows.push(f), sessionFactory: keyLogSessionFactory(keyLog), keyLog });
    const tcp = flows.filter((f) => f.transport === 'tcp' && f.payloadBytes[0] + f.payloadBytes[1] > 0);
    expect(tcp.length).toBeGreaterThan(0);
    const [plain, decrypted] = await Promise.all([tsharkFollow(file, keyFile, tcp, 'tcp'), tsharkFollow(file, keyFile, tcp, 'tls')]);
    // One connection per tuple in every sample: each is asked for, and answered, once.
    expect(new Set(tcp.map(pairOf)).size).toBe(tcp.length);
    expect([...plain.keys()].sort()).toEqual(tcp.map(pairOf).sort());
    expect([...decrypted.keys()].sort()).toEqual(tcp.map(pairOf).sort());
    for (const f of tcp) {
      const mine = await ours(file, keyFile, f);
      const tlsSides = sides(decrypted.get(pairOf(f))!, f);
      const tsharkDecrypted = tlsSides !== null && tlsSides[0].length + tlsSides[1].length > 0;
      const want = tsharkDecrypted ? tlsSides : sides(plain.get(pairOf(f))!, f);
      const label = `${sample} ${f.client.ip}:${f.client.port} → ${f.server.ip}:${f.server.port}`;
      expect(want, `${label}: tshark's Node 0 is neither side`).not.toBeNull();
      expect(mine.layer, `${label}: tshark decrypted it`).toBe(tsharkDecrypted ? 'tls' : 'tcp');
      expect(mine.gaps, label).toBe(0);
      layers[mine.layer]++;
      expect(mine.bytes[0].toString('hex'), `${label} client`).toBe(want![0].toString('hex'));
      expect(mine.bytes[1].toString('hex'), `${label} server`).toBe(want![1].toString('hex'));
      // The bytes were there to compare: a connection both followed as empty would prove nothing.
      expect(mine.bytes[0].length + mine.bytes[1].length, label).toBeGreaterThan(0);
    }
    // UDP flows (DNS): Follow UDP Stream, datagram payloads in order per side.
    const udp = flows.filter((f) => f.transport === 'udp' && f.payloadBytes[0] + f.payloadBytes[1] > 0);
    if (udp.length === 0) return;
    const followedUdp = await tsharkFollow(file, null, udp, 'udp');
    for (const f of udp) {
      const mine = await ours(file, null, f);
      const want = sides(followedUdp.get(pairOf(f))!, f);
      expect(mine.layer).toBe('udp');
      layers.udp++;
      expect(mine.bytes[0].toString('hex'), `${sample} udp ${pairOf(f)} client`).toBe(want![0].toString('hex'));
      expect(mine.bytes[1].toString('hex'), `${sample} udp ${pairOf(f)} server`).toBe(want![1].toString('hex'));
    }
  }, 60_000);
});

/** Header blocks in `follow --format http2` output: the frame its line names, the stream, the fields. */
function ourHeaderBlocks(text: string): string[] {
  const out: string[] = [];
  let cur: { frame: number; stream: number; fields: string[] } | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('──── ')) {
      if (cur !== null) out.push(`${cur.frame}|${cur.stream}|${cur.fields.join('\n')}`);
      const m = /frame (\d+) {2}\S+ {2}(?:HEADERS|PUSH_PROMISE) stream (\d+)/.exec(line);
      cur = m === null ? null : { frame: Number(m[1]), stream: Number(m[2]), fields: [] };
    } else if (cur !== null && line.startsWith('==== ')) {
      out.push(`${cur.frame}|${cur.stream}|${cur.fields.join('\n')}`);
      cur = null;
    } else if (cur !== null && line !== '') cur.fields.push(line);
  }
  return out.sort();
}

describe.skipIf(!hasTshark)('follow --format http2 decodes the header blocks tshark decodes', () => {
  const h2Samples = sampleFiles.filter((f) => !/\.(sll2|vlan|vxlan|two-interfaces)\./.test(f));
  it.each(h2Samples)('%s', async (sample) => {
    const file = join(SAMPLES, sample);
    const keyFile = keyFileOf(sample);
    const keyLog = loadKeyLogFiles(keyFile === null ? [] : [keyFile]);
    const flows: FlowRecord[] = [];
    await analyzeCapture(file, { onFlowEnd: (f) => flows.push(f), sessionFactory: keyLogSessionFactory(keyLog), keyLog });
    const h2 = flows.filter((f) => f.transport === 'tcp' && f.http.some((h) => h.version === '2'));
    for (const f of h2) {
      let text = '';
      const write = (s: string | Uint8Array) => void (text += typeof s === 'string' ? s : Buffer.from(s).toString('latin1'));
      const r = new Http2FollowRenderer(write, false, followRenderer('ascii', write, { colour: false, side: null, warn: () => {} }));
      const result = await followFlow(file, { transport: 'tcp', clientIp: f.client.ip, clientPort: f.client.port, serverIp: f.server.ip, serverPort: f.server.port, firstFrame: f.firstFrame, lastFrame: f.lastFrame }, {
        layer: 'auto', keyLog: loadKeyLogFiles(keyFile === null ? [] : [keyFile]), sink: r,
      });
      r.end(result);
      expect(text).not.toContain('not HTTP/2');
      const filter = `tcp.port == ${f.client.port} && ip.addr == ${f.client.ip} && ip.addr == ${f.server.ip} && (http2.type == 1 || http2.type == 5)`;
      const opts = keyFile === null ? [] : ['-o', `tls.keylog_file:${keyFile}`];
      const { stdout } = await execFileAsync('tshark', ['-r', file, ...opts, ...(f.app === 'tls' ? [] : ['-d', `tcp.port==${f.server.port},http2`]), '-Y', filter, '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=\u0001',
        '-e', 'frame.number', '-e', 'http2.streamid', '-e', 'http2.type', '-e', 'http2.header.name', '-e', 'http2.header.value'], { encoding: 'utf8' });
      const theirs: string[] = [];
      for (const line of stdout.split('\n').filter((l) => l !== '')) {
        const [frame, streams, types, names, values] = line.split('|');
        // A packet may carry several frames: tshark lists each frame's stream and type, and the fields of all.
        const fieldNames = names!.split('\u0001');
        const fieldValues = values!.split('\u0001');
        const fields = fieldNames.map((n, i) => `${n}: ${fieldValues[i]}`);
        const headerStreams = streams!.split('\u0001').filter((_, i) => ['1', '5'].includes(types!.split('\u0001')[i]!));
        expect(new Set(headerStreams).size, `${sample} frame ${frame}: one header block per packet in the samples`).toBe(1);
        theirs.push(`${frame}|${headerStreams[0]}|${fields.join('\n')}`);
      }
      expect(theirs.length, `${sample} ${f.client.port}`).toBeGreaterThan(0);
      expect(ourHeaderBlocks(text), `${sample} ${f.client.port}`).toEqual(theirs.sort());
    }
  }, 60_000);
});

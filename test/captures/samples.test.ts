/**
 * The committed samples: truth files cover every path and finding id of DESIGN.md §3, and tshark (an
 * independent implementation) opens every sample cleanly and sees what the truth files state.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FINDING_IDS, PATH_IDS } from '../../captures/generate/ids.js';
import type { TruthFile } from '../../captures/generate/truth.js';
import { hasTshark, tsharkFields, tsharkFieldsAsync } from './tshark.js';

const root = join(import.meta.dirname, '../../captures');
const dir = join(root, 'samples');
const truthFiles = readdirSync(dir).filter((f) => f.endsWith('.truth.json')).sort();
const truths: [string, TruthFile][] = truthFiles.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as TruthFile]);
const captureFiles = readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

const TLS_VERSION: Record<string, string> = { '0x0301': '1.0', '0x0302': '1.1', '0x0303': '1.2', '0x0304': '1.3' };
const port = (endpoint: string) => endpoint.slice(endpoint.lastIndexOf(':') + 1);

describe('truth files', () => {
  it('exist for every capture and name an existing capture', () => {
    expect(truths.map(([, t]) => t.capture).sort()).toEqual(captureFiles);
  });

  it('cover every path id and every finding id', () => {
    const paths = new Set(truths.flatMap(([, t]) => t.connections.map((c) => c.path)));
    const findings = new Set(truths.flatMap(([, t]) => t.connections.flatMap((c) => c.findings)));
    expect([...PATH_IDS].filter((p) => !paths.has(p))).toEqual([]);
    expect([...FINDING_IDS].filter((f) => !findings.has(f))).toEqual([]);
  });

  it('use only known ids and the detail shapes of DESIGN.md', () => {
    for (const [, t] of truths) {
      for (const c of t.connections) {
        expect(PATH_IDS).toContain(c.path);
        for (const f of c.findings) expect(FINDING_IDS).toContain(f);
        if (c.path === 'apiserver-to-kubelet') expect(['logs', 'exec', 'attach', 'portforward', 'run', 'other', 'unknown']).toContain(c.pathDetail.operation);
        else if (c.path === 'apiserver-proxy') {
          expect(['node', 'pod', 'service', 'unknown']).toContain(c.pathDetail.target);
          expect(['http', 'https']).toContain(c.pathDetail.scheme);
        } else expect(c.pathDetail).toEqual({});
        // TLS hides the request line: without keys a TLS kubelet flow cannot name its operation.
        if (c.app === 'tls' && !t.requiresDecryption && c.path === 'apiserver-to-kubelet') expect(c.pathDetail.operation).toBe('unknown');
        if (c.tls?.version === '1.3' && !t.requiresDecryption) {
          expect(c.tls.serverSubject).toBeNull();
          expect(c.findings).not.toContain('kubelet-tls-unverified');
        }
      }
    }
  });

  it('keep captures/ under 5 MB', () => {
    const size = (p: string): number => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
    expect(size(root)).toBeLessThan(5 * 1024 * 1024);
  });
});

describe.skipIf(!hasTshark)('tshark agrees with the truth files', () => {
  // One tshark pass per capture, all fields at once, a few processes in parallel (keeps the suite fast).
  const FIELDS = [
    'tcp.srcport', 'tcp.dstport', 'tls.handshake.type', 'tls.handshake.version', 'tls.handshake.extensions.supported_version',
    'tls.handshake.extensions_server_name', 'http.request.method', 'http.request.uri', 'http2.headers.method', 'http2.headers.path',
    '_ws.malformed', '_ws.expert.severity',
  ];
  const FILTER = 'tls.handshake.type == 1 || tls.handshake.type == 2 || http.request || http2.headers.method || _ws.malformed || _ws.expert.severity >= error';
  const rows = new Map<string, string[][]>();
  beforeAll(async () => {
    const queue = [...captureFiles];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        // Plaintext h2c (etcd without TLS) needs a port rule: its server speaks first, so no heuristic fires.
        const t = truths.find(([, x]) => x.capture === f)?.[1];
        const h2c = (t?.connections ?? []).filter((c) => c.app === 'http2').flatMap((c) => ['-d', `tcp.port==${port(c.server)},http2`]);
        rows.set(f, await tsharkFieldsAsync(join(dir, f), FILTER, FIELDS, h2c));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });

  it('opens every sample without malformed packets or expert errors', () => {
    for (const f of captureFiles) {
      const bad = rows.get(f)!.filter((r) => r[10] || /(^|,)(8388608|6291456)(,|$)/.test(r[11] ?? ''));
      expect(bad, f).toEqual([]);
    }
  });

  it.each(truths)('%s: TLS versions, SNI and visible HTTP requests', (_name, t) => {
    const all = rows.get(t.capture)!;
    const has = (r: string[], type: string) => (r[2] ?? '').split(',').includes(type);
    const keyed = t.requiresDecryption;
    for (const c of t.connections) {
      const cport = port(c.client);
      if (c.tls) {
        const ch = all.find((r) => r[0] === cport && has(r, '1'));
        const sh = all.find((r) => r[1] === cport && has(r, '2'));
        expect(ch, `ClientHello of ${c.client}`).toBeDefined();
        expect(sh, `ServerHello of ${c.client}`).toBeDefined();
        const version = (sh![4] || sh![3]!).split(',')[0]!;
        expect(TLS_VERSION[version], c.client).toBe(c.tls.version);
        expect(ch![5] || null).toBe(c.tls.sni);
      }
      const seen = all.filter((r) => r[0] === cport && (r[6] || r[8])).map((r) => (r[6] ? `${r[6]} ${r[7]}` : `${r[8]} ${r[9]}`));
      // Without keys tshark sees no requests inside TLS; with the DSB it sees what the truth states.
      const expected = c.app !== 'tls' || keyed ? c.http.map((h) => `${h.method} ${h.path}`) : [];
      expect(seen, c.client).toEqual(expected);
    }
  });

  it('the key logs decrypt the TLS samples and reveal the real requests', () => {
    const name = 'kubelet-logs-exec-self-signed';
    const t = truths.find(([, x]) => x.capture === `${name}.pcap`)![1];
    const rows = tsharkFields(join(dir, `${name}.pcap`), 'http.request', ['tcp.srcport', 'http.request.method', 'http.request.uri'], [
      '-o', `tls.keylog_file:${join(root, 'keylogs', `${name}.keys`)}`,
    ]);
    for (const c of t.connections) {
      expect(rows.filter((r) => r[0] === port(c.client)).map((r) => `${r[1]} ${r[2]}`)).toEqual(c.actualHttp!.map((h) => `${h.method} ${h.path}`));
    }
  });

  it('the variants carry the same connections', () => {
    const base = 'kubelet-logs-exec-self-signed';
    const count = (f: string) => tsharkFields(join(dir, f), 'tcp.flags.syn == 1 && tcp.flags.ack == 0', ['tcp.srcport']).map((r) => r[0]);
    const ports = count(`${base}.pcap`);
    expect(ports).toHaveLength(4);
    for (const v of ['two-interfaces.pcapng', 'sll2.pcap', 'vlan.pcap', 'vxlan.pcap']) expect(count(`${base}.${v}`)).toEqual(ports);
    expect(tsharkFields(join(dir, `${base}.vxlan.pcap`), 'vxlan', ['vxlan.vni'])[0]).toEqual(['4242']);
    expect(tsharkFields(join(dir, `${base}.vlan.pcap`), 'vlan', ['vlan.id'])[0]).toEqual(['120']);
    expect(new Set(tsharkFields(join(dir, `${base}.two-interfaces.pcapng`), 'frame', ['frame.interface_id']).map((r) => r[0]))).toEqual(new Set(['0', '1']));
  });
});

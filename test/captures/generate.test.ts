/**
 * End to end: generating a scenario writes a capture tshark reads, and the same seed gives the same
 * file structure (frames, addresses, ports, plaintext sizes) even though TLS randomness differs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSamples, type GeneratedSample } from '../../captures/generate/generate.js';
import { writeScaleCapture } from '../../captures/generate/scale.js';
import { analyzeCapture } from '../../src/pipeline/analyze-file.js';
import { defaultSessionFactory } from '../../dissectors/app-session.js';
import type { FlowRecord } from '../../src/model/flow-record.js';
import { hasTshark, tsharkFields } from './tshark.js';

const pkiDir = join(import.meta.dirname, '../../captures/pki');
const dirs: string[] = [];
const run = async (seed: number): Promise<[string, GeneratedSample[]]> => {
  const dir = mkdtempSync(join(tmpdir(), 'planewatch-captures-'));
  dirs.push(dir);
  const r = await generateSamples({ outDir: dir, pkiDir, seed, only: ['kubelet-readonly-port', 'controlplane-to-apiserver'], clusterFiles: false });
  return [dir, r];
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('capture generation', () => {
  it('is deterministic in structure for a seed and differs for another seed', async () => {
    const [dirA, a] = await run(7);
    const [, b] = await run(7);
    const [, c] = await run(8);
    expect(a.map((s) => s.structure)).toEqual(b.map((s) => s.structure));
    expect(a.map((s) => s.truth)).toEqual(b.map((s) => s.truth));
    expect(a.map((s) => s.structure.endpoints)).not.toEqual(c.map((s) => s.structure.endpoints));
    // Plaintext HTTP is byte-identical between runs; TLS ciphertext is not.
    const plain = readFileSync(join(dirA, 'samples', 'kubelet-readonly-port.pcap'));
    expect(plain.length).toBeGreaterThan(1000);
    expect(readFileSync(join(dirA, 'keylogs', 'controlplane-to-apiserver.keys'), 'utf8')).toMatch(/^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/m);
    if (hasTshark) {
      const rows = tsharkFields(join(dirA, 'samples', 'kubelet-readonly-port.pcap'), 'http.request', ['ip.src', 'tcp.dstport', 'http.request.uri']);
      expect(rows).toEqual([
        ['10.244.2.8', '10255', '/pods'],
        ['10.244.2.8', '10255', '/stats/summary'],
      ]);
      const hs = tsharkFields(join(dirA, 'samples', 'controlplane-to-apiserver.pcap'), 'tls.handshake.type == 11', ['x509sat.printableString']);
      expect(hs.length).toBeGreaterThan(0);
    }
  });

  it('scale mode streams replayed sessions with valid checksums', async () => {
    const [dir] = await run(9);
    const out = join(dir, 'scale.pcap');
    const r = await writeScaleCapture({ out, bytes: 3_000_000, nodes: 50, seed: 1, pkiDir });
    expect(r.bytes).toBeGreaterThanOrEqual(3_000_000);
    expect(r.connections).toBeGreaterThan(50);
    if (hasTshark) {
      const bad = tsharkFields(out, 'tcp.checksum.status == 0 || ip.checksum.status == 0 || _ws.malformed', ['frame.number'], [
        '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
      ]);
      expect(bad).toEqual([]);
    }
  });

  it('scale mode gives every kubelet one serving certificate, as a real node has', async () => {
    const [dir] = await run(10);
    const out = join(dir, 'scale-kubelets.pcap');
    await writeScaleCapture({ out, bytes: 4_000_000, nodes: 20, seed: 3, pkiDir });
    const leaves = new Map<string, Set<string>>();
    const flows: FlowRecord[] = [];
    await analyzeCapture(out, { sessionFactory: defaultSessionFactory, onFlowEnd: (rec) => flows.push(rec) });
    for (const f of flows) {
      const leaf = f.tls?.serverCertificates[0]?.sha256;
      if (f.server.port !== 10250 || !leaf) continue;
      const key = `${f.server.ip}:${f.server.port}`;
      leaves.set(key, (leaves.get(key) ?? new Set()).add(leaf));
    }
    expect(leaves.size).toBeGreaterThan(5);
    for (const [kubelet, set] of leaves) expect([kubelet, set.size]).toEqual([kubelet, 1]);
  });
});

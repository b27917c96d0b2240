import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeJson, compareSample, readTruth, type Truth } from './compare';

/**
 * The TLS 1.3 kubelet sample decrypted end to end through the CLI: once with the key log carried in
 * its pcapng Decryption Secrets Block, once as a classic pcap with `--keylog`. Both must show what the
 * truth file states once the keys are known — the unverified kubelet certificate and the logs request —
 * and without keys the same traffic stays indeterminate.
 */
const ROOT = join(__dirname, '../..');
const KEYS = join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys');
const hasTshark = spawnSync('tshark', ['--version']).status === 0;

function expectDecrypted(out: any, truth: Truth): void {
  expect(compareSample(truth, out)).toEqual([]);
  const f = out.flows[0];
  expect(f.tls.decrypted).toBe(true);
  expect(f.tls.serverCertificates[0].subject).toBe('CN=worker-3@1756684800');
  expect(f.tls.clientCertificates[0].subject).toContain('CN=kube-apiserver-kubelet-client');
  expect(f.tls.clientCertRequested).toBe(true);
  expect(f.anomalies['tls.decrypt_failed'] ?? 0).toBe(0);
}

describe('TLS key logs end to end', () => {
  const truth = readTruth('kubelet-logs-tls13.dsb.truth.json');

  it('decrypts kubelet-logs-tls13.dsb.pcapng with the keys in its Decryption Secrets Block', () => {
    expectDecrypted(analyzeJson('kubelet-logs-tls13.dsb.pcapng'), truth);
  });

  it('decrypts kubelet-logs-tls13.pcap with --keylog', () => {
    const out = analyzeJson('kubelet-logs-tls13.pcap', ['--keylog', KEYS]);
    expectDecrypted(out, { ...truth, capture: 'kubelet-logs-tls13.pcap' });
  });

  it('stays indeterminate without keys', () => {
    const out = analyzeJson('kubelet-logs-tls13.pcap');
    expect(compareSample(readTruth('kubelet-logs-tls13.truth.json'), out)).toEqual([]);
    expect(out.flows[0].tls.decrypted).toBe(false);
  });

  it('a Decryption Secrets Block after the packets: the capture is read again with its secrets', () => {
    // The sample with its DSB moved behind every packet, as merging keyed captures can leave it.
    const blocks = pcapngBlocks(readFileSync(join(ROOT, 'captures/samples/kubelet-logs-tls13.dsb.pcapng')));
    const dsb = blocks.filter((b) => b.type === 0x0a);
    expect(dsb).toHaveLength(1);
    const moved = Buffer.concat([...blocks.filter((b) => b.type !== 0x0a).map((b) => b.bytes), dsb[0]!.bytes]);
    const dir = mkdtempSync(join(tmpdir(), 'pw-late-dsb-'));
    try {
      const file = join(dir, 'late-dsb.pcapng');
      writeFileSync(file, moved);
      const run = (f: string) => spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', f, '--json',
        '--inventory', join(ROOT, 'captures/inventory.json'), '--inventory', join(ROOT, 'captures/planewatch-cluster.json'),
        '--ca', join(ROOT, 'captures/cluster-ca.pem')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const r = run(file);
      expect(r.stderr).toMatch(/TLS secrets came after the connections they belong to; reading it again/);
      const out = JSON.parse(r.stdout);
      expect(out.flows).toHaveLength(1);
      expectDecrypted(out, { ...truth, capture: 'late-dsb.pcapng' });
      expect(out.captures[0].packets).toBe(blocks.filter((b) => b.type === 6).length);
      // With the block first, one reading suffices.
      const first = run(join(ROOT, 'captures/samples/kubelet-logs-tls13.dsb.pcapng'));
      expect(first.stderr).not.toMatch(/reading it again/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a --keylog file that cannot be read is a clear error (exit 4)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap'),
      '--json', '--keylog', join(ROOT, 'captures/keylogs/no-such.keys')], { encoding: 'utf8' });
    expect(r.status).toBe(4);
    expect(r.stderr).toContain('no-such.keys');
  });
});

describe.skipIf(!hasTshark)('decryption cross-checked with tshark', () => {
  it('tshark with the same key log sees the same request and certificates', () => {
    const pcap = join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap');
    const run = (filter: string, fields: string[]): string =>
      spawnSync('tshark', ['-r', pcap, '-o', `tls.keylog_file:${KEYS}`, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' }).stdout.trim();
    const ours = analyzeJson('kubelet-logs-tls13.pcap', ['--keylog', KEYS]).flows[0];
    expect(run('http.request', ['http.request.method', 'http.request.uri'])).toBe(`${ours.http[0].method}\t${ours.http[0].path}`);
    const certs = run('tls.handshake.type == 11', ['x509sat.uTF8String', 'x509sat.printableString']).split(/\s+/).join(',');
    expect(certs).toContain(ours.tls.serverCertificates[0].subject.replace('CN=', ''));
    expect(certs).toContain('kube-apiserver-kubelet-client');
  });
});

/** The blocks of a little-endian pcapng file, in order. */
function pcapngBlocks(b: Buffer): { type: number; bytes: Buffer }[] {
  const out: { type: number; bytes: Buffer }[] = [];
  for (let o = 0; o < b.length; ) {
    const type = b.readUInt32LE(o);
    const len = b.readUInt32LE(o + 4);
    out.push({ type, bytes: b.subarray(o, o + len) });
    o += len;
  }
  return out;
}

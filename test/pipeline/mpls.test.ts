import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSessionFactory } from '../../dissectors/app-session';
import type { FlowRecord } from '../../src/model/flow-record';
import { analyzeCapture } from '../../src/pipeline/analyze-file';
import { ethernet, gre, ipv4, mpls, PROTO, pwControlWord, udp } from '../decode/builders';
import { rewrapCapture } from '../rewrap-capture';

/**
 * A bundled sample re-encapsulated the ways MPLS networks deliver traffic — labels on the wire of a
 * provider link (a different stack each way, as label switching gives), an Ethernet pseudowire, MPLS
 * over GRE and MPLS in UDP (Tungsten Fabric's overlay) — must give the connections of the sample
 * itself: same endpoints, same Community IDs, same TLS, HTTP and state, only the tunnel added.
 */
const SAMPLE = join(__dirname, '../../captures/samples/kubelet-logs-exec-self-signed.pcap');
const dir = mkdtempSync(join(tmpdir(), 'pw-mpls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeVariant(name: string, wrap: (frame: Uint8Array) => Uint8Array): string {
  const file = join(dir, `${name}.pcap`);
  rewrapCapture(SAMPLE, file, wrap);
  return file;
}

/** Which way a frame goes, told by its IPv4 source: the labels differ per direction on real links. */
const towardServer = (frame: Uint8Array) => frame[14 + 12 + 3]! < frame[14 + 16 + 3]!;

const ip = (frame: Uint8Array) => frame.subarray(14);
const OUTER = { src: '192.0.2.1', dst: '192.0.2.2' };

const VARIANTS: Record<string, { wrap: (frame: Uint8Array) => Uint8Array; tunnel: string | null; ports?: [number, number] }> = {
  'labels on the link': {
    wrap: (f) => ethernet(0x8847, mpls(towardServer(f) ? [16004, 24001] : [16002, 24005], ip(f))),
    tunnel: null,
  },
  'Ethernet pseudowire': {
    wrap: (f) => ethernet(0x8847, mpls([16010, 30000], pwControlWord(f)), [{ tpid: 0x8100, vid: 300 }]),
    tunnel: null,
  },
  'MPLS over GRE': {
    wrap: (f) => ethernet(0x0800, ipv4({ protocol: PROTO.GRE, ...OUTER }, gre({ protocol: 0x8847 }, mpls([299792], ip(f))))),
    tunnel: 'gre',
    ports: [0, 0],
  },
  'MPLS in UDP': {
    wrap: (f) => ethernet(0x0800, ipv4({ protocol: PROTO.UDP, ...OUTER }, udp(49152, 6635, mpls([24], ip(f))))),
    tunnel: 'mpls-udp',
    ports: [49152, 6635],
  },
};

async function analyse(file: string): Promise<{ recs: FlowRecord[]; anomalies: Record<string, number> }> {
  const recs: FlowRecord[] = [];
  const r = await analyzeCapture(file, { onFlowEnd: (rec) => recs.push(rec), sessionFactory: defaultSessionFactory });
  expect(r.info.error).toBeNull();
  return { recs, anomalies: r.stats.anomalies.toJSON() };
}

/** What must not change with the encapsulation. */
const essence = (r: FlowRecord) => ({
  communityId: r.communityId, client: r.client, server: r.server, packets: r.packets, payloadBytes: r.payloadBytes,
  history: r.history, state: r.state, app: r.app, tls: JSON.stringify(r.tls), http: JSON.stringify(r.http),
});

describe('MPLS-encapsulated traffic is analysed as the traffic it carries', async () => {
  const plain = await analyse(SAMPLE);

  it('the sample itself has TLS connections to compare', () => {
    expect(plain.recs.length).toBeGreaterThan(1);
    expect(plain.recs.every((r) => r.tls !== null && r.state === 'SF')).toBe(true);
  });

  for (const [name, v] of Object.entries(VARIANTS)) {
    it(name, async () => {
      const got = await analyse(writeVariant(name.replace(/ /g, '-'), v.wrap));
      expect(got.recs.map(essence)).toEqual(plain.recs.map(essence));
      expect(got.anomalies).toEqual(plain.anomalies);
      for (const r of got.recs) {
        if (v.tunnel === null) expect(r.tunnel).toBeNull();
        else {
          expect(r.tunnel).toEqual({ type: v.tunnel, outerSrc: OUTER.src, outerDst: OUTER.dst, outerSrcPort: v.ports![0],
            outerDstPort: v.ports![1], id: null });
        }
      }
      if (name === 'Ethernet pseudowire') expect(got.recs.every((r) => r.vlan === 300)).toBe(true);
    });
  }
});

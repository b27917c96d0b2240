/**
 * DESIGN §4: the per-packet path allocates nothing. A number passed to a call that is not inlined is
 * boxed (a heap object per packet), and so is one stored in a field V8 tracks as tagged; this test
 * catches either coming back. It runs the engine (decoding, duplicate filter, flow table, reassembly,
 * delivery to a session) over long-lived connections until it is optimised, then counts what the
 * next packets allocate with V8's sampling heap profiler.
 */
import { Session } from 'node:inspector/promises';
import { describe, expect, it } from 'vitest';
import type { Direction } from '../../src/flow/direction';
import type { PacketStamp } from '../../src/flow/packet-stamp';
import { Frame } from '../../src/ingest/frame';
import type { AppEvidence, AppSession } from '../../src/model/flow-record';
import { Engine } from '../../src/pipeline/engine';
import { buildFrame, TCP } from './pcap-builder';

/** Reads what it is given (bytes and stamp) into numbers, keeping nothing. */
class SummingSession implements AppSession {
  bytes = 0;
  lastTs = 0.5;
  lastFrame = 0;
  onData(_dir: Direction, _data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    this.bytes += end - start;
    this.lastTs = at.ts;
    this.lastFrame = at.frame;
  }
  onGap(): void {}
  onEnd(): void {}
  describe(): AppEvidence {
    return { app: 'unknown', tls: null, http: [], ssh: null };
  }
}

const CONNECTIONS = 4;
const PAYLOAD = 64;
const SEQ_OFFSET = 14 + 20 + 4;

/** Data segments both ways on CONNECTIONS established connections, frames patched in place. */
class Traffic {
  private readonly frames: Uint8Array[] = [];
  private readonly views: DataView[] = [];
  private readonly seqs: number[] = [];
  private readonly frame = new Frame();
  private n = 0;
  ts = 1_700_000_000.123456;

  constructor(readonly engine: Engine) {
    for (let c = 0; c < CONNECTIONS; c++) {
      const client = `10.0.0.${10 + c}`;
      const cport = 40000 + c;
      // Initial sequence numbers from 2^31 up: unsigned values V8 cannot keep as small integers.
      const cisn = 0x9000_0000 + c * 0x100_0000;
      const sisn = 0xf000_0000 + c * 0x100_0000;
      const hs = [
        buildFrame({ src: client, dst: '10.0.1.1', sport: cport, dport: 6443, flags: TCP.SYN, seq: cisn }),
        buildFrame({ src: '10.0.1.1', dst: client, sport: 6443, dport: cport, flags: TCP.SYN | TCP.ACK, seq: sisn, ack: cisn + 1 }),
        buildFrame({ src: client, dst: '10.0.1.1', sport: cport, dport: 6443, flags: TCP.ACK, seq: cisn + 1, ack: sisn + 1 }),
      ];
      for (const f of hs) this.deliver(f);
      const payload = new Uint8Array(PAYLOAD).fill(0x41);
      this.frames.push(buildFrame({ src: client, dst: '10.0.1.1', sport: cport, dport: 6443, flags: TCP.ACK | TCP.PSH, seq: cisn + 1, ack: sisn + 1, payload }));
      this.seqs.push(cisn + 1);
      this.frames.push(buildFrame({ src: '10.0.1.1', dst: client, sport: 6443, dport: cport, flags: TCP.ACK | TCP.PSH, seq: sisn + 1, ack: cisn + 1, payload }));
      this.seqs.push(sisn + 1);
    }
    for (const f of this.frames) this.views.push(new DataView(f.buffer, f.byteOffset, f.byteLength));
  }

  /** `count` more data segments, round robin over the connections' directions. */
  run(count: number): void {
    for (let i = 0; i < count; i++) {
      const k = i % this.frames.length;
      const data = this.frames[k]!;
      this.views[k]!.setUint32(SEQ_OFFSET, this.seqs[k]!);
      this.seqs[k] = (this.seqs[k]! + PAYLOAD) >>> 0;
      this.deliver(data);
    }
  }

  private deliver(data: Uint8Array): void {
    const f = this.frame;
    this.ts += 0.000137;
    f.buf = data;
    f.start = 0;
    f.end = data.length;
    f.origLen = data.length;
    f.tsSec = Math.floor(this.ts);
    f.tsNsec = Math.round((this.ts - f.tsSec) * 1e9);
    f.linkType = 1;
    f.number = ++this.n;
    this.engine.processFrame(f);
  }
}

describe('hot path', () => {
  it('allocates nothing per packet once optimised (decode, flows, reassembly, delivery)', async () => {
    const sessions: SummingSession[] = [];
    const engine = new Engine({
      onFlowEnd: () => {},
      sessionFactory: () => {
        const s = new SummingSession();
        sessions.push(s);
        return s;
      },
    });
    const traffic = new Traffic(engine);
    traffic.run(400_000); // warm-up: the functions on the path get optimised
    const inspector = new Session();
    inspector.connect();
    const measured = 400_000;
    try {
      await inspector.post('HeapProfiler.startSampling', {
        samplingInterval: 256,
        includeObjectsCollectedByMinorGC: true,
        includeObjectsCollectedByMajorGC: true,
      });
      traffic.run(measured);
      const { profile } = await inspector.post('HeapProfiler.stopSampling');
      let bytes = 0;
      const byFunction = new Map<string, number>();
      const sum = (n: typeof profile.head): void => {
        bytes += n.selfSize;
        const where = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url}`;
        if (n.selfSize > 0) byFunction.set(where, (byFunction.get(where) ?? 0) + n.selfSize);
        for (const c of n.children) sum(c);
      };
      sum(profile.head);
      const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 5);
      // One boxed number per packet would be 16 bytes a packet; what is left is the profiler's own.
      expect(bytes / measured, `bytes allocated by function: ${JSON.stringify(top)}`).toBeLessThan(1);
    } finally {
      inspector.disconnect();
    }
    // The packets really went through: every byte delivered, stamps read.
    expect(sessions).toHaveLength(CONNECTIONS);
    const total = sessions.reduce((a, s) => a + s.bytes, 0);
    expect(total).toBe(800_000 * PAYLOAD);
    expect(engine.stats.anomalies.toJSON()).toEqual({});
    expect(sessions[0]!.lastTs).toBeGreaterThan(1_700_000_000);
  }, 60_000);
});

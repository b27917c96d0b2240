import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeScaleCapture } from '../../captures/generate/scale';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import type { FlowRecord } from '../../src/model/flow-record';
import { analyzeCapture, type CaptureAnalysis } from '../../src/pipeline/analyze-file';
import { analyzeCaptureOnWorker } from '../../src/pipeline/analyze-on-worker';
import { toPlain } from '../../src/pipeline/worker-protocol';
import { buildFrame, pcapOfFrames, tcpConversation } from './pcap-builder';

/**
 * Several threads sharing a capture's connections (src/pipeline/shard.ts) must give what one thread
 * gives: the same records (in another order, numbered otherwise), the same counters, the same damage.
 */
const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'pw-shards-'));
const busy = join(dir, 'busy.pcap');
const cut = join(dir, 'cut.pcap');
const rough = join(dir, 'rough.pcap');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  await writeScaleCapture({ out: busy, bytes: 6e6, nodes: 40, seed: 11, pkiDir: join(ROOT, 'captures/pki') });
  // The same, cut off in the middle of a record: every shard must stop at the same damage.
  const bytes = readFileSync(busy);
  writeFileSync(cut, bytes.subarray(0, bytes.length - 37));
  writeFileSync(rough, roughCapture());
}, 120_000);

/**
 * Connections with retransmissions, lost segments and data after their close, among frames that do
 * not decode: anomalies of the capture (counted once, by shard 0) and of connections (by theirs).
 */
function roughCapture(): Buffer {
  const frames: { data: Uint8Array; ts: number }[] = [];
  for (let i = 0; i < 80; i++) {
    const at = 1_700_000_000 + i * 0.0007;
    const conv = tcpConversation(`10.244.${i % 3}.${5 + i}`, 33000 + i * 331, '10.0.0.10', i % 2 ? 6443 : 10250, `GET /api/v1/pods/${i} HTTP/1.1\r\n\r\n`, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    conv.forEach((p, k) => {
      // Every fifth loses the server's response; every third sends its request twice.
      if (i % 5 === 0 && k === 4) return;
      frames.push({ data: buildFrame(p), ts: at + k * 0.002 });
      if (i % 3 === 0 && k === 3) frames.push({ data: buildFrame(p), ts: at + k * 0.002 + 0.3 });
    });
    // A segment after both FINs.
    if (i % 7 === 0) frames.push({ data: buildFrame({ ...conv[3]!, seq: 900_000 }), ts: at + 0.05 });
    // A frame whose IPv4 header claims a length below the minimum.
    const bad = buildFrame(conv[0]!);
    bad[14] = 0x42;
    frames.push({ data: bad, ts: at + 0.0001 });
  }
  frames.sort((a, b) => a.ts - b.ts);
  return pcapOfFrames(frames);
}

interface Run {
  result: CaptureAnalysis;
  records: FlowRecord[];
}

async function analyse(file: string, threads: number): Promise<Run> {
  const keyLog = new KeyLog();
  const records: FlowRecord[] = [];
  const opts = { keyLog, onFlowEnd: (r: FlowRecord) => records.push(r), flowIdPrefix: 'c3f', captureIndex: 3 };
  const result = threads === 0
    ? await analyzeCapture(file, { ...opts, sessionFactory: keyLogSessionFactory(keyLog) })
    : await analyzeCaptureOnWorker(file, opts, threads);
  return { result, records };
}

/** The records without their ids, in one order; the result without classes. */
function comparable(r: Run) {
  const records = (JSON.parse(JSON.stringify(r.records)) as FlowRecord[])
    .map((x) => ({ ...x, id: '' }))
    .sort((a, b) => a.firstFrame - b.firstFrame || (a.communityId < b.communityId ? -1 : 1));
  return { records, result: toPlain(r.result) };
}

describe('a capture shared out among analysis threads', () => {
  for (const [name, file] of [['a whole capture', busy], ['a capture cut off mid-record', cut], ['anomalies of frames and of connections', rough]] as const) {
    it(`gives the records and counters one thread gives: ${name}`, async () => {
      const one = await analyse(file, 0);
      expect(one.records.length).toBeGreaterThan(file === rough ? 70 : 200);
      if (file === cut) expect(one.result.info.error?.code).toBe('capture.truncated_record');
      if (file === rough) {
        const counted = one.result.stats.anomalies.toJSON();
        expect(Object.keys(counted).some((code) => code.startsWith('ip'))).toBe(true);
        expect(Object.keys(counted).some((code) => code.startsWith('tcp'))).toBe(true);
      }
      for (const threads of [2, 3]) {
        const shared = await analyse(file, threads);
        expect(comparable(shared)).toEqual(comparable(one));
        // Ids stay unique, and every thread had a share.
        const ids = shared.records.map((r) => Number(r.id.slice('c3f'.length)));
        expect(new Set(ids).size).toBe(ids.length);
        for (let t = 0; t < threads; t++) expect(ids.filter((n) => (n - 1) % threads === t).length).toBeGreaterThan(5);
      }
    }, 120_000);
  }
});

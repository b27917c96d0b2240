import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSessionFactory, keyLogSessionFactory } from '../../../dissectors/app-session';
import { KeyLog, MAX_KEY_LOG_LINE } from '../../../dissectors/tls/decrypt/key-log';
import { FOLLOW_MIN_INTERVAL_MS, KeyLogFollower } from '../../../dissectors/tls/decrypt/key-log-follower';
import type { FlowRecord } from '../../../src/model/flow-record';
import { analyzeCapture } from '../../../src/pipeline/analyze-file';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'pw-keylog-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (n: number) => `CLIENT_RANDOM ${n.toString(16).padStart(64, '0')} ${'ab'.repeat(48)}\n`;
const random = (n: number) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

describe('a key log file followed as it grows', () => {
  it('takes appended lines, and a line only once its newline is written', () => {
    const file = join(dir, 'grow.keys');
    writeFileSync(file, line(1));
    const keys = new KeyLog();
    const f = new KeyLogFollower([file], keys);
    expect(f.poll()).toBe(1);
    const second = line(2);
    appendFileSync(file, second.slice(0, 40));
    expect(f.poll()).toBe(0);
    expect(keys.lookup(random(2))).toBeNull();
    appendFileSync(file, second.slice(40) + line(3));
    expect(f.poll()).toBe(2);
    expect(keys.size).toBe(3);
    expect(keys.lookup(random(2))?.masterSecret?.length).toBe(48);
    expect(f.poll()).toBe(0);
  });

  it('reads a file again from its start when it shrinks, and waits for one that does not exist yet', () => {
    const file = join(dir, 'late.keys');
    const keys = new KeyLog();
    const f = new KeyLogFollower([file], keys);
    expect(f.poll()).toBe(0);
    expect(f.missing).toEqual([file]);
    writeFileSync(file, line(10) + line(11));
    expect(f.poll()).toBe(2);
    expect(f.missing).toEqual([]);
    writeFileSync(file, line(12));
    expect(f.poll()).toBe(1);
    expect(keys.size).toBe(3);
  });

  it('skips a line too long to be a secret, however it arrives, and goes on after it', () => {
    const file = join(dir, 'junk.keys');
    writeFileSync(file, 'x'.repeat(MAX_KEY_LOG_LINE + 10));
    const keys = new KeyLog();
    const f = new KeyLogFollower([file], keys);
    expect(f.poll()).toBe(0);
    appendFileSync(file, `${'y'.repeat(200)}\n${line(20)}`);
    expect(f.poll()).toBe(1);
    expect(keys.lookup(random(20))).not.toBeNull();
    expect(keys.ignoredLines).toBe(1);
  });

  it('a lookup that misses reads the file again, at most every few milliseconds', () => {
    const file = join(dir, 'miss.keys');
    writeFileSync(file, '');
    let clock = 1000;
    const keys = new KeyLog();
    const f = new KeyLogFollower([file], keys, () => clock);
    f.attach();
    expect(keys.lookup(random(30))).toBeNull();
    appendFileSync(file, line(30));
    expect(keys.lookup(random(30))).toBeNull(); // asked again too soon
    clock += FOLLOW_MIN_INTERVAL_MS;
    expect(keys.lookup(random(30))?.masterSecret).not.toBeNull();
  });
});

describe('TLS 1.3 secrets logged after the handshake began', () => {
  const pcap = join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap');
  const keysText = () => readFileSync(join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys'), 'latin1');

  async function analyse(keys: KeyLog | null): Promise<FlowRecord> {
    const flows: FlowRecord[] = [];
    await analyzeCapture(pcap, { sessionFactory: keys ? keyLogSessionFactory(keys) : defaultSessionFactory, onFlowEnd: (r) => flows.push(r) });
    expect(flows).toHaveLength(1);
    return flows[0]!;
  }

  it('application traffic secrets that arrive only when Finished is read still decrypt the connection', async () => {
    const lines = keysText().split('\n');
    const handshake = lines.filter((l) => l.includes('HANDSHAKE_TRAFFIC_SECRET')).join('\n');
    const traffic = lines.filter((l) => l.includes('TRAFFIC_SECRET_0')).join('\n');
    expect(handshake).not.toBe('');
    expect(traffic).not.toBe('');
    const keys = new KeyLog();
    keys.addText(handshake);
    let asked = 0;
    // The client logs its traffic secrets only after the server's Finished: they come when asked for.
    keys.follow = () => {
      asked++;
      return asked === 1 && keys.addText(traffic) > 0;
    };
    const rec = await analyse(keys);
    expect(asked).toBeGreaterThan(0);
    expect(rec.tls?.decrypted).toBe(true);
    expect(rec.http.map((h) => h.path)).toEqual(['/containerLogs/default/db-0/web?follow=true']);
  });

  it('without them, the handshake is decrypted and the application data is not', async () => {
    const keys = new KeyLog();
    keys.addText(keysText().split('\n').filter((l) => l.includes('HANDSHAKE_TRAFFIC_SECRET')).join('\n'));
    const rec = await analyse(keys);
    expect(rec.tls?.serverCertificates[0]?.subject).toBe('CN=worker-3@1756684800');
    expect(rec.http).toEqual([]);
  });
});

describe('TLS 1.2 master secrets logged after the ServerHello went by (a live capture can be that quick)', () => {
  const pcap = join(ROOT, 'captures/samples/kubelet-exec-ca-signed.pcap');
  const keysText = readFileSync(join(ROOT, 'captures/keylogs/kubelet-exec-ca-signed.keys'), 'latin1');

  /** Both connections of the sample, with a key log that adds every secret at the `at`-th forced read. */
  async function analyse(at: number): Promise<{ flows: FlowRecord[]; reads: boolean[] }> {
    const keys = new KeyLog();
    const reads: boolean[] = [];
    keys.follow = (force: boolean) => {
      reads.push(force);
      return reads.filter(Boolean).length === at && keys.addText(keysText) > 0;
    };
    const flows: FlowRecord[] = [];
    await analyzeCapture(pcap, { sessionFactory: keyLogSessionFactory(keys), onFlowEnd: (r) => flows.push(r) });
    return { flows: flows.sort((a, b) => a.firstFrame - b.firstFrame), reads };
  }

  it("are read again at a side's first protected record: a client logs before its ChangeCipherSpec", async () => {
    const { flows, reads } = await analyse(1);
    expect(reads[0]).toBe(false); // at the first ServerHello: not forced
    expect(flows[0]!.tls?.decrypted).toBe(true);
    expect(flows[0]!.http.map((h) => h.path)).toEqual(['/exec/default/web-1/web?command=sh&input=1&output=1&tty=1']);
    // Read once, they serve the second connection too.
    expect(flows[1]!.http.map((h) => h.path)).toEqual(['/run/default/web-1/web?cmd=ls']);
    expect(flows.flatMap((f) => Object.keys(f.anomalies))).not.toContain('tls.decrypt_failed');
  });

  it("a server logs before its own: the client's records that went by unopened still count in its sequence numbers", async () => {
    const { flows } = await analyse(2);
    expect(flows[0]!.tls?.decrypted).toBe(true);
    // The client's Finished was not opened; its request, the next record, is.
    expect(flows[0]!.http.map((h) => h.path)).toEqual(['/exec/default/web-1/web?command=sh&input=1&output=1&tty=1']);
    expect(flows[0]!.http[0]!.status).not.toBeNull();
    expect(flows.flatMap((f) => Object.keys(f.anomalies))).not.toContain('tls.decrypt_failed');
  });

  it('not logged by the time both sides protect their records: not decrypted, and nothing is read again', async () => {
    const { flows, reads } = await analyse(99);
    expect(flows.every((f) => f.tls?.decrypted === false && f.http.length === 0)).toBe(true);
    // One forced read per side of each connection, no more.
    expect(reads.filter(Boolean)).toHaveLength(4);
  });
});

describe('TLS 1.3 secrets not logged yet at the ServerHello (a live capture can be that quick)', () => {
  const pcap = join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap');
  const keysText = readFileSync(join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys'), 'latin1');

  async function analyse(at: number): Promise<FlowRecord> {
    const keys = new KeyLog();
    let forced = 0;
    keys.follow = (force: boolean) => (force ? ++forced === at && keys.addText(keysText) > 0 : false);
    const flows: FlowRecord[] = [];
    await analyzeCapture(pcap, { sessionFactory: keyLogSessionFactory(keys), onFlowEnd: (r) => flows.push(r) });
    expect(flows).toHaveLength(1);
    // Whatever was held for the connection was given back.
    expect(keys.holdBudget.used).toBe(0);
    return flows[0]!;
  }

  it("logged by the server before its encrypted handshake: everything is decrypted, its certificate included", async () => {
    const rec = await analyse(1);
    expect(rec.tls?.decrypted).toBe(true);
    expect(rec.tls?.serverCertificates.length).toBeGreaterThan(0);
    expect(rec.http.map((h) => h.path)).toEqual(['/containerLogs/default/db-0/web?follow=true']);
  });

  it("logged by the client before its Finished: the server's handshake, held until then, is opened, and the requests", async () => {
    const early = await analyse(1);
    const rec = await analyse(2);
    expect(rec.tls?.decrypted).toBe(true);
    // The same certificate, read in the same frame, as when the keys were there from the start.
    expect(rec.tls?.serverCertificates.map((c) => c.sha256)).toEqual(early.tls?.serverCertificates.map((c) => c.sha256));
    expect(rec.tls?.serverCertificates.length).toBeGreaterThan(0);
    expect(rec.tls?.certificateFrame).toBe(early.tls?.certificateFrame);
    expect(rec.tls?.certificateFrame).toBeLessThan(rec.tls!.encryptedFromFrame[0]);
    expect(rec.http.map((h) => h.path)).toEqual(['/containerLogs/default/db-0/web?follow=true']);
    expect(rec.http[0]!.status).not.toBeNull();
    expect(Object.keys(rec.anomalies)).not.toContain('tls.decrypt_failed');
  });

  it('never logged: what was held is let go, nothing is decrypted and nothing fails', async () => {
    const rec = await analyse(99);
    expect(rec.tls?.decrypted).toBe(false);
    expect(rec.tls?.serverCertificates).toEqual([]);
    expect(rec.http).toEqual([]);
    expect(Object.keys(rec.anomalies)).not.toContain('tls.decrypt_failed');
  });
});

describe('TLS 1.3 secrets that come a few at a time, as OpenSSL logs them', () => {
  const pcap = join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap');
  const lines = readFileSync(join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys'), 'latin1').split('\n');
  const serverSide = lines.filter((l) => l.startsWith('SERVER_')).join('\n');
  const clientSide = lines.filter((l) => l.startsWith('CLIENT_')).join('\n');

  it("the server's secrets at the ServerHello, the client's only before its Finished: the requests are decrypted", async () => {
    const keys = new KeyLog();
    let reads = 0;
    // Read 1 (the ServerHello's lookup) finds the server's secrets; the client's come two reads later.
    keys.follow = () => {
      reads++;
      if (reads === 1) return keys.addText(serverSide) > 0;
      if (reads === 3) return keys.addText(clientSide) > 0;
      return false;
    };
    const flows: FlowRecord[] = [];
    await analyzeCapture(pcap, { sessionFactory: keyLogSessionFactory(keys), onFlowEnd: (r) => flows.push(r) });
    expect(flows[0]!.tls?.decrypted).toBe(true);
    expect(flows[0]!.http.map((h) => h.path)).toEqual(['/containerLogs/default/db-0/web?follow=true']);
  });
});

describe("TLS 1.3 application secrets logged just after the Finished that needs them", () => {
  const pcap = join(ROOT, 'captures/samples/kubelet-logs-tls13.pcap');
  const lines = readFileSync(join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys'), 'latin1').split('\n');
  const handshake = lines.filter((l) => l.includes('HANDSHAKE_TRAFFIC_SECRET')).join('\n');
  const traffic = lines.filter((l) => l.includes('TRAFFIC_SECRET_0')).join('\n');

  /** The handshake secrets from the start; the traffic secrets at the `at`-th forced read. */
  async function analyse(at: number): Promise<{ rec: FlowRecord; forced: number }> {
    const keys = new KeyLog();
    keys.addText(handshake);
    let forced = 0;
    keys.follow = (force: boolean) => (force ? ++forced === at && keys.addText(traffic) > 0 : false);
    const flows: FlowRecord[] = [];
    await analyzeCapture(pcap, { sessionFactory: keyLogSessionFactory(keys), onFlowEnd: (r) => flows.push(r) });
    return { rec: flows[0]!, forced };
  }

  it("a side's next record looks again (OpenSSL logs a client's own after sending its Finished)", async () => {
    // Read 1 at the server's Finished, read 2 at the server's next record: found there.
    const { rec } = await analyse(2);
    expect(rec.tls?.decrypted).toBe(true);
    expect(rec.http.map((h) => h.path)).toEqual(['/containerLogs/default/db-0/web?follow=true']);
    expect(rec.http[0]!.status).not.toBeNull();
    expect(Object.keys(rec.anomalies)).not.toContain('tls.decrypt_failed');
  });

  it('never logged: each side stops after one more look, without a decryption failure', async () => {
    const { rec, forced } = await analyse(99);
    expect(rec.http).toEqual([]);
    expect(forced).toBe(4); // at each side's Finished and at each side's next record
    expect(Object.keys(rec.anomalies)).not.toContain('tls.decrypt_failed');
  });
});

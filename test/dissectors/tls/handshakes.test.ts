/**
 * Real OpenSSL handshakes (node:tls client and server over an in-memory duplex), recorded byte for
 * byte and fed to the dissector whole, byte by byte and split at every offset.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TlsInfo } from '../../../src/model/records';
import { TlsDissector } from '../../../dissectors/tls/tls-dissector';
import { conversationToPcap } from './pcap-writer';
import { feedRecording, feedSplitAt, material as m, recordHandshake, recordOpensslClient, type Chunk, type Recording } from './record-handshake';
import { stampOf } from '../../../src/flow/packet-stamp';

function run(chunks: readonly Chunk[], split = Infinity): { info: TlsInfo; anomalies: string[] } {
  const anomalies: string[] = [];
  const d = new TlsDissector((c) => anomalies.push(c));
  feedRecording(d, chunks, split);
  return { info: d.result(), anomalies };
}

const hasTshark = (() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let mtls12: Recording;
let tls13: Recording;
let hrr: Recording;
let rejected: Recording;
let resumed12: Recording;
let resumed13: Recording;

beforeAll(async () => {
  mtls12 = await recordHandshake({
    server: { key: m.serverKey(), cert: m.serverCert(), ca: m.ca(), requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] },
    client: { key: m.clientKey(), cert: m.clientCert(), ca: m.ca(), servername: 'worker-1', maxVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'] },
  });
  tls13 = await recordHandshake({
    server: { key: m.serverKey(), cert: m.serverCert() },
    client: { ca: m.ca(), servername: 'worker-1', minVersion: 'TLSv1.3' },
  });
  // The client's only key share is X25519; the server accepts only P-256 → HelloRetryRequest.
  hrr = await recordHandshake({
    server: { key: m.serverKey(), cert: m.serverCert(), ecdhCurve: 'P-256' },
    client: { ca: m.ca(), servername: 'worker-1', ecdhCurve: 'X25519:P-256' },
  });
  // A TLS 1.2 client that trusts a different CA rejects the server's chain during the handshake.
  rejected = await recordOpensslClient({ key: m.serverKey(), cert: m.serverCert() }, [
    '-tls1_2', '-servername', 'worker-1', '-CAfile', fileURLToPath(new URL('./fixtures/other-ca.pem', import.meta.url)), '-verify_return_error',
  ]);
  const ctx12 = tls.createSecureContext({ key: m.serverKey(), cert: m.serverCert() });
  const first12 = await recordHandshake({ server: { secureContext: ctx12 }, client: { ca: m.ca(), servername: 'worker-1', maxVersion: 'TLSv1.2' } });
  resumed12 = await recordHandshake({
    server: { secureContext: ctx12 },
    client: { ca: m.ca(), servername: 'worker-1', maxVersion: 'TLSv1.2', session: first12.session ?? undefined },
  });
  const ctx13 = tls.createSecureContext({ key: m.serverKey(), cert: m.serverCert() });
  const first13 = await recordHandshake({ server: { secureContext: ctx13 }, client: { ca: m.ca(), servername: 'worker-1' } });
  resumed13 = await recordHandshake({
    server: { secureContext: ctx13 },
    client: { ca: m.ca(), servername: 'worker-1', session: first13.session ?? undefined },
  });
});

describe('TLS 1.2 with client certificates', () => {
  it('many connections at once, interleaved packet by packet, each read as it is alone (buffers are reused)', () => {
    const recordings = [mtls12, tls13, hrr, resumed12, mtls12, tls13, rejected, resumed13];
    const alone = recordings.map((r) => run(r.chunks).info);
    // Fed in turns, a few bytes at a time: handshake buffers given back by one connection are taken
    // by the next while the others are mid-message.
    const ds = recordings.map(() => new TlsDissector(() => {}));
    const pos = recordings.map(() => ({ chunk: 0, off: 0 }));
    for (let busy = true; busy; ) {
      busy = false;
      recordings.forEach((r, k) => {
        const p = pos[k]!;
        const c = r.chunks[p.chunk];
        if (c === undefined) return;
        busy = true;
        const end = Math.min(c.bytes.length, p.off + 97);
        ds[k]!.feed(c.dir, c.bytes, p.off, end, stampOf(1000 + p.chunk, p.chunk + 1));
        p.off = end;
        if (p.off >= c.bytes.length) {
          p.chunk++;
          p.off = 0;
        }
      });
      if (!busy) for (let k = 0; k < ds.length; k++) ds[k]!.end(0), ds[k]!.end(1);
    }
    expect(ds.map((d) => d.result())).toEqual(alone);
  });

  it('sees both chains, the request, ALPN, cipher and encryption start', () => {
    const { info, anomalies } = run(mtls12.chunks);
    expect(anomalies).toEqual([]);
    expect(info.version).toBe('1.2');
    expect(info.sni).toBe('worker-1');
    expect(info.alpn).toEqual(['h2', 'http/1.1']);
    expect(info.alpnSelected).toBe('h2');
    expect(info.cipher).toMatch(/^TLS_ECDHE_RSA_WITH_/);
    expect(info.serverCertificates.map((c) => c.subject)).toEqual(['CN=worker-1,O=Acme\\, Inc.', 'CN=kubernetes-ca']);
    expect(info.clientCertificates.map((c) => c.subjectO)).toEqual([['system:nodes'], []]);
    expect(info.clientCertificates[0].subjectCN).toBe('system:node:worker-1');
    expect(info.clientCertRequested).toBe(true);
    expect(info.established).toBe(true);
    expect(info.resumed).toBe(false);
    expect(info.encryptedFromFrame[0]).toBeGreaterThan(0);
    expect(info.encryptedFromFrame[1]).toBeGreaterThan(0);
    expect(info.appDataRecords).toEqual([1, 1]);
    // "ping" and "ping!" plus the AES-GCM explicit nonce (8) and tag (16).
    expect(info.appDataBytes).toEqual([4 + 24, 5 + 24]);
    expect(info.alerts.every((a) => !a.plaintext)).toBe(true);
    expect(info.clientHelloFrame).toBe(1);
    expect(info.serverHelloFrame).toBe(2);
    expect(info.certificateFrame).toBe(2);
  });

  it('gives the same result whole, byte by byte and split at every offset', () => {
    const whole = run(mtls12.chunks);
    expect(run(mtls12.chunks, 1)).toEqual(whole);
    expect(run(mtls12.chunks, 7)).toEqual(whole);
    const total = mtls12.chunks.reduce((n, c) => n + c.bytes.length, 0);
    for (let at = 1; at < total; at++) {
      const anomalies: string[] = [];
      const d = new TlsDissector((c) => anomalies.push(c));
      feedSplitAt(d, mtls12.chunks, at);
      expect(d.result()).toEqual(whole.info);
      expect(anomalies).toEqual([]);
    }
  });
});

describe('TLS 1.3', () => {
  it('reports 1.3 through supported_versions and does not guess what is encrypted', () => {
    const { info, anomalies } = run(tls13.chunks);
    expect(anomalies).toEqual([]);
    expect(info.version).toBe('1.3');
    expect(info.clientVersion).toBe('1.3');
    expect(info.serverCertificates).toEqual([]);
    expect(info.clientCertRequested).toBeNull();
    expect(info.cipher).toMatch(/^TLS_AES_|^TLS_CHACHA20/);
    expect(info.established).toBe(true);
    expect(info.encryptedFromFrame[1]).toBe(info.serverHelloFrame);
    expect(info.helloRetryRequest).toBe(false);
    expect(info.ja4).toMatch(/^t13d\d{4}00_[0-9a-f]{12}_[0-9a-f]{12}$/);
    expect(run(tls13.chunks, 1).info).toEqual(info);
  });

  it('recognises a HelloRetryRequest and the real ServerHello after it', () => {
    const { info, anomalies } = run(hrr.chunks);
    expect(anomalies).toEqual([]);
    expect(info.helloRetryRequest).toBe(true);
    expect(info.version).toBe('1.3');
    expect(info.established).toBe(true);
    expect(info.serverHelloFrame).toBeGreaterThan(2);
    // The first ClientHello names the client: its only key-share group list is X25519, P-256.
    expect(info.supportedGroups).toEqual([29, 23]);
    expect(run(hrr.chunks, 3).info).toEqual(info);
  });

  it('sees PSK resumption', () => {
    const { info } = run(resumed13.chunks);
    expect(info.psk).toBe(true);
    expect(info.resumed).toBe(true);
    expect(info.established).toBe(true);
  });
});

describe('failures and resumption (TLS 1.2)', () => {
  it('reads the client’s plaintext unknown_ca alert and does not call the session established', () => {
    const { info, anomalies } = run(rejected.chunks);
    expect(anomalies).toEqual([]);
    const alerts = info.alerts.filter((a) => a.plaintext);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ level: 'fatal', description: 'unknown_ca', code: 48, from: 'client', plaintext: true });
    expect(info.established).toBe(false);
    expect(info.clientCertRequested).toBe(false);
    expect(info.serverCertificates.map((c) => c.issuer)).toEqual(['CN=kubernetes-ca']);
  });

  it('sees an abbreviated handshake: no Certificate, ticket presented, resumed', () => {
    const { info } = run(resumed12.chunks);
    expect(info.resumed).toBe(true);
    expect(info.sessionTicket).toBe(true);
    expect(info.serverCertificates).toEqual([]);
    expect(info.established).toBe(true);
    expect(info.clientCertRequested).toBeNull();
  });

  it('says requested=true from CertificateRequest alone (first server flight)', () => {
    const { info } = run(mtls12.chunks.slice(0, 2));
    expect(info.clientCertRequested).toBe(true);
    expect(info.established).toBe(false);
  });
});

describe('gaps', () => {
  it('stops the handshake on a gap inside it and keeps walking records', () => {
    const anomalies: string[] = [];
    const d = new TlsDissector((c) => anomalies.push(c));
    const [ch, sflight, ...rest] = mtls12.chunks;
    d.feed(0, ch.bytes, 0, ch.bytes.length, stampOf(1, 1));
    // Lose 100 bytes inside the server's Certificate record (it is far longer than 300 bytes).
    const certRecordStart = 5 + ((sflight.bytes[3] << 8) | sflight.bytes[4]);
    const cut = certRecordStart + 200;
    d.feed(1, sflight.bytes, 0, cut, stampOf(2, 2));
    d.gap(1, 100);
    d.feed(1, sflight.bytes, cut + 100, sflight.bytes.length, stampOf(2, 2));
    rest.forEach((c, i) => d.feed(c.dir, c.bytes, 0, c.bytes.length, stampOf(3 + i, 3 + i)));
    const info = d.result();
    expect(anomalies).toEqual(['tls.gap_in_handshake']);
    expect(info.serverCertificates).toEqual([]);
    expect(info.cipher).not.toBeNull();
    expect(info.appDataRecords).toEqual([1, 1]);
  });

  it('goes idle when a gap swallows a record header', () => {
    const anomalies: string[] = [];
    const d = new TlsDissector((c) => anomalies.push(c));
    feedRecording(d, mtls12.chunks.slice(0, 5));
    d.gap(0, 1000);
    const last = mtls12.chunks.filter((c) => c.dir === 0).at(-1)!;
    d.feed(0, last.bytes, 0, last.bytes.length, stampOf(99, 99));
    expect(anomalies).toEqual([]);
    expect(d.result().appDataRecords[0]).toBe(0);
  });
});

describe.skipIf(!hasTshark)('cross-check with tshark', () => {
  function tshark(rec: Recording, fields: string[]): string[][] {
    const dir = mkdtempSync(join(tmpdir(), 'planewatch-tls-'));
    const file = join(dir, 'c.pcap');
    writeFileSync(file, conversationToPcap(rec.chunks));
    const out = execFileSync('tshark', ['-r', file, '-Y', 'tls.handshake', '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
    });
    return out
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
  }

  it.each([
    ['TLS 1.2 mTLS', () => mtls12],
    ['TLS 1.3', () => tls13],
    ['HRR', () => hrr],
  ])('JA3, JA3S, SNI and cipher agree (%s)', (_name, get) => {
    const rec = get();
    const { info } = run(rec.chunks);
    const rows = tshark(rec, ['tls.handshake.ja3', 'tls.handshake.ja3_full', 'tls.handshake.ja3s', 'tls.handshake.extensions_server_name', 'tls.handshake.ciphersuite']);
    const ja3 = rows.map((r) => r[0]).filter((v) => v.length > 0);
    const ja3Full = rows.map((r) => r[1]).filter((v) => v.length > 0);
    const ja3s = rows.map((r) => r[2]).filter((v) => v.length > 0);
    expect(ja3[0]).toBe(info.ja3);
    expect(ja3Full[0]).toBe(info.ja3Full);
    expect(ja3s.at(-1)).toBe(info.ja3s);
    expect(rows.map((r) => r[3]).find((v) => v.length > 0)).toBe(info.sni);
    const serverCipher = rows.filter((r) => r[2].length > 0).at(-1)![4];
    expect(Number(serverCipher)).toBe(info.cipherId);
  });

  it('certificates agree (both chains of the TLS 1.2 mTLS handshake)', () => {
    const { info } = run(mtls12.chunks);
    const rows = tshark(mtls12, ['tls.handshake.certificate']);
    const hashes = rows
      .flatMap((r) => r[0].split(','))
      .filter((v) => v.length > 0)
      .map((h) => createHash('sha256').update(Buffer.from(h.replace(/:/g, ''), 'hex')).digest('hex'));
    expect(hashes).toEqual([...info.serverCertificates, ...info.clientCertificates].map((c) => c.sha256));
  });
});

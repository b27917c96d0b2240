import { constants } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AnomalyCounter, type AnomalyCode } from '../../../src/anomalies';
import type { TlsInfo } from '../../../src/model/records';
import { TlsDissector } from '../../../dissectors/tls/tls-dissector';
import { KeyLog, parseKeyLog } from '../../../dissectors/tls/decrypt/key-log';
import { createAppSession } from '../../../dissectors/app-session';
import { feedRecording, feedSplitAt, material } from './record-handshake';
import { recordKeyed, type KeyedRecording } from './decrypt-recorder';
import { stampOf } from '../../../src/flow/packet-stamp';

/**
 * Decryption of real node:tls (OpenSSL) connections with the client's key log: TLS 1.3 in all three
 * suites with a client certificate, TLS 1.2 AES-GCM, ChaCha20-Poly1305, and AES-CBC with
 * the MAC before encryption (as Go does) and after it (RFC 7366, as OpenSSL negotiates by default),
 * TLS 1.0 (chained IVs, the MD5 ⊕ SHA-1 PRF) and 1.1 on AES-CBC, and NULL suites (3DES, which node's
 * OpenSSL no longer negotiates, is covered in cbc-record-cipher.test.ts).
 * The recovered certificates and HTTP request must be those that were sent; a wrong key is counted,
 * never thrown.
 */
const REQUEST = 'GET /containerLogs/default/db-0/web?follow=true HTTP/1.1\r\nHost: 10.0.0.23:10250\r\nUser-Agent: kube-apiserver/v1.31.2\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nlog line one';

type Legacy = 'TLSv1' | 'TLSv1.1';

function record(
  cipher: string,
  tls13: boolean,
  extra: { alpn?: string[]; macThenEncrypt?: boolean; legacy?: Legacy } = {},
): Promise<KeyedRecording> {
  const version = extra.legacy ?? (tls13 ? 'TLSv1.3' : 'TLSv1.2');
  // OpenSSL 3 refuses TLS 1.0/1.1 and NULL suites above security level 0.
  if (extra.legacy !== undefined || cipher.includes('NULL')) cipher += ':@SECLEVEL=0';
  return recordKeyed({
    server: {
      cert: material.serverCert(),
      key: material.serverKey(),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ciphers: cipher,
      ALPNProtocols: extra.alpn,
      secureOptions: extra.macThenEncrypt ? constants.SSL_OP_NO_ENCRYPT_THEN_MAC : undefined,
    },
    client: {
      cert: material.clientCert(),
      key: material.clientKey(),
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ciphers: cipher,
      ALPNProtocols: extra.alpn,
    },
    request: REQUEST,
    response: RESPONSE,
  });
}

function dissect(rec: KeyedRecording, keyLog: KeyLog | null, split = Infinity): { d: TlsDissector; info: TlsInfo; anomalies: AnomalyCounter } {
  const anomalies = new AnomalyCounter();
  const d = new TlsDissector((c: AnomalyCode) => anomalies.add(c), { serverPort: 10250, keyLog });
  feedRecording(d, rec.chunks, split);
  d.end(0);
  d.end(1);
  return { d, info: d.result(), anomalies };
}

/** Flips one hex digit of every secret: same shape, wrong keys. */
function corrupt(keyLog: string): string {
  return keyLog
    .split('\n')
    .map((l) => {
      const parts = l.split(' ');
      if (parts.length !== 3) return l;
      const s = parts[2]!;
      parts[2] = (s[0] === '0' ? '1' : '0') + s.slice(1);
      return parts.join(' ');
    })
    .join('\n');
}

function summary(r: ReturnType<typeof dissect>): unknown {
  return {
    info: JSON.stringify(r.info),
    http: JSON.stringify(r.d.decryptedHttp()),
    anomalies: r.anomalies.toJSON(),
  };
}

const CASES = [
  { name: 'TLS 1.3 AES-128-GCM', cipher: 'TLS_AES_128_GCM_SHA256', tls13: true, suite: 'TLS_AES_128_GCM_SHA256' },
  { name: 'TLS 1.3 AES-256-GCM', cipher: 'TLS_AES_256_GCM_SHA384', tls13: true, suite: 'TLS_AES_256_GCM_SHA384' },
  { name: 'TLS 1.3 ChaCha20-Poly1305', cipher: 'TLS_CHACHA20_POLY1305_SHA256', tls13: true, suite: 'TLS_CHACHA20_POLY1305_SHA256' },
  { name: 'TLS 1.2 ECDHE-RSA-AES128-GCM', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' },
  { name: 'TLS 1.2 ECDHE-RSA-AES256-GCM', cipher: 'ECDHE-RSA-AES256-GCM-SHA384', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
  { name: 'TLS 1.2 ECDHE-RSA-ChaCha20', cipher: 'ECDHE-RSA-CHACHA20-POLY1305', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' },
  { name: 'TLS 1.2 ECDHE-RSA-AES128-CBC-SHA, encrypt-then-MAC', cipher: 'ECDHE-RSA-AES128-SHA', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', etm: true },
  { name: 'TLS 1.2 ECDHE-RSA-AES128-CBC-SHA, MAC-then-encrypt', cipher: 'ECDHE-RSA-AES128-SHA', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', etm: false },
  { name: 'TLS 1.2 ECDHE-RSA-AES256-CBC-SHA384, MAC-then-encrypt', cipher: 'ECDHE-RSA-AES256-SHA384', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', etm: false },
  { name: 'TLS 1.2 RSA-AES256-CBC-SHA256, encrypt-then-MAC', cipher: 'AES256-SHA256', tls13: false, suite: 'TLS_RSA_WITH_AES_256_CBC_SHA256', etm: true },
  // OpenSSL echoes encrypt_then_mac for NULL suites too; without a cipher both orders give the same bytes.
  { name: 'TLS 1.2 RSA-NULL-SHA256', cipher: 'NULL-SHA256', tls13: false, suite: 'TLS_RSA_WITH_NULL_SHA256', etm: true },
  { name: 'TLS 1.1 ECDHE-RSA-AES256-CBC-SHA, encrypt-then-MAC', cipher: 'ECDHE-RSA-AES256-SHA', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', etm: true, legacy: 'TLSv1.1' },
  { name: 'TLS 1.1 RSA-NULL-MD5', cipher: 'NULL-MD5', tls13: false, suite: 'TLS_RSA_WITH_NULL_MD5', etm: true, legacy: 'TLSv1.1' },
  { name: 'TLS 1.0 RSA-AES128-CBC-SHA, MAC-then-encrypt', cipher: 'AES128-SHA', tls13: false, suite: 'TLS_RSA_WITH_AES_128_CBC_SHA', etm: false, legacy: 'TLSv1' },
  { name: 'TLS 1.0 ECDHE-RSA-AES256-CBC-SHA, encrypt-then-MAC', cipher: 'ECDHE-RSA-AES256-SHA', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', etm: true, legacy: 'TLSv1' },
  { name: 'TLS 1.0 ECDHE-RSA-NULL-SHA', cipher: 'ECDHE-RSA-NULL-SHA', tls13: false, suite: 'TLS_ECDHE_RSA_WITH_NULL_SHA', etm: true, legacy: 'TLSv1' },
] as const;

describe.each(CASES)('decryption: $name', (c) => {
  const { cipher, tls13, suite } = c;
  const etm = 'etm' in c ? c.etm : undefined;
  const legacy = 'legacy' in c ? c.legacy : undefined;
  let rec: KeyedRecording;
  beforeAll(async () => {
    rec = await record(cipher, tls13, { macThenEncrypt: etm === false, legacy });
  });

  it(etm === undefined ? 'negotiates an AEAD suite (no MAC order)' : `negotiates ${etm ? 'encrypt-then-MAC' : 'MAC-then-encrypt'}`, () => {
    const r = dissect(rec, null);
    // encrypt_then_mac (RFC 7366) in the ServerHello: only a CBC or NULL suite under test may carry it.
    expect(r.info.serverExtensions.includes(0x0016)).toBe(etm === true);
  });

  it('records a complete keyed session', () => {
    expect(rec.clientError).toBeNull();
    expect(rec.serverError).toBeNull();
    expect(rec.keyLog).toMatch(tls13 ? /SERVER_HANDSHAKE_TRAFFIC_SECRET / : /CLIENT_RANDOM /);
  });

  it('recovers the certificates, CertificateRequest and the HTTP request', () => {
    const r = dissect(rec, parseKeyLog(rec.keyLog));
    expect(r.anomalies.toJSON()).toEqual({});
    expect(r.info.cipher).toBe(suite);
    expect(r.info.version).toBe(tls13 ? '1.3' : legacy === 'TLSv1' ? '1.0' : legacy === 'TLSv1.1' ? '1.1' : '1.2');
    expect(r.info.decrypted).toBe(true);
    expect(r.info.serverCertificates.map((c) => c.subjectCN)).toEqual(['worker-1']);
    expect(r.info.clientCertificates.map((c) => c.subject)).toEqual(['CN=system:node:worker-1,O=system:nodes']);
    expect(r.info.clientCertRequested).toBe(true);
    expect(r.info.established).toBe(true);
    const http = r.d.decryptedHttp();
    expect(http).toHaveLength(1);
    expect(http[0]).toMatchObject({
      method: 'GET',
      path: '/containerLogs/default/db-0/web?follow=true',
      host: '10.0.0.23:10250',
      status: 200,
      responseBodyBytes: 12,
    });
    expect(http[0]!.k8s).toMatchObject({ api: 'kubelet', operation: 'logs' });
  });

  it('without keys sees only what is on the wire', () => {
    const r = dissect(rec, null);
    expect(r.info.decrypted).toBe(false);
    expect(r.d.decryptedHttp()).toEqual([]);
    if (tls13) {
      expect(r.info.serverCertificates).toEqual([]);
      expect(r.info.clientCertRequested).toBeNull();
    }
    // An unrelated key log changes nothing.
    expect(summary(dissect(rec, parseKeyLog(`CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`)))).toEqual(summary(r));
  });

  it('a wrong key counts tls.decrypt_failed and stops decrypting, without throwing', () => {
    const r = dissect(rec, parseKeyLog(corrupt(rec.keyLog)));
    expect(r.anomalies.get('tls.decrypt_failed')).toBe(1);
    expect(r.info.decrypted).toBe(false);
    expect(r.d.decryptedHttp()).toEqual([]);
    // The plaintext handshake is still read.
    expect(r.info.cipher).toBe(suite);
    if (!tls13) expect(r.info.serverCertificates).toHaveLength(1);
  });

  it('gives the same result however the stream is split', () => {
    const keyLog = parseKeyLog(rec.keyLog);
    const whole = summary(dissect(rec, keyLog));
    expect(summary(dissect(rec, keyLog, 1))).toEqual(whole);
    expect(summary(dissect(rec, keyLog, 7))).toEqual(whole);
    const total = rec.chunks.reduce((n, c) => n + c.bytes.length, 0);
    for (let at = 1; at < total; at += 97) {
      const anomalies = new AnomalyCounter();
      const d = new TlsDissector((c: AnomalyCode) => anomalies.add(c), { serverPort: 10250, keyLog });
      feedSplitAt(d, rec.chunks, at);
      d.end(0);
      d.end(1);
      expect(summary({ d, info: d.result(), anomalies }), `split at ${at}`).toEqual(whole);
    }
  });
});

describe('decryption through the application session', () => {
  it('a decrypted connection stays "tls" and carries the inner requests as its http evidence', async () => {
    const rec = await record('TLS_AES_128_GCM_SHA256', true, { alpn: ['http/1.1'] });
    const keyLog = new KeyLog();
    keyLog.addText(rec.keyLog);
    const meta = { client: { ip: '10.0.0.10', port: 40000 }, server: { ip: '10.0.0.23', port: 10250 }, transport: 'tcp' as const };
    const s = createAppSession(meta, null, { keyLog });
    rec.chunks.forEach((c, i) => s.onData(c.dir, c.bytes, 0, c.bytes.length, stampOf(1000 + i, i + 1)));
    s.onEnd(0);
    s.onEnd(1);
    const ev = s.describe();
    expect(ev.app).toBe('tls');
    expect(ev.tls?.decrypted).toBe(true);
    expect(ev.tls?.alpnSelected).toBe('http/1.1');
    expect(ev.http.map((h) => `${h.method} ${h.path} ${h.status}`)).toEqual(['GET /containerLogs/default/db-0/web?follow=true 200']);

    const plain = createAppSession(meta, null, {});
    rec.chunks.forEach((c, i) => plain.onData(c.dir, c.bytes, 0, c.bytes.length, stampOf(1000 + i, i + 1)));
    expect(plain.describe().http).toEqual([]);
  });
});

describe('decryption with damaged records', () => {
  it('mutated ciphertext with the right keys never throws; failures are counted', async () => {
    const rec = await record('TLS_AES_128_GCM_SHA256', true);
    const keyLog = parseKeyLog(rec.keyLog);
    const total = rec.chunks.reduce((n, c) => n + c.bytes.length, 0);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(total - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
        const chunks = rec.chunks.map((c) => ({ dir: c.dir, bytes: c.bytes.slice() }));
        for (const [at, x] of flips) {
          let pos = at;
          for (const c of chunks) {
            if (pos < c.bytes.length) {
              c.bytes[pos] ^= x;
              break;
            }
            pos -= c.bytes.length;
          }
        }
        const r = dissect({ ...rec, chunks }, keyLog, 13);
        expect(r.anomalies.get('dissector.exception')).toBe(0);
        expect(r.anomalies.get('tls.decrypt_failed')).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150 },
    );
  });
});

describe('TLS 1.0/1.1 master secrets logged only after the client protected its first record', () => {
  /** The connection with a key log that receives the secrets at the second forced read (the server's first protected record). */
  async function lateKeys(legacy: Legacy): Promise<ReturnType<typeof dissect>> {
    const rec = await record('AES128-SHA', false, { legacy, macThenEncrypt: true });
    const keys = new KeyLog();
    let forced = 0;
    keys.follow = (force: boolean) => {
      if (force) forced++;
      return forced === 2 && keys.addText(rec.keyLog) > 0;
    };
    return dissect(rec, keys);
  }

  it('TLS 1.1 (explicit IVs): the client records that went by unopened count in its sequence numbers', async () => {
    const r = await lateKeys('TLSv1.1');
    expect(r.anomalies.toJSON()).toEqual({});
    expect(r.info.decrypted).toBe(true);
    expect(r.d.decryptedHttp().map((h) => [h.path, h.status])).toEqual([['/containerLogs/default/db-0/web?follow=true', 200]]);
  });

  it("TLS 1.0 (chained IVs): the client's side cannot be picked up midway and is left alone, the server's is read", async () => {
    const r = await lateKeys('TLSv1');
    expect(r.anomalies.get('tls.decrypt_failed')).toBe(0);
    expect(r.info.decrypted).toBe(true);
    expect(r.d.decryptedHttp().map((h) => h.path)).not.toContain('/containerLogs/default/db-0/web?follow=true');
  });
});

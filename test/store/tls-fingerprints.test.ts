import { describe, expect, it } from 'vitest';
import { FlowWriter, iterateStoredFlows, openStore, type Db } from '../../src/store/store';
import { FingerprintWriter, type HelloFingerprint } from '../../src/store/tls-fingerprints';
import { fixtureCert, flow, tls } from '../analysis/flow-builder';

const hello = {
  clientCiphers: [0x0a0a, 4865, 4866, 49195],
  clientExtensions: [0x1a1a, 0, 10, 11, 13, 16, 43, 51],
  serverExtensions: [43, 51],
  supportedGroups: [29, 23],
  signatureAlgorithms: [1027, 2052],
  supportedVersions: [772, 771],
  ecPointFormats: [0],
  ja3: 'aa', ja3Full: '771,4865-4866-49195,0-10-11-13-16-43-51,29-23,0',
  ja3s: 'bb', ja3sFull: '771,4865,43-51',
  ja4: 't13d0307h2_aaaaaaaaaaaa_bbbbbbbbbbbb',
};

function store(db: Db, records: ReturnType<typeof flow>[]): void {
  db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', 'now')`).run();
  const w = new FlowWriter(db, 1);
  for (const r of records) w.add(r);
  w.flush();
}

describe('TLS hello fingerprints in the store', () => {
  it('are stored once for the flows that share them and read back into each flow unchanged', () => {
    const db = openStore(':memory:');
    const server = fixtureCert('kubelet-self');
    const a = flow('10.0.0.10:40000', '10.0.1.21:10250', { app: 'tls', tls: tls('1.3', { ...hello, sni: 'a', serverCertificates: [server] }) });
    const b = flow('10.0.0.10:40001', '10.0.1.22:10250', { app: 'tls', tls: tls('1.3', { ...hello, sni: 'b', alpn: ['h2'] }) });
    const other = flow('10.0.0.11:40002', '10.0.1.22:10250', { app: 'tls', tls: tls('1.2', { ...hello, ja4: 't12d0307h2_cccccccccccc_dddddddddddd' }) });
    store(db, [a, b, other]);
    expect(db.prepare(`SELECT COUNT(*) FROM tls_fingerprints`).pluck().get()).toBe(2);
    // A session refers to its fingerprint; TLS alone leaves no JSON evidence behind.
    expect(db.prepare(`SELECT COUNT(DISTINCT fingerprint) FROM tls_sessions`).pluck().get()).toBe(2);
    expect(db.prepare(`SELECT COUNT(*) FROM flow_evidence`).pluck().get()).toBe(0);
    const back = [...iterateStoredFlows(db)];
    expect(back.map((f) => f.tls)).toEqual([a.tls, b.tls, other.tls]);
    db.close();
  });

  it('evidence written with the fields inline (before they had a table) reads as it did', () => {
    const db = openStore(':memory:');
    const a = flow('10.0.0.10:40000', '10.0.1.21:10250', { app: 'tls', tls: tls('1.2', hello) });
    store(db, [a]);
    const { serverCertificates: _s, clientCertificates: _c, ...inline } = a.tls!;
    // As a version before 5 wrote it: the TLS part in the JSON evidence, the fingerprint's fields inline.
    db.prepare(`INSERT INTO flow_evidence (flow_id, evidence) VALUES (1, ?)`).run(
      JSON.stringify({ tls: { ...inline, serverCertificates: [], clientCertificates: [] }, http: [], ssh: null }),
    );
    db.prepare(`UPDATE tls_sessions SET fingerprint = NULL, cipher = 'from the session row'`).run();
    db.prepare(`DELETE FROM tls_fingerprints`).run();
    expect([...iterateStoredFlows(db)][0]!.tls).toEqual(a.tls);
    db.close();
  });

  it('read back with every field of the connection in place', () => {
    const db = openStore(':memory:');
    const a = flow('10.0.0.10:40000', '10.0.1.21:10250', {
      app: 'tls',
      tls: tls('1.2', {
        ...hello, clientVersion: '1.3', sni: 'node-1', alpn: ['h2', 'http/1.1'], alpnSelected: 'h2',
        cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', cipherId: 49199, sessionTicket: true, psk: true, ech: true,
        helloRetryRequest: true, resumed: true, serverCertificates: [fixtureCert('server-rsa'), fixtureCert('ca-rsa')],
        clientCertificates: [fixtureCert('client-rsa')], clientCertRequested: true,
        alerts: [{ from: 'server', level: 'fatal', code: 42, description: 'bad_certificate', frame: 9, ts: 1.5, plaintext: true }],
        established: false, encryptedFromFrame: [7, 8], appDataRecords: [2, 3], appDataBytes: [40, 50],
        clientHelloFrame: 4, serverHelloFrame: 5, certificateFrame: 6, decrypted: true,
      }),
    });
    store(db, [a]);
    expect([...iterateStoredFlows(db)][0]!.tls).toEqual(a.tls);
    db.close();
  });

  for (const [name, hash] of [['a real hash', undefined], ['every fingerprint colliding', () => 0]] as const) {
    it(`are told apart by every field, with ${name}`, () => {
      const db = openStore(':memory:');
      const writer = new FingerprintWriter(db, hash);
      const variants: HelloFingerprint[] = [
        hello,
        { ...hello, clientCiphers: [0x2a2a, 4865, 4866, 49195] }, // another GREASE value only
        { ...hello, clientExtensions: [0x1a1a, 0, 10, 11, 13, 16, 43] },
        { ...hello, serverExtensions: [43] },
        { ...hello, supportedGroups: [23, 29] },
        { ...hello, signatureAlgorithms: [1027] },
        { ...hello, supportedVersions: [772] },
        { ...hello, ecPointFormats: [] },
        { ...hello, ja3: 'cc' },
        { ...hello, ja3Full: '769,4865' },
        { ...hello, ja3s: 'dd' },
        { ...hello, ja3sFull: null },
        { ...hello, ja4: null },
      ];
      const ids = db.transaction(() => variants.map((v) => writer.idOf(v)))();
      expect(new Set(ids).size).toBe(variants.length);
      // Equal fields in other arrays give the same id.
      expect(db.transaction(() => writer.idOf(structuredClone(hello)))()).toBe(ids[0]);
      // What is remembered does not change with the connection's lists it was first seen in.
      const first: HelloFingerprint = { ...structuredClone(hello), ja4: 't13d0000h2_eeeeeeeeeeee_ffffffffffff' };
      const pristine = structuredClone(first);
      const id = db.transaction(() => writer.idOf(first))();
      first.clientCiphers.push(1);
      expect(db.transaction(() => writer.idOf(pristine))()).toBe(id);
      expect(db.transaction(() => writer.idOf(first))()).not.toBe(id);
      db.close();
    });
  }
});

import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { constants as cryptoConstants } from 'node:crypto';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnPlanewatch, waitExit, waitFor } from './live-helpers';

const hasTcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;
const ADDR = '127.0.0.77';

function get(req: typeof httpRequest, port: number, path: string, extra: object = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = req({ host: ADDR, port, path, agent: false, ...extra }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end();
  });
}

/** A kubelet-like serving certificate and key in `dir`: self-signed, CN=<node>@<epoch>, as kubelets make by default. */
function kubeletCertificate(dir: string, cn: string): { key: Buffer; cert: Buffer } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${cn}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

describe.skipIf(!hasTcpdump || !isRoot)('planewatch live -i lo (tcpdump)', () => {
  it('captures loopback kubelet traffic the test makes, finds the read-only port, and closes cleanly on SIGINT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-live-lo-'));
    const db = join(dir, 'x.db');
    const evidence = join(dir, 'evidence');
    const kubelet = createHttpsServer(kubeletCertificate(dir, 'worker-1@1700000000'), (_q, s) => s.end('log line\n'));
    const readOnly = createHttpServer((_q, s) => {
      s.setHeader('content-type', 'application/json');
      s.end('{"kind":"PodList","items":[]}');
    });
    await new Promise<void>((r) => kubelet.listen(10250, ADDR, r));
    await new Promise<void>((r) => readOnly.listen(10255, ADDR, r));
    const child = spawnPlanewatch(['live', '-i', 'lo', '--bpf', `host ${ADDR}`, '--db', db, '--evidence', evidence]);
    try {
      await waitFor(() => (existsSync(db) ? true : undefined), 10_000, 'the database');
      // tcpdump says it is listening before the first packet can be taken: give it that moment.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await get(httpsRequest, 10250, '/containerLogs/default/web/app', { rejectUnauthorized: false })).toBe(200);
      expect(await get(httpRequest, 10255, '/pods')).toBe(200);
      const t0 = Date.now();
      const d = new Database(db, { readonly: true });
      try {
        await waitFor(() => {
          const ports = d.prepare(`SELECT DISTINCT server_port FROM flows WHERE server_ip = ?`).pluck().all(ADDR) as number[];
          return ports.includes(10250) && ports.includes(10255) ? true : undefined;
        }, 8000, 'both flows');
        await waitFor(() => (d.prepare(`SELECT 1 FROM findings WHERE rule = 'kubelet-readonly-port'`).get() ? true : undefined), 8000,
          'the read-only-port finding');
        expect(Date.now() - t0).toBeLessThan(5000);
        const tls = d.prepare(`SELECT t.server_subject FROM tls_sessions t JOIN flows f ON f.id = t.flow_id WHERE f.server_port = 10250`).get() as
          { server_subject: string | null } | undefined;
        if (tls?.server_subject) expect(tls.server_subject).toContain('worker-1@1700000000');
      } finally {
        d.close();
      }
      child.kill('SIGINT');
      expect(await waitExit(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      kubelet.close();
      readOnly.close();
    }
    expect(child.output()).toMatch(/kernel drops \d+, our drops 0/);
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
      expect(d.prepare(`SELECT status FROM captures`).pluck().get()).toBe('complete');
      expect(d.prepare(`SELECT running FROM live_status`).pluck().get()).toBe(0);
    } finally {
      d.close();
    }
    expect(readdirSync(evidence).some((f) => f.endsWith('.pcap'))).toBe(true);
  });

  it('decrypts with a key log that the clients write while the capture runs (TLS 1.3, and TLS 1.2 CBC with MAC-then-encrypt)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-live-lo-'));
    const db = join(dir, 'x.db');
    const keys = join(dir, 'sslkeylog.txt');
    const addr = '127.0.0.78';
    // Go's crypto/tls has no encrypt-then-MAC: a kubelet serving CBC does MAC-then-encrypt.
    const kubelet = createHttpsServer(
      { ...kubeletCertificate(dir, 'worker-2@1700000000'), secureOptions: cryptoConstants.SSL_OP_NO_ENCRYPT_THEN_MAC },
      (_q, s) => s.end('log line\n'),
    );
    await new Promise<void>((r) => kubelet.listen(10250, addr, r));
    /** A GET whose client appends its secrets to the key log as it makes them, as SSLKEYLOGFILE does. */
    const keyedGet = (path: string, tls: object): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = httpsRequest({ host: addr, port: 10250, path, agent: false, rejectUnauthorized: false, ...tls }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        r.on('socket', (sock) => sock.on('keylog', (line: Buffer) => appendFileSync(keys, line)));
        r.on('error', reject);
        r.end();
      });
    const written = join(dir, 'live.pcapng');
    const child = spawnPlanewatch(['live', '-i', 'lo', '--bpf', `host ${addr}`, '--keylog', keys, '--db', db, '--write', written]);
    try {
      await waitFor(() => (existsSync(db) ? true : undefined), 10_000, 'the database');
      await new Promise((r) => setTimeout(r, 1500));
      expect(await keyedGet('/containerLogs/default/web/tls13', {})).toBe(200);
      expect(await keyedGet('/containerLogs/default/web/cbc', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' })).toBe(200);
      const d = new Database(db, { readonly: true });
      try {
        const rows = await waitFor(() => {
          const r = d.prepare(`SELECT t.version, t.cipher, h.path FROM http_requests h JOIN tls_sessions t ON t.flow_id = h.flow_id ORDER BY h.path`).all() as
            { version: string; cipher: string; path: string }[];
          return r.length === 2 ? r : undefined;
        }, 10_000, 'both decrypted requests');
        expect(rows).toEqual([
          { version: '1.2', cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', path: '/containerLogs/default/web/cbc' },
          { version: '1.3', cipher: expect.stringMatching(/^TLS_AES_/), path: '/containerLogs/default/web/tls13' },
        ]);
      } finally {
        d.close();
      }
      child.kill('SIGINT');
      expect(await waitExit(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      kubelet.close();
    }
    expect(child.output()).toMatch(/key log .*sslkeylog\.txt does not exist yet/);
    // --write kept the packets and the secrets read while they went by: the file decrypts on its own.
    expect(child.output()).toMatch(/(\d+) packets, .* \1 packets written to .*live\.pcapng/);
    const again = join(dir, 'again.db');
    const analyze = spawnPlanewatch(['analyze', written, '--db', again, '--quiet']);
    expect(await waitExit(analyze, 30_000)).toBe(0);
    const d = new Database(again, { readonly: true });
    try {
      expect(d.prepare(`SELECT h.path FROM http_requests h ORDER BY h.path`).pluck().all())
        .toEqual(['/containerLogs/default/web/cbc', '/containerLogs/default/web/tls13']);
    } finally {
      d.close();
    }
  });

  it('says in one line why tcpdump cannot capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-live-lo-'));
    const child = spawnPlanewatch(['live', '-i', 'no-such-if0', '--db', join(dir, 'x.db')]);
    expect(await waitExit(child)).toBe(4);
    expect(child.output()).toMatch(/planewatch: tcpdump failed: .*no-such-if0/);
  });
});

/**
 * A port scan as the kernel answers it: connections to the control plane's default ports on a
 * loopback address where nothing listens are refused (RST), recorded by tcpdump, beside one
 * connection that opens to a server listening on that address. The refused ones give the address no
 * role, raise no finding and say they were attempts; the summary counts them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, hasTool, startCapture } from './loopback-capture';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const dir = mkdtempSync(join(tmpdir(), 'pw-scan-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A loopback address of this run's own: nothing binds it but what this test starts (a server on
// 0.0.0.0 would answer here too: such ports are left out of the scan below).
const TARGET = `127.0.77.${10 + (process.pid % 200)}`;
const PCAP = join(dir, 'scan.pcap');
const DB = join(dir, 'scan.db');
const SCANNED = [6443, 10250, 10255, 2379, 2380, 8132];

/** Connects once: 'refused' when the kernel answers with a RST. */
function knock(port: number): Promise<'refused' | 'open' | 'other'> {
  return new Promise((resolve) => {
    const c = net.connect(port, TARGET);
    c.once('connect', () => {
      c.destroy();
      resolve('open');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : 'other'));
  });
}

describe.skipIf(!hasTool('tcpdump'))('a port scan recorded on loopback', () => {
  const refused: number[] = [];
  let openPort = 0;
  let summary = '';

  beforeAll(async () => {
    const server = net.createServer((s) => s.end('hello\n'));
    openPort = await freePort(TARGET);
    await new Promise<void>((r) => server.listen(openPort, TARGET, r));
    const capture = await startCapture(PCAP, ['host', TARGET]);
    try {
      for (const port of SCANNED) if ((await knock(port)) === 'refused') refused.push(port);
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(openPort, TARGET, () => c.end('hi\n'));
        c.resume();
        c.once('close', () => resolve());
        c.once('error', reject);
      });
    } finally {
      await capture.stop();
      server.close();
    }
    const r = spawnSync(process.execPath, [CLI, 'analyze', PCAP, '--db', DB], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    summary = r.stdout;
  }, 30_000);

  it('records the refused attempts as REJ: path other, no finding, a reason saying so', () => {
    expect(refused.length).toBeGreaterThanOrEqual(3);
    const db = new Database(DB, { readonly: true });
    try {
      const rows = db
        .prepare(`SELECT server_port AS port, state, path, reasons, finding_count AS findings FROM flows WHERE server_ip = ? ORDER BY server_port`)
        .all(TARGET) as { port: number; state: string; path: string; reasons: string; findings: number }[];
      const attempts = rows.filter((r) => r.port !== openPort);
      expect(attempts.map((r) => r.port).sort()).toEqual([...refused].sort());
      for (const r of attempts) {
        expect(r, `port ${r.port}`).toMatchObject({ state: 'REJ', path: 'other', findings: 0 });
        expect(JSON.parse(r.reasons).at(-1)).toBe('a connection attempt only: the server refused it (RST) (REJ), no byte exchanged; the path is the one it aimed at');
      }
      expect(rows.find((r) => r.port === openPort)?.state).toBe('SF');
      // The refused ports say nothing about what listens on the address.
      const roles = db.prepare(`SELECT roles FROM endpoints WHERE ip = ?`).pluck().get(TARGET) as string;
      expect(JSON.parse(roles)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("counts them in analyze's summary and lists them with flows --state REJ", () => {
    expect(summary).toContain(`(${refused.length} connection attempt${refused.length === 1 ? '' : 's'} never opened: ${refused.length} REJ;`);
    // One scanner, the one ports of one address.
    const n = refused.length;
    expect(summary).toMatch(n === 1 ? /\(from 1 address\)/ : new RegExp(`\\(from 1 address; most by 127\\.[0-9.]+ made ${n}, to 1 address on ${n} ports\\)`));
    const listed = spawnSync(process.execPath, [CLI, 'flows', '--db', DB, '--state', 'REJ', '--json'], { encoding: 'utf8' });
    expect(listed.status, listed.stderr).toBe(0);
    const flows = JSON.parse(listed.stdout) as { server: string; state: string }[];
    expect(flows.map((f) => f.server).sort()).toEqual(refused.map((p) => `${TARGET}:${p}`).sort());
    expect(flows.every((f) => f.state === 'REJ')).toBe(true);
  });
});

import Database from 'better-sqlite3';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { geneve, tzsp, vxlan } from '../decode/builders';
import { parseListen } from '../../src/live/udp-mirror-source';
import { conversationFrames, readOnlyPortRequest } from './packets';
import { spawnPlanewatch, waitExit, waitFor } from './live-helpers';

describe('planewatch live --vxlan / --geneve / --tzsp', () => {
  it('parses [ADDR:]PORT', () => {
    expect(parseListen('vxlan', '4789')).toEqual({ kind: 'vxlan', address: '0.0.0.0', port: 4789 });
    expect(parseListen('tzsp', '127.0.0.1:37008')).toEqual({ kind: 'tzsp', address: '127.0.0.1', port: 37008 });
    expect(parseListen('geneve', '[::1]:6081')).toEqual({ kind: 'geneve', address: '::1', port: 6081 });
    expect(parseListen('vxlan', 'nope')).toBeNull();
    expect(parseListen('vxlan', '70000')).toBeNull();
  });

  // Geneve carries Ethernet as protocol type 0x6558 (transparent Ethernet bridging).
  const mirrors = [
    { kind: 'vxlan', wrap: (f: Uint8Array) => vxlan(42, f), tunnel: { type: 'vxlan', id: 42 } },
    { kind: 'geneve', wrap: (f: Uint8Array) => geneve(77, 0x6558, f), tunnel: { type: 'geneve', id: 77 } },
    { kind: 'tzsp', wrap: (f: Uint8Array) => tzsp(f), tunnel: { type: 'tzsp' } },
  ] as const;

  for (const m of mirrors) {
    it(`receives ${m.kind}-encapsulated mirrored frames over UDP and stores the inner flows`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `pw-live-${m.kind}-`));
      const db = join(dir, 'x.db');
      const child = spawnPlanewatch(['live', `--${m.kind}`, '127.0.0.1:0', '--db', db]);
      const port = await waitFor(() => {
        const match = new RegExp(`receiving ${m.kind} on 127\\.0\\.0\\.1:(\\d+)`).exec(child.output());
        return match ? Number(match[1]) : undefined;
      }, 10_000, 'the listener');
      // Each datagram: the mirror header + the inner Ethernet/IPv4/TCP frame of a
      // 10.1.0.5:41000 → 10.1.0.21:10255 read-only-port request.
      const sock = createSocket('udp4');
      for (const frame of conversationFrames(readOnlyPortRequest('10.1.0.5', '10.1.0.21', 41000))) {
        await new Promise<void>((r) => sock.send(m.wrap(frame), port, '127.0.0.1', () => r()));
      }
      sock.close();
      const t0 = Date.now();
      const d = new Database(db, { readonly: true });
      try {
        const row = await waitFor(
          () => d.prepare(`SELECT client_ip, server_ip, server_port, tunnel FROM flows`).get() as
            { client_ip: string; server_ip: string; server_port: number; tunnel: string } | undefined,
          5000, 'the inner flow',
        );
        expect(Date.now() - t0).toBeLessThan(3000);
        expect(row.client_ip).toBe('10.1.0.5');
        expect(row.server_ip).toBe('10.1.0.21');
        expect(row.server_port).toBe(10255);
        expect(JSON.parse(row.tunnel)).toMatchObject(m.tunnel);
        await waitFor(() => (d.prepare(`SELECT 1 FROM findings WHERE rule = 'kubelet-readonly-port'`).get() ? true : undefined), 5000, 'the finding');
      } finally {
        d.close();
      }
      child.kill('SIGINT');
      expect(await waitExit(child)).toBe(0);
      expect(child.output()).toMatch(/8 packets, 1 flows, kernel drops 0, our drops 0/);
    });
  }
});

import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conversationFrames, pcapOf, readOnlyPortRequest } from './packets';
import { spawnPlanewatch, waitExit } from './live-helpers';

describe('planewatch live --stdin', () => {
  it('reads a pcap stream from a pipe into the database, classified, and closes it cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-live-stdin-'));
    const db = join(dir, 'x.db');
    // 8 frames: 10.0.0.10:40000 → 10.0.0.21:10255, SYN … GET /pods … 200 OK … FIN/FIN/ACK
    const pcap = pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000)));
    const child = spawnPlanewatch(['live', '--stdin', '--db', db], { stdin: 'pipe' });
    child.stdin!.end(Buffer.from(pcap));
    expect(await waitExit(child)).toBe(0);
    expect(child.output()).toMatch(/8 packets, 1 flows, kernel drops 0, our drops 0/);
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
      const flows = d.prepare('SELECT client_ip, server_ip, server_port, app, end_reason FROM flows').all();
      expect(flows).toEqual([{ client_ip: '10.0.0.10', server_ip: '10.0.0.21', server_port: 10255, app: 'http', end_reason: 'fin' }]);
      const rules = d.prepare('SELECT rule FROM findings').pluck().all();
      expect(rules).toContain('kubelet-readonly-port');
      expect(d.prepare(`SELECT status FROM captures`).pluck().get()).toBe('complete');
      expect(d.prepare(`SELECT running, packets, our_drops FROM live_status`).get()).toEqual({ running: 0, packets: 8, our_drops: 0 });
    } finally {
      d.close();
    }
  });

  it('says clearly when the input is not a capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-live-stdin-'));
    const child = spawnPlanewatch(['live', '--stdin', '--db', join(dir, 'x.db')], { stdin: 'pipe' });
    child.stdin!.end('hello, this is not a pcap\n');
    expect(await waitExit(child)).toBe(4);
    expect(child.output()).toMatch(/not a pcap or pcapng stream/);
  });
});

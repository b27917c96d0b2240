import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnPlanewatch, waitExit, waitFor } from './live-helpers';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'captures/samples');
const KEYS = join(ROOT, 'captures/keylogs/kubelet-logs-tls13.keys');
const dir = mkdtempSync(join(tmpdir(), 'pw-live-keylog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the database holds of the one TLS 1.3 kubelet connection of the sample. */
function decrypted(db: string): { paths: string[]; serverSubject: string | null; rules: string[] } {
  const d = new Database(db, { readonly: true });
  try {
    return {
      paths: d.prepare(`SELECT path FROM http_requests ORDER BY id`).pluck().all() as string[],
      serverSubject: d.prepare(`SELECT server_subject FROM tls_sessions`).pluck().get() as string | null,
      rules: d.prepare(`SELECT rule FROM findings ORDER BY rule`).pluck().all() as string[],
    };
  } finally {
    d.close();
  }
}

const LOGS_REQUEST = '/containerLogs/default/db-0/web?follow=true';

describe('planewatch live --keylog', () => {
  it('decrypts TLS 1.3 with a key log given at start', async () => {
    const db = join(dir, 'start.db');
    const child = spawnPlanewatch(['live', '--stdin', '--keylog', KEYS, '--db', db], { stdin: 'pipe' });
    child.stdin!.end(readFileSync(join(SAMPLES, 'kubelet-logs-tls13.pcap')));
    expect(await waitExit(child)).toBe(0);
    const r = decrypted(db);
    expect(r.paths).toEqual([LOGS_REQUEST]);
    expect(r.serverSubject).toBe('CN=worker-3@1756684800');
    expect(r.rules).toContain('kubelet-tls-unverified');
    expect(r.rules).not.toContain('kubelet-tls-indeterminate');
  });

  it('reads a key log that a client creates after the capture started', async () => {
    const db = join(dir, 'late.db');
    const keys = join(dir, 'late.keys');
    const child = spawnPlanewatch(['live', '--stdin', '--keylog', keys, '--db', db], { stdin: 'pipe' });
    await waitFor(() => (/does not exist yet/.test(child.output()) ? true : undefined), 15_000, 'the note about the missing key log');
    copyFileSync(KEYS, keys);
    child.stdin!.end(readFileSync(join(SAMPLES, 'kubelet-logs-tls13.pcap')));
    expect(await waitExit(child)).toBe(0);
    expect(decrypted(db).paths).toEqual([LOGS_REQUEST]);
  });

  it('uses the Decryption Secrets Block of a pcapng stream', async () => {
    const db = join(dir, 'dsb.db');
    const child = spawnPlanewatch(['live', '--stdin', '--db', db], { stdin: 'pipe' });
    child.stdin!.end(readFileSync(join(SAMPLES, 'kubelet-logs-tls13.dsb.pcapng')));
    expect(await waitExit(child)).toBe(0);
    expect(decrypted(db).paths).toEqual([LOGS_REQUEST]);
  });

  it('without keys the kubelet certificate stays unseen', async () => {
    const db = join(dir, 'none.db');
    const child = spawnPlanewatch(['live', '--stdin', '--db', db], { stdin: 'pipe' });
    child.stdin!.end(readFileSync(join(SAMPLES, 'kubelet-logs-tls13.pcap')));
    expect(await waitExit(child)).toBe(0);
    const r = decrypted(db);
    expect(r.paths).toEqual([]);
    expect(r.rules).toContain('kubelet-tls-indeterminate');
  });
});

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runLive } from '../../src/live/live-session';
import { conversationFrames, pcapOf, readOnlyPortRequest } from './packets';

const PCAP_HEADER_BYTES = 24;

async function until<T>(what: string, get: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('live capture classifies each flow as it is written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-live-inline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores a flow with its path and findings without waiting for the next pass over the database', async () => {
    const db = join(dir, 'live.db');
    const input = new PassThrough();
    // A pass over the whole database runs at the first write only: an hour must pass before the next.
    const done = runLive({ db, source: { kind: 'stdin', input }, statusIntervalMs: 20, classifyIntervalMs: 3_600_000, log: () => {} });
    const read = new Database(db, { readonly: true });
    try {
      const row = (port: number) =>
        read.prepare(`SELECT path, finding_count, (SELECT group_concat(rule) FROM findings WHERE flow_id = flows.id) AS rules
          FROM flows WHERE client_port = ?`).get(port) as { path: string | null; finding_count: number; rules: string | null } | undefined;
      input.write(pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000))));
      const first = await until('the first flow', () => row(40000));
      expect(first.path).toBe('apiserver-to-kubelet');
      // The next flow arrives long before another pass may run.
      input.write(pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.22', 40001)), 1_700_000_001).subarray(PCAP_HEADER_BYTES));
      const second = await until('the second flow', () => row(40001));
      expect(second.path).toBe('apiserver-to-kubelet');
      expect(second.rules?.split(',')).toContain('kubelet-readonly-port');
      expect(second.finding_count).toBe(second.rules!.split(',').length);
    } finally {
      read.close();
      input.end();
    }
    const result = await done;
    expect(result.failure).toBeNull();
    expect(result.flows).toBe(2);
  });
});

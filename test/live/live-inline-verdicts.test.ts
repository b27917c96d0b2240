import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runLive } from '../../src/live/live-session';
import { FlowWriter, openStore } from '../../src/store/store';
import { flow } from '../analysis/flow-builder';
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

describe('live capture brings earlier verdicts up to date a step at a time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-live-pass-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-judges a flow by what a later one showed, over a database of thousands of flows, while packets keep coming', async () => {
    const db = join(dir, 'live.db');
    // An earlier capture in the same database: a pass reads every flow, in many steps.
    const store = openStore(db);
    const earlier = Number(store.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('old.pcap', 'complete', 'then')`).run().lastInsertRowid);
    const writer = new FlowWriter(store, earlier, { trackIds: false });
    for (let i = 0; i < 3000; i++) writer.add(flow(`10.9.${i >> 8}.${i & 255}:40000`, '10.8.0.1:5432', {}), null);
    writer.flush();
    store.close();

    const input = new PassThrough();
    const done = runLive({ db, source: { kind: 'stdin', input }, statusIntervalMs: 20, classifyIntervalMs: 0, log: () => {} });
    const read = new Database(db, { readonly: true });
    const http = (client: string, sport: number, path: string, t: number) =>
      pcapOf(conversationFrames({ client, server: '10.0.0.30', sport, dport: 8080, request: `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`,
        response: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }), t);
    const pathOf = (port: number) => (read.prepare(`SELECT path FROM flows WHERE client_port = ? AND server_ip = '10.0.0.30'`).pluck().get(port) as string | undefined);
    try {
      // A request for /healthz says nothing about its server; a later one for /api/v1/pods that it is an API server.
      input.write(http('10.0.0.23', 41000, '/healthz', 1_700_000_000));
      expect(await until('the first flow', () => pathOf(41000))).toBe('other');
      input.write(http('10.0.0.23', 41001, '/api/v1/pods', 1_700_000_001).subarray(PCAP_HEADER_BYTES));
      expect(await until('the second flow', () => pathOf(41001))).not.toBe('other');
      // The first flow is judged again once a pass has learned from the second, the capture still open.
      const again = await until('the first flow judged again', () => (pathOf(41000) !== 'other' ? pathOf(41000) : undefined), 30_000);
      expect(again).toBe(pathOf(41001));
      input.write(http('10.0.0.24', 41002, '/api/v1/nodes', 1_700_000_002).subarray(PCAP_HEADER_BYTES));
      expect(await until('a flow after the pass', () => pathOf(41002))).toBe(again);
    } finally {
      read.close();
      input.end();
    }
    const result = await done;
    expect(result.failure).toBeNull();
  });
});

describe('live capture with accepted findings (--accept)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-live-accept-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps an accepted finding apart while its acceptance lasts, and opens it at the first pass after it ends', async () => {
    const db = join(dir, 'live.db');
    const acceptFile = join(dir, 'accept.yaml');
    // Accepted for a few seconds of this run only: the capture outlives the acceptance.
    const ends = new Date(Date.now() + 2500).toISOString();
    writeFileSync(acceptFile, `accept:\n  - rule: kubelet-readonly-port\n    server: 10.0.0.21\n    reason: metrics scraper, moving to 10250\n    until: ${ends}\n`);
    const lines: string[] = [];
    const input = new PassThrough();
    const done = runLive({ db, source: { kind: 'stdin', input }, statusIntervalMs: 20, classifyIntervalMs: 0, accept: [acceptFile], log: (l) => lines.push(l) });
    const read = new Database(db, { readonly: true });
    const rules = (table: string, server: string) =>
      read.prepare(`SELECT group_concat(f.rule) FROM ${table} f JOIN flows fl ON fl.id = f.flow_id WHERE fl.server_ip = ?`).pluck().get(server) as string | null;
    try {
      input.write(pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000))));
      input.write(pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.22', 40001)), 1_700_000_001).subarray(PCAP_HEADER_BYTES));
      // The acceptance covers the first kubelet only.
      expect(await until('the accepted finding', () => rules('accepted_findings', '10.0.0.21') ?? undefined)).toBe('kubelet-readonly-port');
      expect(await until('the open finding', () => rules('findings', '10.0.0.22') ?? undefined)).toContain('kubelet-readonly-port');
      expect(rules('findings', '10.0.0.21') ?? '').not.toContain('kubelet-readonly-port');
      // Once it has ended, a pass opens the finding again and says why.
      const reopened = await until('the finding open again', () => ((rules('findings', '10.0.0.21') ?? '').includes('kubelet-readonly-port') ? true : undefined), 20_000);
      expect(reopened).toBe(true);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(ends));
      expect(rules('accepted_findings', '10.0.0.21')).toBeNull();
      expect(lines).toContain(`planewatch: ${acceptFile}#1 (kubelet-readonly-port) was accepted until ${ends}: its findings are open again`);
    } finally {
      read.close();
      input.end();
    }
    expect((await done).failure).toBeNull();
  });
});

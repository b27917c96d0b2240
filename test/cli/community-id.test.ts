import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/ingest/read-capture';
import { conversationFrames, pcapOf, readOnlyPortRequest } from '../live/packets';

/**
 * A flow named by its Community ID, as Zeek, Suricata and Wireshark print it for the same connection:
 * `flows --community-id` lists every flow of it, `show` and `follow` take it where it names one flow
 * and list the flows where it names several, `extract` writes the packets of them all.
 */
const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-community-id-'));
const db = join(dir, 'c.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Stored {
  key: string;
  community_id: string;
  packets: number;
  file: string;
}

function stored(): Stored[] {
  const d = new Database(db, { readonly: true });
  try {
    return d
      .prepare(`SELECT f.flow_key AS key, f.community_id, f.packets_client + f.packets_server AS packets, c.file
                  FROM flows f JOIN captures c ON c.id = f.capture_id ORDER BY f.id`)
      .all() as Stored[];
  } finally {
    d.close();
  }
}

/** The same connection (addresses, ports, protocol) recorded an hour apart: two files, two flows. */
const conversation = conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000));
let shared: Stored[] = [];
let alone: Stored;

beforeAll(() => {
  writeFileSync(join(dir, 'morning.pcap'), pcapOf(conversation, 1_700_000_000));
  writeFileSync(join(dir, 'later.pcap'), pcapOf(conversation, 1_700_003_600));
  copyFileSync(join(ROOT, 'captures/samples/ssh-tunnel.pcap'), join(dir, 'ssh-tunnel.pcap'));
  const r = cli(['analyze', 'morning.pcap', 'later.pcap', 'ssh-tunnel.pcap', '--db', db, '--quiet']);
  expect(r.err).toBe('');
  const flows = stored();
  const first = flows.find((f) => f.file.endsWith('morning.pcap'))!;
  shared = flows.filter((f) => f.community_id === first.community_id);
  alone = flows.find((f) => f.file.endsWith('ssh-tunnel.pcap') && flows.filter((g) => g.community_id === f.community_id).length === 1)!;
}, 60_000);

describe('Community ID', () => {
  it('is the same for the connection in both files, and another for every other flow', () => {
    expect(shared.map((f) => f.file.split('/').pop())).toEqual(['morning.pcap', 'later.pcap']);
    expect(shared[0]!.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(alone).toBeDefined();
  });

  it('flows --community-id lists every flow of it, with the id in the JSON', () => {
    const r = cli(['flows', '--community-id', shared[0]!.community_id, '--db', db, '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { id: string; community_id: string }[];
    expect(rows.map((x) => x.id)).toEqual(shared.map((f) => f.key));
    expect(new Set(rows.map((x) => x.community_id))).toEqual(new Set([shared[0]!.community_id]));
    const none = cli(['flows', '--community-id', '1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=', '--db', db, '--json']);
    expect(JSON.parse(none.out)).toEqual([]);
  });

  it('findings --community-id lists the findings on the flows of it', () => {
    // The conversation reads the kubelet's read-only port: each of its two flows has findings.
    const r = cli(['findings', '--community-id', shared[0]!.community_id, '--db', db, '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { flow_key: string; community_id: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((x) => x.flow_key))).toEqual(new Set(shared.map((f) => f.key)));
    const other = JSON.parse(cli(['findings', '--community-id', alone.community_id, '--db', db, '--json']).out) as { flow_key: string }[];
    expect(other.every((x) => x.flow_key === alone.key)).toBe(true);
    expect(cli(['findings', '--community-id', 'nonsense', '--db', db]).code).toBe(2);
  });

  it('a malformed one is a usage error, not an empty answer', () => {
    const r = cli(['flows', '--community-id', 'c1f1', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/expected a Community ID v1/);
  });

  it('show takes one that names a single flow, and lists the flows of one that names several', () => {
    const byId = cli(['show', alone.key, '--db', db, '--json']);
    const byCommunityId = cli(['show', alone.community_id, '--db', db, '--json']);
    expect(byCommunityId.code).toBe(0);
    expect(byCommunityId.out).toBe(byId.out);
    const text = cli(['show', alone.community_id, '--db', db]);
    expect(text.out).toMatch(new RegExp(`^Flow ${alone.key}: `));

    // Each view of the connection names the other.
    const first = cli(['show', shared[0]!.key, '--db', db]);
    expect(first.out).toMatch(new RegExp(`\\n  Also seen     flow ${shared[1]!.key} in \\S*later\\.pcap from .* \\(\\S+\\): the same Community ID\\n`));
    const json = JSON.parse(cli(['show', shared[1]!.key, '--db', db, '--json']).out) as { flow: { sameCommunityId: { flowKey: string }[] } };
    expect(json.flow.sameCommunityId.map((p) => p.flowKey)).toEqual([shared[0]!.key]);
    expect(JSON.parse(byId.out).flow.sameCommunityId).toEqual([]);

    const several = cli(['show', shared[0]!.community_id, '--db', db]);
    expect(several.code).toBe(2);
    expect(several.err).toContain(`Community ID ${shared[0]!.community_id} is that of 2 flows: ${shared.map((f) => f.key).join(', ')}; name one by its id`);
    const absent = cli(['show', '1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=', '--db', db]);
    expect(absent.code).toBe(2);
    expect(absent.err).toMatch(/no flow 1:A+= in the database \(a flow id as `planewatch flows` prints it \(e\.g\. c1f8\) or a Community ID\)/);
  });

  it('follow takes it as show does', () => {
    const byId = cli(['follow', alone.key, '--db', db, '--format', 'json']);
    const byCommunityId = cli(['follow', alone.community_id, '--db', db, '--format', 'json']);
    expect(byId.code).toBe(0);
    expect(byCommunityId.out).toBe(byId.out);
    const several = cli(['follow', shared[0]!.community_id, '--db', db]);
    expect(several.code).toBe(2);
    expect(several.err).toContain('is that of 2 flows');
  });

  it('extract writes the packets of every flow of it', async () => {
    const out = join(dir, 'both.pcap');
    const r = cli(['extract', shared[0]!.community_id, '-o', out, '--db', db]);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`${2 * conversation.length} packets of 2 flows written to ${out} (pcap)\n`);
    let frames = 0;
    await readCapture(out, () => void frames++);
    expect(frames).toBe(shared[0]!.packets + shared[1]!.packets);
    expect(frames).toBe(2 * conversation.length);
  });
});

/**
 * `planewatch live --write FILE`: the frames a live run analyses are written to a pcapng file, which
 * the database records as where the capture's packets are. Checked on sample captures piped in: the
 * file holds the same frames, analysed again it gives the same flows (its secrets included), and the
 * live database's flows can be extracted and downloaded from it as an analysed file's can.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/ingest/read-capture';
import { LiveCaptureFile } from '../../src/live/capture-file';
import { buildApp } from '../../src/web/app';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { planewatchArgv } from './live-helpers';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'pw-live-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function planewatch(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, planewatchArgv(args), { cwd: dir, input, encoding: 'buffer', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

type FrameView = [linkType: number, tsSec: number, tsNsec: number, origLen: number, hex: string];

async function framesOf(file: string): Promise<{ frames: FrameView[]; keyLog: string }> {
  const frames: FrameView[] = [];
  const info = await readCapture(file, (f) => frames.push([f.linkType, f.tsSec, f.tsNsec, f.origLen, Buffer.from(f.data).toString('hex')]));
  expect(info.error).toBeNull();
  return { frames, keyLog: info.keyLog };
}

interface FlowRow { key: string; community_id: string; first_frame: number; last_frame: number; packets: number; path: string }

function flowsOf(db: string): FlowRow[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(`SELECT flow_key AS key, community_id, first_frame, last_frame, packets_client + packets_server AS packets, path
      FROM flows ORDER BY first_frame, community_id`).all() as FlowRow[];
  } finally {
    d.close();
  }
}

const sansKey = ({ key: _k, ...rest }: FlowRow) => rest;

describe('planewatch live --write', () => {
  it.each([
    'kubelet-logs-exec-self-signed.two-interfaces.pcapng', // two interfaces
    'kubelet-logs-exec-self-signed.vxlan.pcap', // a tunnel, classic pcap
    'kubelet-logs-tls13.dsb.pcapng', // TLS 1.3 with its secrets in the stream
  ])('%s piped in: the file holds its frames, analyses to the same flows, and the flows extract from it', async (sample) => {
    const name = sample.replace(/\W+/g, '-');
    const liveDb = join(dir, `${name}.live.db`);
    const written = join(dir, `${name}.written.pcapng`);
    const live = planewatch(['live', '--stdin', '--db', liveDb, '--write', written], readFileSync(join(SAMPLES, sample)));
    expect(live.stderr).toMatch(/(\d+) packets, .* \1 packets written to /);
    expect(live.code).toBe(0);

    // The same frames, in the same order, with their link types, times and lengths.
    const original = await framesOf(join(SAMPLES, sample));
    const copy = await framesOf(written);
    expect(copy.frames).toEqual(original.frames);
    // Secrets the stream carried are in the file (and decrypt it: below).
    for (const line of original.keyLog.split('\n').filter((l) => l.trim() !== '')) expect(copy.keyLog).toContain(line.trim());

    // Analysed again, the file gives the flows the live run stored: same connections, same frames.
    const reDb = join(dir, `${name}.re.db`);
    expect(planewatch(['analyze', written, '--db', reDb, '--quiet']).code).toBe(0);
    const liveFlows = flowsOf(liveDb);
    expect(liveFlows.length).toBeGreaterThan(0);
    expect(flowsOf(reDb).map(sansKey)).toEqual(liveFlows.map(sansKey));
    if (original.keyLog !== '') {
      const d = new Database(reDb, { readonly: true });
      expect(d.prepare(`SELECT COUNT(*) FROM tls_sessions WHERE decrypted = 1`).pluck().get()).toBeGreaterThan(0);
      d.close();
    }

    const origDb = join(dir, `${name}.orig.db`);
    expect(planewatch(['analyze', join(SAMPLES, sample), '--db', origDb, '--quiet']).code).toBe(0);
    const origFlows = flowsOf(origDb);
    const d = new Database(liveDb, { readonly: true });
    expect(d.prepare(`SELECT file, packets_file FROM captures`).get()).toEqual({ file: 'live: stdin', packets_file: written });
    if (d.prepare(`SELECT COUNT(*) FROM findings`).pluck().get() as number > 0) {
      expect(planewatch(['findings', '--db', liveDb]).stdout.toString()).toMatch(/^ {3}packets: planewatch extract c1f\d+ --db \S+ -o c1f\d+\.pcapng$/m);
    }
    const ids = d.prepare(`SELECT flow_key, id FROM flows`).all() as { flow_key: string; id: number }[];
    d.close();
    // A dashboard that decrypts (serve --decrypt) sends what extract writes, the connection's secrets included.
    const app = await buildApp({ dbFile: liveDb, decryption: new KeyLog() });
    try {
      for (const f of liveFlows) {
        // extract from the live database: the flow's frames of the original capture.
        const out = join(dir, `${name}-${f.key}.pcapng`);
        const r = planewatch(['extract', f.key, '--db', liveDb, '-o', out]);
        expect(r.stderr).toMatch(new RegExp(`^${f.packets} packets of 1 flow written to `));
        expect(r.code).toBe(0);
        // The same frames as extract writes for that flow from an analysis of the sample itself.
        const twin = origFlows.find((o) => o.community_id === f.community_id && o.first_frame === f.first_frame)!;
        const fromSample = join(dir, `${name}-${f.key}.from-sample.pcapng`);
        expect(planewatch(['extract', twin.key, '--db', origDb, '-o', fromSample]).code).toBe(0);
        const extracted = (await framesOf(out)).frames;
        expect(extracted.length).toBeGreaterThanOrEqual(f.packets);
        expect(extracted).toEqual((await framesOf(fromSample)).frames);
        // The dashboard offers and sends the same packets.
        const id = ids.find((i) => i.flow_key === f.key)!.id;
        expect((await app.inject({ method: 'GET', url: `/api/flows/${id}` })).json().flow.packets).toEqual({ available: true, problem: null });
        const dl = await app.inject({ method: 'GET', url: `/api/flows/${id}/packets` });
        expect(dl.statusCode).toBe(200);
        expect(dl.rawPayload.equals(readFileSync(out))).toBe(true);
      }
    } finally {
      await app.close();
    }
  }, 120_000);

  it('without --write, a live flow says how its packets could have been kept', async () => {
    const db = join(dir, 'nowrite.db');
    const live = planewatch(['live', '--stdin', '--db', db], readFileSync(join(SAMPLES, 'kubelet-readonly-port.pcap')));
    expect(live.code).toBe(0);
    const d = new Database(db, { readonly: true });
    const { id, flow_key: key } = d.prepare(`SELECT id, flow_key FROM flows LIMIT 1`).get() as { id: number; flow_key: string };
    d.close();
    const app = await buildApp({ dbFile: db });
    try {
      const packets = (await app.inject({ method: 'GET', url: `/api/flows/${id}` })).json().flow.packets;
      expect(packets.available).toBe(false);
      expect(packets.problem).toMatch(/live --write FILE/);
    } finally {
      await app.close();
    }
    const r = planewatch(['extract', key, '--db', db]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/live --write FILE/);
    // findings says so rather than print an extract command that cannot work.
    const listed = planewatch(['findings', '--db', db]).stdout.toString();
    expect(listed).toMatch(/^ {3}packets: not available \(.*live --write FILE.*\)$/m);
    expect(listed).not.toMatch(/planewatch extract/);
  }, 60_000);

  it('--write-limit: the file stops growing at its limit, a valid capture of the first frames; the capture goes on', async () => {
    const sample = join(SAMPLES, 'kubelet-logs-exec-self-signed.vxlan.pcap');
    const db = join(dir, 'limit.db');
    const written = join(dir, 'limit.pcapng');
    const r = planewatch(['live', '--stdin', '--db', db, '--write', written, '--write-limit', '0.004'], readFileSync(sample));
    expect(r.stderr).toMatch(/writing .*limit\.pcapng stopped \(the capture goes on\): the file reached its limit of 4000 bytes/);
    expect(r.code).toBe(0);
    expect(statSync(written).size).toBeLessThanOrEqual(4000);
    const original = (await framesOf(sample)).frames;
    const kept = (await framesOf(written)).frames;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(original.length);
    expect(kept).toEqual(original.slice(0, kept.length));
    // Every packet was analysed all the same.
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT packets FROM captures`).pluck().get()).toBe(original.length);
    // Said in the status row too, which the TUI shows.
    expect(d.prepare(`SELECT message FROM live_status`).pluck().get()).toMatch(/limit\.pcapng stopped \(the capture goes on\): the file reached its limit/);
    d.close();
    expect(planewatch(['live', '--stdin', '--db', db, '--write-limit', '1'], readFileSync(sample)).code).toBe(2);
  }, 60_000);

  it('--ring N: a ring of files of --write-limit each, the newest N kept; flows extract across them, those whose files are gone say so', async () => {
    const sample = join(SAMPLES, 'kubelet-logs-exec-self-signed.vxlan.pcap');
    const ringDir = join(dir, 'ring');
    mkdirSync(ringDir);
    const db = join(ringDir, 'ring.db');
    const base = join(ringDir, 'cap.pcapng');
    const r = planewatch(['live', '--stdin', '--db', db, '--write', base, '--write-limit', '0.004', '--ring', '3'], readFileSync(sample));
    expect(r.code).toBe(0);
    const original = (await framesOf(sample)).frames;
    expect(r.stderr).toContain(`${original.length} packets written to the ring of files ${base}`);
    // Three pieces left, named with their sequence and the run's number of their first frame.
    const names = readdirSync(ringDir).filter((n) => n.startsWith('cap_')).sort();
    expect(names).toHaveLength(3);
    const pieces = names.map((n) => {
      const m = /^cap_(\d{5})_f(\d+)\.pcapng$/.exec(n)!;
      expect(m, n).not.toBeNull();
      return { file: join(ringDir, n), seq: Number(m[1]), first: Number(m[2]) };
    });
    expect(pieces.map((p) => p.seq)).toEqual([pieces[0]!.seq, pieces[0]!.seq + 1, pieces[0]!.seq + 2]);
    expect(pieces[0]!.seq).toBeGreaterThan(1);
    // Each piece at most the limit (a piece holds one packet at least), and together the frames
    // of the run from the oldest piece's first on.
    const kept: FrameView[] = [];
    for (const p of pieces) {
      const frames = (await framesOf(p.file)).frames;
      expect(p.first).toBe(pieces[0]!.first + kept.length);
      expect(statSync(p.file).size <= 4000 || frames.length === 1).toBe(true);
      kept.push(...frames);
    }
    expect(kept).toEqual(original.slice(pieces[0]!.first - 1));

    const flows = flowsOf(db);
    const gone = flows.filter((f) => f.first_frame < pieces[0]!.first);
    const whole = flows.filter((f) => f.first_frame >= pieces[0]!.first);
    expect(gone.length).toBeGreaterThan(0);
    expect(whole.length).toBeGreaterThan(0);
    // A flow in the pieces still there (spanning several of them) extracts whole, as from the sample.
    const origDb = join(ringDir, 'orig.db');
    expect(planewatch(['analyze', sample, '--db', origDb, '--quiet']).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const idOf = (key: string) => d.prepare(`SELECT id FROM flows WHERE flow_key = ?`).pluck().get(key) as number;
    const app = await buildApp({ dbFile: db });
    try {
      for (const f of whole) {
        const out = join(ringDir, `${f.key}.pcapng`);
        const x = planewatch(['extract', f.key, '--db', db, '-o', out]);
        expect(x.stderr).toMatch(new RegExp(`^${f.packets} packets of 1 flow written to `));
        const twin = flowsOf(origDb).find((o) => o.community_id === f.community_id && o.first_frame === f.first_frame)!;
        const fromSample = join(ringDir, `${f.key}.from-sample.pcapng`);
        expect(planewatch(['extract', twin.key, '--db', origDb, '-o', fromSample]).code).toBe(0);
        expect((await framesOf(out)).frames).toEqual((await framesOf(fromSample)).frames);
        expect((await app.inject({ method: 'GET', url: `/api/flows/${idOf(f.key)}/packets` })).rawPayload.equals(readFileSync(out))).toBe(true);
      }
      // One whose first packets were in a deleted piece: said by extract, the dashboard and findings.
      const lost = gone[0]!;
      const x = planewatch(['extract', lost.key, '--db', db, '-o', join(ringDir, 'lost.pcapng')]);
      expect(x.stderr).toContain(`${lost.key}: `);
      expect(x.stderr).toContain(`has deleted the one holding frame ${lost.first_frame} (it keeps frames from ${pieces[0]!.first} on)`);
      const detail = (await app.inject({ method: 'GET', url: `/api/flows/${idOf(lost.key)}` })).json().flow.packets;
      expect(detail.available).toBe(false);
      expect(detail.problem).toMatch(/has deleted the one holding frame/);
      expect((await app.inject({ method: 'GET', url: `/api/flows/${idOf(lost.key)}/packets` })).statusCode).toBe(404);
    } finally {
      await app.close();
      d.close();
    }
    // Moved elsewhere, the ring is named for extract by the same name in its new place.
    const moved = join(ringDir, 'moved');
    mkdirSync(moved);
    for (const p of pieces) renameSync(p.file, join(moved, basename(p.file)));
    const last = whole[whole.length - 1]!;
    const away = planewatch(['extract', last.key, '--db', db, '-o', join(ringDir, 'away.pcapng'), '--capture', join(moved, 'cap.pcapng')]);
    expect(away.stderr).toMatch(new RegExp(`^${last.packets} packets of 1 flow written to `));
    expect((await framesOf(join(ringDir, 'away.pcapng'))).frames).toEqual((await framesOf(join(ringDir, `${last.key}.pcapng`))).frames);
    for (const p of pieces) renameSync(join(moved, basename(p.file)), p.file);
    const listed = planewatch(['findings', '--db', db]).stdout.toString();
    expect(listed).toMatch(/^ {3}packets: not available \(the ring of files .*cap\.pcapng was written to has deleted the one holding frame \d+/m);
    expect(listed).toMatch(/^ {3}packets: planewatch extract c1f\d+ --db /m);
    expect(planewatch(['live', '--stdin', '--db', db, '--write', base, '--ring', '2'], readFileSync(sample)).code).toBe(2);
  }, 120_000);

  it('--ring: every piece carries the TLS secrets learned so far, so each decrypts on its own', async () => {
    const sample = join(SAMPLES, 'kubelet-logs-tls13.dsb.pcapng');
    const ringDir = join(dir, 'ring-secrets');
    mkdirSync(ringDir);
    const base = join(ringDir, 'tls.pcapng');
    const file = new LiveCaptureFile(base, 'eth0', 2500, 10);
    const info = await readCapture(sample, (f) => file.add(f), { onSecrets: (s) => file.secrets(Buffer.from(s.data).toString('latin1')) });
    expect(info.error).toBeNull();
    file.close();
    const names = readdirSync(ringDir).sort();
    expect(names.length).toBeGreaterThan(2);
    expect(file.piecesBegun).toBe(names.length);
    const lines = info.keyLog.split('\n').filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    let frames = 0;
    for (const n of names) {
      const piece = await framesOf(join(ringDir, n));
      for (const l of lines) expect(piece.keyLog, n).toContain(l.trim());
      frames += piece.frames.length;
    }
    expect(frames).toBe(info.packets);
    expect(file.packets).toBe(info.packets);
  });

  it('at its limit, what was written is in the file at once, not at the end of the run', async () => {
    const sample = join(SAMPLES, 'kubelet-logs-exec-self-signed.vxlan.pcap');
    const file = new LiveCaptureFile(join(dir, 'limit-now.pcapng'), 'eth0', 4000);
    const info = await readCapture(sample, (f) => file.add(f));
    expect(info.error).toBeNull();
    expect(file.failure).toMatch(/reached its limit of 4000 bytes/);
    // Still open: the frames before the limit can be read already.
    const before = (await framesOf(file.path)).frames;
    expect(before.length).toBe(file.packets);
    expect(before.length).toBeGreaterThan(0);
    file.close();
    expect((await framesOf(file.path)).frames).toEqual(before);
  });

  it('a file that cannot be made stops the run before it starts; a disk that fills stops the writing, not the capture', () => {
    const db = join(dir, 'errors.db');
    const sample = readFileSync(join(SAMPLES, 'kubelet-readonly-port.pcap'));
    const bad = planewatch(['live', '--stdin', '--db', db, '--write', join(dir, 'no-such-dir', 'x.pcapng')], sample);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/no-such-dir/);
    expect(bad.stderr).toMatch(/ENOENT/);
    expect(planewatch(['live', '--stdin', '--db', db, '--write', '-'], sample).code).toBe(2);
    // /dev/full accepts the file's opening and fails every write with ENOSPC.
    const full = planewatch(['live', '--stdin', '--db', db, '--write', '/dev/full'], sample);
    expect(full.stderr).toMatch(/writing \/dev\/full stopped \(the capture goes on\): .*ENOSPC/);
    expect(full.code).toBe(0);
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare(`SELECT COUNT(*) FROM captures`).pluck().get()).toBe(1);
      expect(d.prepare(`SELECT status FROM captures`).pluck().get()).toBe('complete');
      expect(d.prepare(`SELECT COUNT(*) FROM findings WHERE rule = 'kubelet-readonly-port'`).pluck().get()).toBeGreaterThan(0);
    } finally {
      d.close();
    }
  }, 60_000);
});

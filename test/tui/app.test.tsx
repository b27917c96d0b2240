import Database from 'better-sqlite3';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../src/tui/app';
import { DbDataSource, PATHS_SQL } from '../../src/tui/tui-data';
import { themeFromEnv } from '../../src/tui/theme';
import { ANSI_UA, buildTuiFixture } from './tui-fixture';
import { ACCEPTED } from '../web/fixture-db';

const tick = (ms = 60) => new Promise((r) => setTimeout(r, ms));
let file = '';
let source: DbDataSource;
let app: ReturnType<typeof render> | null = null;

beforeAll(() => {
  file = buildTuiFixture().file;
});

afterEach(() => {
  app?.unmount();
  app = null;
  source?.close();
});

async function mount(color = false, onQuit?: () => void) {
  source = new DbDataSource(file);
  app = render(<App data={source} theme={{ color }} refreshMs={60_000} onQuit={onQuit} />);
  await tick();
  return app;
}

/**
 * Sends keys, then waits for the frame they change (up to 2 s: a loaded machine renders late), or
 * until `done` holds for keys that change no frame.
 */
/** A sample capture analysed into a database in a directory of its own (removed with `done`). */
async function analysedSample(sample: string, copyAs: string | null = null) {
  const { spawnSync } = await import('node:child_process');
  const { copyFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = join(__dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'planewatch-tui-sample-'));
  const file = copyAs === null ? join(root, 'captures/samples', sample) : join(dir, copyAs);
  if (copyAs !== null) copyFileSync(join(root, 'captures/samples', sample), file);
  const db = join(dir, 'sample.db');
  // A copy is named as it is in its directory, the working directory: stored under that name.
  const r = spawnSync(process.execPath, [join(root, 'bin/planewatch.js'), 'analyze', copyAs ?? file, '--db', db, '--quiet'], { cwd: dir });
  expect(r.status).toBe(0);
  return { root, dir, db, file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The TUI on an analysed sample's database, at its first row of tab `tab` (3 flows, 2 findings) opened. */
async function openFirstOf(db: string, dir: string, tab: '2' | '3', keyLogs: string[] = []) {
  source = new DbDataSource(db, dir, keyLogs);
  app = render(<App data={source} theme={{ color: false }} refreshMs={60_000} />);
  await tick();
  await press(tab);
  await press('\r');
  return app;
}

async function press(keys: string, done?: () => boolean) {
  const before = app!.lastFrame();
  const settled = done ?? (() => app!.lastFrame() !== before);
  app!.stdin.write(keys);
  await tick();
  for (let waited = 0; !settled() && waited < 2000; waited += 20) await tick(20);
}

describe('TUI', () => {
  it('opens on the overview: header, paths with counts, hub and spoke, findings by severity', async () => {
    const a = await mount();
    const f = a.lastFrame()!;
    expect(f).toMatch(/planewatch ■ stored/);
    expect(f).toMatch(/\[1 Overview\]/);
    expect(f).toMatch(/Findings: ‼ critical \d+/);
    expect(f).toMatch(/apiserver-to-kubelet\s+\d+/);
    expect(f).toContain('[ API server ]');
    expect(f).toMatch(/kubelets ×\d+/);
    expect(f).toMatch(/q quit/);
  });

  it('switches tabs, opens a finding with its evidence and recommendation, and goes back', async () => {
    const a = await mount();
    await press('2');
    expect(a.lastFrame()).toMatch(/\[2 Findings \(\d+\)\]/);
    expect(a.lastFrame()).toMatch(/› ‼ critical/);
    await press('\r');
    expect(a.lastFrame()).toContain('Evidence');
    expect(a.lastFrame()).toContain('Recommendation');
    await press('\u001b');
    expect(a.lastFrame()).toMatch(/SEV\s+RULE/);
    await press('\t');
    expect(a.lastFrame()).toMatch(/\[3 Flows \(\d+\)\]/);
  });

  it('lists the requests read, newest first, with operation, object, status and credential; Enter opens their flow', async () => {
    const a = await mount();
    await press('5');
    const f = a.lastFrame()!;
    expect(f).toMatch(/\[5 Requests \(\d+\)\]/);
    expect(f).toMatch(/TIME\s+OP\s+OBJECT\s+STATUS\s+WHO\s+REQUEST/);
    // The proxied request with the service account's token, and the impersonating one.
    expect(f).toMatch(/proxy\s+pod default\/web\s+200\s+system:servicea/);
    expect(f).toMatch(/list\s+secrets\s+200\s+anonymous as jane@/);
    // Escape sequences in the user agent never reach the terminal.
    expect(f).not.toContain('\u001b[31m');
    const selected = f.split('\n').find((l) => l.startsWith('› '))!;
    expect(selected).toBeDefined();
    await press('\r');
    expect(a.lastFrame()).toMatch(/path \S+ .*confidence/);
    await press('\u001b');
    expect(a.lastFrame()).toMatch(/\[5 Requests \(\d+\)\]/);
  });

  it('filters flows with /, sorts with s, and opens a flow with Enter', async () => {
    const a = await mount();
    await press('3');
    await press('/');
    expect(a.lastFrame()).toContain('filter: █');
    await press('10255');
    await press('\r');
    const f = a.lastFrame()!;
    expect(f).toMatch(/\d+ flows matching "10255"/);
    const rows = f.split('\n').filter((l) => /^(› | {2})\S+\s+\d+\.\d+\.\d+\.\d+:\d+/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toContain(':10255');
    await press('s');
    expect(a.lastFrame()).toContain('sort bytes');
    await press('r');
    expect(a.lastFrame()).toContain('sort bytes ↑');
    await press('\r');
    expect(a.lastFrame()).toMatch(/path \S+ .*confidence/);
    expect(a.lastFrame()).toContain('Esc back');
  });

  it("a flow's detail names the same connection on the other side of a NAT", async () => {
    const a = await mount();
    await press('3');
    await press('/');
    await press('51000');
    await press('\r');
    await press('\r');
    const f = a.lastFrame()!;
    const shown = /10\.244\.1\.5:51000 → (\S+)/.exec(f)![1];
    const across = /across NAT: 10\.244\.1\.5:51000 → (\S+) \(the same connection/.exec(f);
    expect(across, f).not.toBeNull();
    expect(new Set([shown, across![1]])).toEqual(new Set(['10.96.0.1:443', '10.0.0.10:6443']));
  });

  it("a flow's detail names the VLAN or the tunnel it came in, both directions' outer connections", async () => {
    for (const [sample, expected] of [
      ['kubelet-logs-exec-self-signed.vxlan.pcap', /tunnel VXLAN 172\.31\.0\.21:\d+ → 172\.31\.0\.100:4789, VNI 4242; the other way 172\.31\.0\.21:\d+ → /],
      ['kubelet-logs-exec-self-signed.vlan.pcap', /^VLAN 120$/m],
    ] as const) {
      const { dir, db, done } = await analysedSample(sample);
      try {
        const a = await openFirstOf(db, dir, '3');
        expect(a.lastFrame()).toMatch(expected);
      } finally {
        app?.unmount();
        app = null;
        source.close();
        done();
      }
    }
    // Without either, no such line.
    const a = await mount();
    await press('3');
    await press('\r');
    expect(a.lastFrame()).not.toMatch(/^(VLAN \d+|tunnel )/m);
  });

  it('shows help on ? and quits on q', async () => {
    let quit = 0;
    const a = await mount(false, () => quit++);
    await press('?');
    expect(a.lastFrame()).toContain('Keys');
    expect(a.lastFrame()).toContain('filter flows');
    await press('x');
    expect(a.lastFrame()).not.toContain('filter flows');
    await press('q', () => quit > 0);
    expect(quit).toBe(1);
  });

  it('strips escape sequences from wire strings (SNI, user agent) before they reach the terminal', async () => {
    const a = await mount(false);
    await press('3');
    await press('/');
    await press('evil');
    await press('\r');
    const list = a.lastFrame()!;
    expect(list).toContain('evil\uFFFD[2J\uFFFD');
    await press('\r');
    const f = a.lastFrame()!;
    expect(f).toContain(`UA kube\uFFFD[31mRED\uFFFD[10;10H`);
    expect(f).toContain('SNI evil\uFFFD[2J\uFFFD]0;owned\uFFFD.example');
    expect(ANSI_UA).toContain('\u001b');
    for (const frame of [list, f]) {
      expect(frame).not.toContain('\u001b[31m');
      expect(frame).not.toContain('\u001b]0');
      expect(frame).not.toContain('\u0007');
      expect(frame).not.toContain('\u001b[2J');
      expect(frame).not.toContain('\u001b[10;10H');
    }
  });

  it('uses symbols as well as colours, and honours NO_COLOR', async () => {
    expect(themeFromEnv({}).color).toBe(true);
    expect(themeFromEnv({ NO_COLOR: '1' }).color).toBe(false);
    expect(themeFromEnv({ NO_COLOR: '' }).color).toBe(true);
    const plain = await mount(false);
    await press('2');
    expect(plain.lastFrame()).not.toMatch(/\u001b\[3\dm/);
    expect(plain.lastFrame()).toMatch(/▲ high/);
    expect(plain.lastFrame()).toMatch(/‼ critical/);
  });
});

describe('the status message', () => {
  it("shows a live run's message on a line of its own under the header, within the terminal", async () => {
    const { openStore } = await import('../../src/store/store');
    const own = buildTuiFixture({ file: `${file}.message.db` }).file;
    const w = openStore(own);
    w.prepare(`INSERT INTO live_status (id, source, pid, capture_id, running, started_at, updated_at, packets, bytes,
        packets_per_sec, flows, active_flows, kernel_drops, our_drops, message)
      VALUES (1, 'live: eth0', NULL, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ?)`)
      .run('writing /var/tmp/live.pcapng stopped (the capture goes on): the file reached its limit of 1000000 bytes');
    w.close();
    source = new DbDataSource(own);
    app = render(<App data={source} theme={{ color: false }} refreshMs={60_000} />);
    await tick();
    const lines = app.lastFrame()!.split('\n');
    expect(lines[0]).toMatch(/^planewatch /);
    expect(lines[1]).toMatch(/^! writing \/var\/tmp\/live\.pcapng stopped \(the capture goes on\)/);
    expect(lines[2]).toMatch(/Overview/);
    // ink-testing-library draws 100 columns by 24 rows: one line short of the screen, as without a message.
    expect(lines.length).toBeLessThanOrEqual(23);
  });
});

describe('findings accepted as risks', () => {
  it('the overview counts them apart from the findings by severity; a flow lists each with its reason', async () => {
    const without = await mount(false);
    expect(without.lastFrame()).toMatch(/Findings: .*info 2/);
    expect(without.lastFrame()).not.toContain('accepted)');
    without.unmount();
    source.close();

    const own = buildTuiFixture({ file: `${file}.accepted.db`, accepted: true }).file;
    source = new DbDataSource(own);
    app = render(<App data={source} theme={{ color: false }} refreshMs={60_000} />);
    await tick();
    const overview = app.lastFrame()!;
    // The open findings' counts are those without accepted findings; the 2 accepted ones follow.
    expect(overview).toMatch(/Findings: ‼ critical 3 +▲ high 4 +\S+ medium 6 +\S+ low 2 +\S+ info 2 +\(\+2 accepted\)/);
    await press('2');
    expect(app.lastFrame()).toMatch(/\[2 Findings \(17\)\]/);
    expect(app.lastFrame()).not.toContain(ACCEPTED.kubelet13.rule);

    // A flow with an open finding and an accepted one: the open one as a finding, the other with its reason.
    await press('3');
    await press('/');
    await press('43100');
    await press('\r');
    await press('\r');
    const kubelet = app.lastFrame()!;
    expect(kubelet).toMatch(/10\.0\.0\.10:43100 → 10\.0\.0\.22:10250/);
    expect(kubelet).toMatch(/\S+ info kubelet-tls-indeterminate: Kubelet TLS 1\.3/);
    expect(kubelet).toContain(`accepted high ${ACCEPTED.kubelet13.rule}: ${ACCEPTED.kubelet13.acceptance.reason}`);
    expect(kubelet.split('\n').filter((l) => l.includes(ACCEPTED.kubelet13.rule))).toHaveLength(1);

    // A flow whose only finding is accepted.
    await press('\u001b');
    await press('\u001b');
    await press('/');
    await press('192.168.10.15');
    await press('\r');
    await press('\r');
    const person = app.lastFrame()!;
    expect(person).toMatch(/192\.168\.10\.15:52000 → 10\.0\.0\.10:6443/);
    expect(person).toContain(`accepted medium ${ACCEPTED.person.rule}: ${ACCEPTED.person.acceptance.reason}`);

    // A DNS flow lists its questions with the response and answers.
    await press('\u001b');
    await press('\u001b');
    await press('/');
    await press('53000');
    await press('\r');
    await press('\r');
    const dns = app.lastFrame()!;
    expect(dns).toContain('DNS A kubernetes.default.svc.cluster.local → NOERROR: A 10.96.0.1');
    expect(dns).toContain('DNS AAAA nothing.example → no response');
  });
});

describe('the TUI data source', () => {
  it("filters flows by a Community ID, as Zeek or Suricata printed it for the connection", () => {
    const src = new DbDataSource(file);
    const q = { filter: '', sort: 'time' as const, desc: true };
    const all = src.load(q).flows;
    const d = new Database(file, { readonly: true });
    const [id, cid] = d.prepare('SELECT id, community_id FROM flows ORDER BY id LIMIT 1').raw(true).get() as [number, string];
    const same = d.prepare('SELECT COUNT(*) FROM flows WHERE community_id = ?').pluck().get(cid) as number;
    d.close();
    const found = src.load({ ...q, filter: cid }).flows;
    expect(all.length).toBeGreaterThan(same);
    expect(found).toHaveLength(same);
    expect(found.map((f) => f.id)).toContain(id);
    src.close();
  });


  it('hands back the same snapshot while nothing changes, and a new one after another connection commits', async () => {
    const { openStore } = await import('../../src/store/store');
    const own = buildTuiFixture({ file: `${file}.refresh.db` }).file;
    const src = new DbDataSource(own);
    const q = { filter: '', sort: 'time' as const, desc: true };
    const a = src.load(q);
    expect(src.load(q)).toBe(a);
    expect(src.load({ ...q, filter: '10.' })).not.toBe(a);
    const writer = openStore(own);
    writer.prepare(`UPDATE captures SET packets = packets + 1`).run();
    writer.close();
    const b = src.load(q);
    expect(b).not.toBe(a);
    expect(b.header.packets).toBe(a.header.packets + 1);
    src.close();
  });

  it('reads a database that keeps changing at most a tenth of the time: the header at once, the lists when their turn comes', async () => {
    const { openStore } = await import('../../src/store/store');
    const own = buildTuiFixture({ file: `${file}.throttle.db` }).file;
    // Each reading of the clock moves it 100 ms on: the first full read "costs" 100 ms.
    let t = 0;
    const src = new DbDataSource(own, '.', [], () => (t += 100));
    const q = { filter: '', sort: 'bytes' as const, desc: true };
    const a = src.load(q);
    const writer = openStore(own);
    const change = () => {
      writer.prepare(`UPDATE captures SET packets = packets + 1`).run();
      writer.prepare(`UPDATE flows SET bytes_client = bytes_client + 1000000000 WHERE id = (SELECT MIN(id) FROM flows)`).run();
    };
    change();
    const b = src.load(q);
    expect(b.header.packets).toBe(a.header.packets + 1);
    expect(b.flows).toBe(a.flows);
    expect(src.load(q).flows).toBe(a.flows);
    // The interval (ten times the cost) has passed: everything is read again.
    t += 2_000;
    change();
    const c = src.load(q);
    expect(c.flows).not.toBe(a.flows);
    expect(c.flows[0]!.bytes).toBeGreaterThan(2_000_000_000);
    expect(c.header.packets).toBe(a.header.packets + 2);
    // Within the next interval, a new question is still answered from the database as it is now.
    change();
    const ascending = src.load({ ...q, desc: false });
    expect(ascending.header.packets).toBe(a.header.packets + 3);
    expect(ascending.flows.at(-1)!.bytes).toBeGreaterThan(3_000_000_000);
    writer.close();
    src.close();
  });

  it("reads the paths from the covering index (not the table), and the same sums as a table scan, or while a bulk load has the indexes aside", async () => {
    const { openStore, openStoreReadOnly } = await import('../../src/store/store');
    const { deferIndexes } = await import('../../src/store/deferred-indexes');
    const own = buildTuiFixture({ file: `${file}.paths.db`, extraFlows: 40 }).file;
    const db = openStoreReadOnly(own);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${PATHS_SQL}`).all() as { detail: string }[]).map((r) => r.detail);
    expect(plan).toContain('SCAN flows USING COVERING INDEX flows_overview');
    const scanned = db.prepare(PATHS_SQL.replace('FROM flows', 'FROM flows NOT INDEXED')).all();
    const walked = db.prepare(PATHS_SQL).all();
    db.close();
    expect(walked.length).toBeGreaterThan(2);
    expect(walked).toEqual(scanned);
    // A load under way drops the indexes: the Overview still reads its paths.
    const writer = openStore(own);
    expect(deferIndexes(writer)).toBeGreaterThan(0);
    const src = new DbDataSource(own);
    expect(src.load({ filter: '', sort: 'time', desc: true }).paths).toEqual(walked);
    src.close();
    writer.close();
  });
});

describe("a flow's packets from the TUI", () => {
  it("w in a flow's or a finding's details writes the flow's packets, read again from the capture, and says where; or why it cannot", async () => {
    const { rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { readCapture } = await import('../../src/ingest/read-capture');
    const { dir, db, done } = await analysedSample('kubelet-logs-exec-self-signed.pcap', 'kubelet.pcap');
    try {
      const a = await openFirstOf(db, dir, '3');
      expect(a.lastFrame()).toMatch(/w write the flow's packets \(pcapng\)/);
      await press('w', () => /packets written to/.test(app!.lastFrame()!));
      const m = /(\d+) packets written to (\S+\.pcapng)/.exec(a.lastFrame()!);
      expect(m).not.toBeNull();
      let frames = 0;
      expect((await readCapture(m![2]!, () => frames++)).error).toBeNull();
      expect(frames).toBe(Number(m![1]));
      expect(frames).toBeGreaterThan(0);
      await press('\u001b');
      expect(a.lastFrame()).not.toMatch(/packets written/);
      // From a finding's details: the packets of the flow it was raised on.
      await press('2');
      await press('\r');
      await press('w', () => /packets written to/.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/\d+ packets written to \S+planewatch-c1f\d+\.pcapng/);
      await press('\u001b');
      await press('3');
      // The capture moved away: the reason, not a crash.
      rmSync(join(dir, 'kubelet.pcap'));
      await press('\r');
      await press('w', () => /cannot be read again/.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/the capture kubelet\.pcap is not there/);
    } finally {
      done();
    }
  });

  it("an HTTP/2 connection's conversation is shown frame by frame, header blocks decoded", async () => {
    const { join } = await import('node:path');
    const { root, dir, db, done } = await analysedSample('node-to-apiserver.pcap');
    try {
      source = new DbDataSource(db, dir, [join(root, 'captures/keylogs/node-to-apiserver.keys')]);
      const c = await source.conversation(1);
      if (typeof c === 'string') throw new Error(c);
      expect(c.summary).toMatch(/^HTTP\/2 \(\d+ frames\) in the decrypted TLS application data: /);
      const texts = c.lines.map((l) => l.text);
      const get = texts.findIndex((t) => /^▶ client → server {2}frame \d+ {2}HEADERS stream 1 \(END_STREAM\)$/.test(t));
      expect(get).toBeGreaterThan(0);
      expect(texts.slice(get + 1, get + 3)).toEqual([':method: GET', expect.stringMatching(/^:path: \/api\/v1\/nodes\/worker-\d\?timeout=10s$/)]);
      expect(c.lines[get]).toMatchObject({ side: 0, header: true });
      expect(c.lines[get + 1]).toMatchObject({ side: 0, header: false });
      expect(texts).toContainEqual(expect.stringMatching(/^◀ server → client {2}frame \d+ {2}DATA stream 1, \d+ bytes \(END_STREAM\)$/));
    } finally {
      done();
    }
  });

  it("c in a flow's or a finding's details shows the flow's conversation; or says why it cannot", async () => {
    const { rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { root, dir, db, done } = await analysedSample('kubelet-logs-exec-self-signed.pcap', 'kubelet.pcap');
    try {
      // Without its key log the TLS connection shows its records, and says why.
      let a = await openFirstOf(db, dir, '2');
      expect(a.lastFrame()).toMatch(/c conversation/);
      await press('c', () => /TCP payload: /.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/▶ client → server {2}frame \d+\n/);
      // Tabs in the bytes become spaces: no replacement characters on the screen.
      expect(a.lastFrame()).not.toContain('\uFFFD');
      expect(a.lastFrame()).toMatch(/↑↓ scroll/);
      await press('j', () => /lines 2–/.test(app!.lastFrame()!));
      await press('G', () => /lines \d+–45 of 45/.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/note: TLS without its secrets \(give the key log with --keylog\)/);
      await press('\u001b');
      await press('\u001b');
      a.unmount();
      source.close();
      // With the key log the TUI was given: the requests inside.
      a = await openFirstOf(db, dir, '3', [join(root, 'captures/keylogs/kubelet-logs-exec-self-signed.keys')]);
      await press('c', () => /decrypted TLS application data/.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/frame \d+ {2}(GET|POST) \/(containerLogs|exec|attach|portForward)\/default\//);
      expect(a.lastFrame()).toMatch(/HTTP\/1 \(\d+ messages\) in the decrypted TLS application data/);
      await press('\u001b');
      expect(a.lastFrame()).not.toMatch(/decrypted TLS application data/);
      expect(a.lastFrame()).toMatch(/c conversation/);
      await press('\u001b');
      rmSync(join(dir, 'kubelet.pcap'));
      await press('\r');
      await press('c', () => /cannot be read again/.test(app!.lastFrame()!));
      expect(a.lastFrame()).toMatch(/the capture kubelet\.pcap is not there/);
    } finally {
      done();
    }
  });
});

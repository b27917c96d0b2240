import { describe, expect, it } from 'vitest';
import { openStore, openStoreReadOnly } from '../../src/store/store';
import { Aggregates, MAX_MAP_TRIPLES } from '../../src/web/aggregates';
import { listEndpoints } from '../../src/web/catalog-queries';
import { StatementCache } from '../../src/web/statements';
import { buildFixtureDb } from './fixture-db';

/**
 * The paths table is summed from the map's (path, client, server) groups when the map read all of
 * them, and read from v_path_summary when it did not: both must equal the view.
 */
describe('dashboard aggregates', () => {
  const fx = buildFixtureDb({ extraFlows: 300 });

  function pathsWith(maxMapTriples: number) {
    const db = openStoreReadOnly(fx.file);
    try {
      const agg = new Aggregates(db, new StatementCache(db), maxMapTriples);
      const topology = agg.topology();
      const view = db.prepare('SELECT * FROM v_path_summary').all() as {
        path: string; flows: number; bytes: number; findings: number; worst_rank: number; first_ts: number; last_ts: number;
      }[];
      const groups = db.prepare('SELECT COUNT(*) FROM (SELECT 1 FROM flows GROUP BY path, client_ip, server_ip)').pluck().get() as number;
      return { paths: agg.paths(), topology, view, groups, activity: agg.endpointActivity() };
    } finally {
      db.close();
    }
  }

  function countFlows(path: string): number {
    const db = openStoreReadOnly(fx.file);
    try {
      return db.prepare('SELECT COUNT(*) FROM flows WHERE path = ?').pluck().get(path) as number;
    } finally {
      db.close();
    }
  }

  for (const [name, limit] of [['from the map\'s groups', 1_000_000], ['from the view, when the map is truncated', 5]] as const) {
    it(`paths table ${name}`, () => {
      const { paths, topology, view, groups } = pathsWith(limit);
      expect(groups).toBeGreaterThan(5);
      expect(topology.truncated).toBe(limit < groups);
      expect(view.length).toBeGreaterThan(2);
      for (const v of view) {
        const p = paths.find((x) => x.path === v.path)!;
        expect({ flows: p.flows, bytes: p.bytes, findings: p.findings, firstTs: p.firstTs, lastTs: p.lastTs }).toEqual({
          flows: v.flows, bytes: v.bytes, findings: v.findings, firstTs: v.first_ts, lastTs: v.last_ts,
        });
      }
      for (const p of paths) if (!view.some((v) => v.path === p.path)) expect(p.flows).toBe(0);
      // Connections, not flows: the pod's connection seen before and after the DNAT counts once.
      const podFlows = countFlows('pod-to-apiserver');
      expect(paths.find((p) => p.path === 'pod-to-apiserver')!.flows).toBe(podFlows - 1);
    });
  }

  it('activity per address is the same summed from the groups as counted on the tables', () => {
    const summed = pathsWith(1_000_000);
    const counted = pathsWith(5);
    expect(summed.topology.truncated).toBe(false);
    expect(counted.topology.truncated).toBe(true);
    expect(summed.activity.size).toBeGreaterThan(5);
    expect([...summed.activity.values()].some((a) => a.findings > 0)).toBe(true);
    expect(new Map([...summed.activity].sort())).toEqual(new Map([...counted.activity].sort()));
  });

  it('activity of the addresses asked for is the same counted for them alone (a page of endpoints)', () => {
    const db = openStoreReadOnly(fx.file);
    try {
      const agg = new Aggregates(db, new StatementCache(db), 5);
      expect(agg.topology().truncated).toBe(true);
      const all = agg.endpointActivity();
      const withFindings = [...all].filter(([, a]) => a.findings > 0).map(([ip]) => ip);
      const page = [...withFindings.slice(0, 2), ...[...all.keys()].filter((ip) => !withFindings.includes(ip)).slice(0, 2), '192.0.2.250'];
      expect(page.length).toBe(5);
      const some = agg.endpointActivity(page);
      expect([...some.keys()].sort()).toEqual([...page].sort());
      for (const ip of page) expect(some.get(ip), ip).toEqual(all.get(ip) ?? { asClient: 0, asServer: 0, findings: 0, worstRank: 0 });
    } finally {
      db.close();
    }
  });

  it('roles leave out the addresses nothing is known about; roleOf still tells them from non-endpoints', () => {
    // A source seen only in a refused attempt: an endpoint of unknown role, without a name.
    const w = openStore(fx.file);
    w.prepare(`INSERT OR IGNORE INTO endpoints (ip, primary_role, flows, bytes) VALUES ('203.0.113.77', 'unknown', 1, 40)`).run();
    w.close();
    const db = openStoreReadOnly(fx.file);
    try {
      const agg = new Aggregates(db, new StatementCache(db));
      const unknown = db.prepare(`SELECT ip FROM endpoints WHERE primary_role = 'unknown' AND name IS NULL`).pluck().all() as string[];
      const known = db.prepare(`SELECT ip, primary_role FROM endpoints WHERE primary_role <> 'unknown'`).all() as { ip: string; primary_role: string }[];
      expect(unknown.length).toBeGreaterThan(0);
      expect(known.length).toBeGreaterThan(0);
      expect(unknown.some((ip) => agg.roles().has(ip))).toBe(false);
      for (const ip of unknown) expect(agg.roleOf(ip)).toBe('unknown');
      for (const k of known) expect(agg.roleOf(k.ip)).toBe(k.primary_role);
      expect(agg.roleOf('192.0.2.250')).toBeNull();
    } finally {
      db.close();
    }
  });
  for (const [name, limit] of [['the map\'s groups', 1_000_000], ['the tables, when the map is truncated', 5]] as const) {
    it(`endpoints sorted by findings, page by page, from ${name}: most findings first, then bytes, then address`, () => {
      const db = openStoreReadOnly(fx.file);
      try {
        const agg = new Aggregates(db, new StatementCache(db), limit);
        const all = new Aggregates(db, new StatementCache(db)).endpointActivity();
        const rows = db.prepare('SELECT ip, bytes, primary_role FROM endpoints').all() as { ip: string; bytes: number; primary_role: string }[];
        const findingsOf = (ip: string) => all.get(ip)?.findings ?? 0;
        const expected = (keep: (r: { primary_role: string }) => boolean) =>
          rows.filter(keep).sort((a, b) => findingsOf(b.ip) - findingsOf(a.ip) || b.bytes - a.bytes || (a.ip < b.ip ? -1 : 1)).map((r) => r.ip);
        const paged = (role?: string) => {
          const ips: string[] = [];
          for (let offset = 0; ; offset += 3) {
            const page = listEndpoints(new StatementCache(db), agg, { sort: 'findings', role, limit: 3, offset });
            ips.push(...page.items.map((i) => i.ip));
            for (const i of page.items) expect(i.findings, i.ip).toBe(findingsOf(i.ip));
            if (page.items.length < 3) return ips;
          }
        };
        const everyone = expected(() => true);
        expect(everyone.filter((ip) => findingsOf(ip) > 0).length).toBeGreaterThan(1);
        expect(everyone.filter((ip) => findingsOf(ip) === 0).length).toBeGreaterThan(3);
        expect(paged()).toEqual(everyone);
        const role = rows.find((r) => findingsOf(r.ip) > 0 && r.primary_role !== 'unknown')!.primary_role;
        expect(paged(role)).toEqual(expected((r) => r.primary_role === role));
      } finally {
        db.close();
      }
    });
  }
  it('recomputes while the database keeps changing at most every 2 s, or ten times what the last computation cost', () => {
    const own = buildFixtureDb({ file: `${fx.file}.refresh.db` }).file;
    const db = openStoreReadOnly(own);
    const writer = openStore(own);
    try {
      // The clock moves when the test says, and by `tick` at each reading (a computation then "costs" ticks).
      let t = 0;
      let tick = 0;
      const agg = new Aggregates(db, new StatementCache(db), MAX_MAP_TRIPLES, () => (t += tick));
      const findings = () => agg.summary().counts.findings;
      const addFinding = () =>
        writer.prepare(`INSERT INTO findings (rule, severity, severity_rank, title, evidence, recommendation, reference) VALUES ('weak-tls','medium',3,'t','e','r','')`).run();
      const first = findings();
      // A cheap computation: 2 s apart.
      addFinding();
      t += 1_000;
      expect(findings()).toBe(first);
      t += 1_100;
      tick = 300;
      expect(findings()).toBe(first + 1);
      // That one cost at least 300 ms: 3 s at least before the next.
      tick = 0;
      addFinding();
      t += 2_100;
      expect(findings()).toBe(first + 1);
      t += 60_000;
      expect(findings()).toBe(first + 2);
      // Nothing written since: what was computed stands, however long ago.
      t += 600_000;
      expect(findings()).toBe(first + 2);
    } finally {
      writer.close();
      db.close();
    }
  });
});

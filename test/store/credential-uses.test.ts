import { describe, expect, it } from 'vitest';
import { CREDENTIAL_USES_SQL } from '../../src/store/credential-uses';
import { openStore, openStoreReadOnly } from '../../src/store/store';
import { buildFixtureDb } from '../web/fixture-db';

/**
 * The credentials list sums each credential's uses on its index and reads its claims from its first
 * use: the same rows as summing the requests themselves, claims and all.
 */
describe('credential uses', () => {
  it('are what summing every request gives, for credentials with claims and opaque ones', () => {
    const file = buildFixtureDb({ extraFlows: 30 }).file;
    // More credentials: a token with claims used on several flows, with and without TLS; an opaque
    // token; basic credentials; each used more than once.
    const w = openStore(file);
    const flows = w.prepare(`SELECT id FROM flows ORDER BY id LIMIT 12`).pluck().all() as number[];
    const withTls = new Set(w.prepare(`SELECT flow_id FROM tls_sessions`).pluck().all() as number[]);
    expect(flows.some((f) => withTls.has(f)) && flows.some((f) => !withTls.has(f))).toBe(true);
    const add = w.prepare(`INSERT INTO http_requests (flow_id, seq, ts, version, method, path, auth, auth_hash, auth_subject, auth_identity)
      VALUES (?, 100 + ?, ?, '1.1', 'GET', '/api', ?, ?, ?, ?)`);
    const claims = JSON.stringify({ kind: 'serviceaccount', subject: 'system:serviceaccount:ci:runner', issuer: 'https://kubernetes.default.svc' });
    flows.forEach((f, i) => {
      add.run(f, i, 1_700_000_000 + i, 'bearer', 'sha256:aaaa', 'system:serviceaccount:ci:runner', claims);
      if (i % 3 === 0) add.run(f, 50 + i, 1_700_000_100 + i, 'bearer', 'sha256:bbbb', null, null);
      if (i % 4 === 1) add.run(f, 80 + i, 1_700_000_200 + i, 'basic', 'sha256:cccc', 'admin', JSON.stringify({ kind: 'basic', subject: 'admin' }));
    });
    w.close();
    const db = openStoreReadOnly(file);
    try {
      const bySum = db.prepare(`SELECT h.auth_hash AS hash, h.auth AS scheme, MAX(h.auth_subject) AS subject,
          COUNT(*) AS requests, COUNT(DISTINCT h.flow_id) AS flows, MIN(h.ts) AS first_ts, MAX(h.ts) AS last_ts,
          MAX(NOT EXISTS (SELECT 1 FROM tls_sessions t WHERE t.flow_id = h.flow_id)) AS cleartext, MAX(h.auth_identity) AS identity
        FROM http_requests h WHERE h.auth_hash IS NOT NULL GROUP BY h.auth_hash, h.auth ORDER BY hash, scheme`).all() as { identity: string | null }[];
      const listed = db.prepare(`SELECT * FROM (${CREDENTIAL_USES_SQL}) ORDER BY hash, scheme`).all();
      expect(bySum.length).toBeGreaterThan(2);
      expect(bySum.some((r) => r.identity !== null)).toBe(true);
      expect(bySum.some((r) => r.identity === null)).toBe(true);
      expect(listed).toEqual(bySum);
    } finally {
      db.close();
    }
  });
});

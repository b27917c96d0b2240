import { FlowWriter, openStore } from '../../src/store/store';
import { buildFixtureDb, flow, http, tls } from '../web/fixture-db';

/** SNI and user agent with escape sequences: colour, window title (OSC … BEL), cursor movement. */
export const ANSI_SNI = 'evil\u001b[2J\u001b]0;owned\u0007.example';
export const ANSI_UA = 'kube\u001b[31mRED\u001b[10;10H';

/**
 * The dashboard fixture database plus one flow whose wire strings carry terminal escapes (`accepted`:
 * with the fixture's findings accepted as risks, see ACCEPTED in ../web/fixture-db).
 */
export function buildTuiFixture(opts: { file?: string; extraFlows?: number; accepted?: boolean } = {}): { file: string; hostileFlowId: number } {
  const info = buildFixtureDb(opts);
  const db = openStore(info.file);
  try {
    const captureId = db.prepare('SELECT MIN(id) FROM captures').pluck().get() as number;
    const w = new FlowWriter(db, captureId);
    const rec = flow('10.0.0.99', 50999, '10.0.0.21', 10250, {
      id: 'hostile-ansi', app: 'tls', firstTs: 1_800_000_000,
      tls: tls({ sni: ANSI_SNI }), http: [http({ userAgent: ANSI_UA, path: '/containerLogs/x/y/z' })],
    });
    w.add(rec);
    w.flush();
    return { file: info.file, hostileFlowId: w.ids.get('hostile-ansi')! };
  } finally {
    db.close();
  }
}

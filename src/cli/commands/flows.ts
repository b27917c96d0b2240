import type { Command } from 'commander';
import { DB_OPTION_HELP, EXIT } from '../db-path';
import { printTable, write, writeJsonArray } from '../output';
import { ZEEK_CONN_COLUMNS, zeekConnJsonLines, zeekConnTsvLines, type ZeekConnRow } from '../../report/zeek/conn-log';
import { parseTime } from '../parse-time';
import { zeekLocalNets } from '../../report/zeek/local-nets';
import { appName, connStates, findingRule, pathId } from '../option-parsers';
import { CONN_STATES } from '../../flow/tcp-state';
import { openListingDb } from '../cut-off-warning';
import { captureIds } from '../capture-filter';
import { communityIdOption } from '../flow-ref';
import { APP_PROTOCOLS } from '../../model/records';

/** `ip:port` of a flow's side in SQL, IPv6 addresses in brackets (as endpointText writes them). */
const ENDPOINT_SQL = (side: 'client' | 'server') =>
  `CASE WHEN instr(${side}_ip, ':') > 0 THEN '[' || ${side}_ip || ']:' || ${side}_port ELSE ${side}_ip || ':' || ${side}_port END`;

interface FlowsOptions {
  db?: string;
  path?: string;
  endpoint?: string;
  port?: string;
  app?: string;
  finding?: string;
  credential?: string;
  communityId?: string;
  state?: string;
  capture?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
  zeek?: boolean;
  zeekJson?: boolean;
}

/** A path's detail for the table: `target=pod scheme=http`, blank when there is none (JSON keeps the object). */
const DETAIL_TEXT_SQL = `(SELECT group_concat(key || '=' || value, ' ') FROM json_each(path_detail))`;

export function registerFlowsCommand(program: Command): void {
  program
    .command('flows')
    .description('list stored connections with their path and findings')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--path <id>', 'only this path id (e.g. apiserver-to-kubelet)', pathId)
    .option('--endpoint <ip>', 'only flows with this address on either side')
    .option('--port <n>', 'only flows to this server port')
    .option('--app <app>', `only this application protocol (${APP_PROTOCOLS.join(', ')})`, appName)
    .option('--finding <rule>', 'only flows that raised this finding', findingRule)
    .option('--credential <who>', "only flows whose requests carry this credential: its subject (system:serviceaccount:<ns>:<name>, a user) or its hash (sha256:…)")
    .option('--community-id <id>', 'only the flows of this Community ID (as Zeek, Suricata and Wireshark print it for the same connection)', communityIdOption)
    .option('--state <states>', `only flows in these Zeek connection states, comma-separated (${CONN_STATES.join(', ')}); e.g. S0,REJ: attempts nothing answered or the server refused`, connStates)
    .option('--capture <id|file>', "only flows of this capture: its id, or its file (as stored, or by name)")
    .option('--since <time>', 'only flows active at or after this time (ISO 8601 or epoch seconds)')
    .option('--until <time>', 'only flows that started at or before this time')
    .option('--limit <n>', 'at most this many rows (default 100; with --zeek or --zeek-json every flow)')
    .option('--json', 'print JSON')
    .option('--zeek', "print a Zeek conn.log (tab-separated, Zeek's header and fields, for zeek-cut and Zeek log readers), with the Community ID, planewatch_path and planewatch_findings")
    .option('--zeek-json', "print the same as Zeek's JSON logs: one object a line")
    .action(async (opts: FlowsOptions) => {
      if ([opts.json, opts.zeek, opts.zeekJson].filter(Boolean).length > 1) {
        process.stderr.write('planewatch flows: choose one of --json, --zeek and --zeek-json\n');
        process.exit(EXIT.USAGE);
      }
      const { db } = openListingDb(opts.db);
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (opts.path) {
        where.push('path = ?');
        params.push(opts.path);
      }
      if (opts.endpoint) {
        where.push('(client_ip = ? OR server_ip = ?)');
        params.push(opts.endpoint, opts.endpoint);
      }
      if (opts.port) {
        where.push('server_port = ?');
        params.push(Number(opts.port));
      }
      if (opts.app) {
        where.push('app = ?');
        params.push(opts.app);
      }
      if (opts.finding) {
        where.push('id IN (SELECT flow_id FROM findings WHERE rule = ?)');
        params.push(opts.finding);
      }
      if (opts.credential) {
        where.push('id IN (SELECT flow_id FROM http_requests WHERE auth_subject = ? OR auth_hash = ?)');
        params.push(opts.credential, opts.credential);
      }
      if (opts.communityId) {
        where.push('community_id = ?');
        params.push(opts.communityId);
      }
      if (opts.state) {
        const states = opts.state.split(',');
        where.push(`state IN (${states.map(() => '?').join(',')})`);
        params.push(...states);
      }
      try {
        if (opts.capture) {
          const ids = captureIds(db, opts.capture);
          where.push(`capture_id IN (${ids.join(',')})`);
        }
        if (opts.since) {
          where.push('last_ts >= ?');
          params.push(parseTime(opts.since));
        }
        if (opts.until) {
          where.push('first_ts <= ?');
          params.push(parseTime(opts.until));
        }
      } catch (e) {
        process.stderr.write(`planewatch flows: ${(e as Error).message}\n`);
        process.exit(EXIT.USAGE);
      }
      const zeek = opts.zeek === true || opts.zeekJson === true;
      // A log export is every flow unless a limit is given; a listing, a page.
      const limit = opts.limit === undefined && zeek ? null : Math.max(1, Math.min(1_000_000, Number(opts.limit) || 100));
      const filter = `${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY first_ts, id ${limit === null ? '' : `LIMIT ${limit}`}`;
      if (zeek) {
        const isLocal = zeekLocalNets(db);
        const rows = db.prepare(`SELECT ${ZEEK_CONN_COLUMNS} FROM flows ${filter}`).iterate(...params) as IterableIterator<ZeekConnRow>;
        try {
          for (const line of opts.zeek ? zeekConnTsvLines(rows, isLocal) : zeekConnJsonLines(rows, isLocal)) await write(line);
        } finally {
          db.close();
        }
        return;
      }
      const rows = db
        .prepare(
          `SELECT flow_key AS id, datetime(first_ts, 'unixepoch') AS start, ${ENDPOINT_SQL('client')} AS client,
                  ${ENDPOINT_SQL('server')} AS server, app, path, ${opts.json ? 'path_detail' : DETAIL_TEXT_SQL} AS detail, confidence,
                  bytes_client + bytes_server AS bytes, state, worst_severity AS worst,${opts.json ? ' community_id,' : ''}
                  (SELECT group_concat(rule, ',') FROM findings WHERE flow_id = flows.id) AS findings
             FROM flows ${filter}`,
        )
        .iterate(...params) as IterableIterator<Record<string, unknown>>;
      try {
        if (opts.json) await writeJsonArray(rows);
        else await printTable(rows);
      } finally {
        db.close();
      }
    });
}

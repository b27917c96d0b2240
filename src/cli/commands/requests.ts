import { InvalidArgumentError, type Command } from 'commander';
import { listRequests, requestConditions, requestObject, requestSender, statusRange } from '../../web/request-queries';
import { HTTP_LOG, ZEEK_HTTP_COLUMNS, zeekHttpFields, type ZeekHttpRow } from '../../report/zeek/http-log';
import { zeekLogLines } from '../../report/zeek/zeek-log';
import { StatementCache } from '../../web/statements';
import { endpointText } from '../../decode/address';
import { terminalSafe } from '../../report/terminal-text';
import { secondsText } from '../../report/endpoint-text';
import { openListingDb } from '../cut-off-warning';
import { DB_OPTION_HELP, EXIT } from '../db-path';
import { collect, pathId, positiveInt } from '../option-parsers';
import { printTable, write, writeJsonArray } from '../output';
import { parseTime } from '../parse-time';

interface RequestsOptions {
  db?: string;
  operation?: string[];
  api?: 'apiserver' | 'kubelet';
  resource?: string;
  namespace?: string;
  status?: string;
  credential?: string;
  endpoint?: string;
  path?: string[];
  search?: string;
  since?: string;
  until?: string;
  limit?: number;
  json?: boolean;
  zeek?: boolean;
  zeekJson?: boolean;
}

const DEFAULT_LIMIT = 100;

function statusFilter(text: string): string {
  if (statusRange(text) === null) throw new InvalidArgumentError(`"${text}" is neither an HTTP status (401) nor a class of them (4xx)`);
  return text.toLowerCase();
}

function apiName(text: string): 'apiserver' | 'kubelet' {
  if (text !== 'apiserver' && text !== 'kubelet') throw new InvalidArgumentError(`unknown API "${text}" (apiserver or kubelet)`);
  return text;
}

function operationName(text: string, previous: string[] | undefined): string[] {
  if (!/^[a-z-]{1,32}$/.test(text)) throw new InvalidArgumentError(`"${text}" is not an operation (get, list, watch, create, update, patch, delete, exec, attach, logs, portforward, proxy …)`);
  return collect(text, previous);
}

export function registerRequestsCommand(program: Command): void {
  program
    .command('requests')
    .description('list the requests read on the connections, newest first: the Kubernetes operation on which object, with whose credential, from which client to which server, the status, and the flow that carried it')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--operation <op>', 'only this operation: get, list, watch, create, update, patch, delete, exec, attach, logs, portforward, proxy … (repeatable)', operationName)
    .option('--api <api>', "only requests to this API: apiserver or kubelet", apiName)
    .option('--resource <name>', 'only this resource or subresource (pods, secrets, pods/exec …)')
    .option('--namespace <ns>', 'only objects in this namespace')
    .option('--status <code>', 'only this HTTP status (401) or class (4xx, 5xx)', statusFilter)
    .option('--credential <who>', "only requests carrying this credential: its subject (system:serviceaccount:<ns>:<name>, a user) or hash (sha256:…)")
    .option('--endpoint <ip>', 'only requests on connections with this address on either side')
    .option('--path <id>', 'only requests on connections of this path (repeatable)', (v: string, prev: string[] | undefined) => collect(pathId(v), prev))
    .option('--search <text>', 'only requests whose target, user agent or object name contains this')
    .option('--since <time>', 'only requests at or after this time (ISO 8601 or epoch seconds)')
    .option('--until <time>', 'only requests before this time')
    .option('--limit <n>', `at most this many (default ${DEFAULT_LIMIT}; with --zeek or --zeek-json every request)`, positiveInt)
    .option('--json', "print JSON (the dashboard's GET /api/requests items)")
    .option('--zeek', "print a Zeek http.log (tab-separated, Zeek's header and fields, oldest first), with the Kubernetes operation and credential in planewatch_* fields")
    .option('--zeek-json', "print the same as Zeek's JSON logs: one object a line")
    .addHelpText(
      'after',
      '\nRequests are read in plain HTTP, and inside TLS with a key log (--keylog when\n' +
        'analysing, or a pcapng Decryption Secrets Block). Credentials are kept as their\n' +
        'kind and a hash, never themselves.\n\n' +
        'Examples:\n' +
        '  planewatch requests --operation exec --operation attach --operation portforward\n' +
        '  planewatch requests --resource secrets --status 2xx\n' +
        '  planewatch requests --status 4xx --namespace kube-system\n' +
        '  planewatch requests --zeek | zeek-cut id.orig_h method uri status_code planewatch_credential\n',
    )
    .action(async (opts: RequestsOptions) => {
      if ([opts.json, opts.zeek, opts.zeekJson].filter(Boolean).length > 1) {
        process.stderr.write('planewatch requests: choose one of --json, --zeek and --zeek-json\n');
        process.exitCode = EXIT.USAGE;
        return;
      }
      let from: number | undefined;
      let to: number | undefined;
      try {
        if (opts.since) from = parseTime(opts.since);
        if (opts.until) to = parseTime(opts.until);
      } catch (e) {
        process.stderr.write(`planewatch requests: ${(e as Error).message}\n`);
        process.exitCode = EXIT.USAGE;
        return;
      }
      const { db } = openListingDb(opts.db);
      const query = {
        operation: opts.operation, api: opts.api, resource: opts.resource, namespace: opts.namespace, status: opts.status,
        credential: opts.credential, ip: opts.endpoint, path: opts.path, q: opts.search, from, to,
      };
      try {
        if (opts.zeek || opts.zeekJson) {
          // A log: every match unless a limit is given, oldest first as Zeek writes it.
          const { where, params } = requestConditions(query);
          const limit = opts.limit !== undefined ? `LIMIT ${opts.limit}` : '';
          const rows = db.prepare(`SELECT ${ZEEK_HTTP_COLUMNS} FROM http_requests r JOIN flows fl ON fl.id = r.flow_id ${where}
            ORDER BY r.ts, r.id ${limit}`).iterate(...params) as IterableIterator<ZeekHttpRow>;
          for (const line of zeekLogLines(HTTP_LOG, zeekHttpFields, rows, opts.zeek ? 'zeek' : 'zeek-json')) await write(line);
          return;
        }
        const page = listRequests(new StatementCache(db), { ...query, limit: opts.limit ?? DEFAULT_LIMIT, offset: 0 });
        if (opts.json) {
          await writeJsonArray(page.items);
          return;
        }
        if (page.items.length === 0) {
          process.stdout.write('no requests match (requests inside TLS are read only with a key log)\n');
          return;
        }
        await printTable(page.items.map((r) => ({
          time: secondsText(r.ts),
          flow: r.flowKey,
          client: `${r.clientIp}${r.clientName ? ` (${terminalSafe(r.clientName, 60)})` : r.clientRole ? ` (${r.clientRole})` : ''}`,
          server: `${endpointText(r.serverIp, r.serverPort)}${r.serverRole ? ` (${r.serverRole})` : ''}`,
          op: r.operation ?? '-',
          object: requestObject(r) || '-',
          request: `${r.method ?? r.grpcMethod ?? ''} ${r.target ?? ''}`.trim(),
          status: r.status ?? (r.grpcStatus !== null ? `grpc ${r.grpcStatus}` : '-'),
          who: requestSender(r, true) ?? '-',
          tls: r.cleartext ? 'no' : 'yes',
        })), process.stdout, 60);
        if (page.total > page.items.length) {
          process.stdout.write(`(${page.items.length} of ${page.total}${page.totalCapped ? ' or more' : ''}, newest first; --limit for more)\n`);
        }
      } finally {
        db.close();
      }
    });
}

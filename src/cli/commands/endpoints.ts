import { InvalidArgumentError, type Command } from 'commander';
import type { Role } from '../../analysis/topology';
import { endpointDetail, listEndpoints, type EndpointQuery } from '../../web/catalog-queries';
import { Aggregates } from '../../web/aggregates';
import { StatementCache } from '../../web/statements';
import { endpointDetailText, secondsText } from '../../report/endpoint-text';
import { formatBytes } from '../../report/text-report';
import { terminalSafe } from '../../report/terminal-text';
import { openListingDb } from '../cut-off-warning';
import { DB_OPTION_HELP, EXIT } from '../db-path';
import { positiveInt, roleName } from '../option-parsers';
import { printTable, writeJsonArray } from '../output';

interface EndpointsOptions {
  db?: string;
  role?: Role;
  search?: string;
  sort: EndpointQuery['sort'];
  limit?: number;
  json?: boolean;
}

const SORTS: EndpointQuery['sort'][] = ['bytes', 'flows', 'findings', 'ip', 'role'];
const DEFAULT_LIMIT = 100;

function sortOrder(text: string): EndpointQuery['sort'] {
  if (!(SORTS as string[]).includes(text)) throw new InvalidArgumentError(`unknown sort "${text}" (one of: ${SORTS.join(', ')})`);
  return text as EndpointQuery['sort'];
}

export function registerEndpointsCommand(program: Command): void {
  program
    .command('endpoints')
    .description("list the addresses seen with the role each plays (API server, kubelet, etcd, node, pod …) and why, their flows and findings; with an address, that endpoint's certificates and peers")
    .argument('[ip]', 'one endpoint: its roles and their evidence, the certificates it presented or sent, whom it talked to on which path')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--role <role>', 'only endpoints with this role (apiserver, kubelet, etcd, konnectivity-server, controlplane-component, node, pod, service, user, unknown)', roleName)
    .option('--search <text>', 'only endpoints whose address or name contains this')
    .option('--sort <order>', `${SORTS.join(', ')} (default bytes, most first)`, sortOrder, 'bytes')
    .option('--limit <n>', `at most this many (default ${DEFAULT_LIMIT})`, positiveInt)
    .option('--json', "print JSON (the dashboard's GET /api/endpoints items, or GET /api/endpoints/:ip for one)")
    .addHelpText(
      'after',
      '\nRoles come from what the traffic showed (certificates, ports, user agents, paths, who\n' +
        'talks to whom) and from --inventory when the capture was analysed.\n\n' +
        'Examples:\n' +
        '  planewatch endpoints --role kubelet\n' +
        '  planewatch endpoints 10.0.0.10\n',
    )
    .action(async (ip: string | undefined, opts: EndpointsOptions) => {
      const { db } = openListingDb(opts.db);
      try {
        const stmts = new StatementCache(db);
        const agg = new Aggregates(db, stmts);
        if (ip !== undefined) {
          const d = endpointDetail(stmts, agg, ip);
          if (d === null) {
            process.stderr.write(`planewatch endpoints: no endpoint ${terminalSafe(ip)} in the database\n`);
            process.exitCode = EXIT.USAGE;
            return;
          }
          process.stdout.write(opts.json ? `${JSON.stringify(d, null, 2)}\n` : endpointDetailText(d));
          return;
        }
        const page = listEndpoints(stmts, agg, { role: opts.role, q: opts.search, sort: opts.sort, limit: opts.limit ?? DEFAULT_LIMIT, offset: 0 });
        if (opts.json) {
          await writeJsonArray(page.items);
          return;
        }
        if (page.items.length === 0) {
          process.stdout.write('no endpoints match\n');
          return;
        }
        await printTable(page.items.map((e) => ({
          ip: e.ip,
          role: e.primaryRole,
          name: e.name ?? '-',
          'other roles': e.roles.filter((r) => r !== e.primaryRole).join(',') || '-',
          'as client': e.flowsAsClient,
          'as server': e.flowsAsServer,
          bytes: formatBytes(e.bytes),
          findings: e.findings === 0 ? '-' : `${e.findings} (${e.worstSeverity})`,
          first: secondsText(e.firstTs),
          last: secondsText(e.lastTs),
        })), process.stdout, 60);
        if (page.total > page.items.length) process.stdout.write(`(${page.items.length} of ${page.total}; --limit for more)\n`);
      } finally {
        db.close();
      }
    });
}

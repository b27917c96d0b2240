import type { Command } from 'commander';
import { storedIdentity } from '../../analysis/client-identity';
import { CREDENTIAL_ENDPOINTS_SQL, CREDENTIAL_USES_SQL, usedBetween, type CredentialUseRow } from '../../store/credential-uses';
import { openListingDb } from '../cut-off-warning';
import { DB_OPTION_HELP } from '../db-path';
import { printTable, write, writeJsonArray } from '../output';
import { positiveInt } from '../option-parsers';

interface CredentialsOptions {
  db?: string;
  cleartext?: boolean;
  subject?: string;
  limit?: number;
  json?: boolean;
}

/** Clients and servers listed per credential in the table (the JSON has up to 20 of each). */
const LISTED = 3;

export function registerCredentialsCommand(program: Command): void {
  program
    .command('credentials')
    .description('list the credentials seen in requests (hashes only): whose each claims to be, where it was used, whether in cleartext')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--cleartext', 'only those that crossed without TLS at least once')
    .option('--subject <text>', 'only those whose subject contains this (a namespace, a service account, a user)')
    .option('--limit <n>', 'at most this many', positiveInt)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nRequests are visible in plain HTTP, or inside TLS with a key log (--keylog, or a\n' +
        'pcapng Decryption Secrets Block). `planewatch flows --credential SUBJECT|HASH`\n' +
        'lists the connections that carried one.\n',
    )
    .action(async (opts: CredentialsOptions) => {
      const { db } = openListingDb(opts.db);
      try {
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (opts.cleartext) where.push('cleartext = 1');
        if (opts.subject) {
          where.push(`instr(lower(COALESCE(subject, '')), lower(?)) > 0`);
          params.push(opts.subject);
        }
        const rows = db
          .prepare(`SELECT * FROM (${CREDENTIAL_USES_SQL}) ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                     ORDER BY cleartext DESC, last_ts DESC, hash ${opts.limit !== undefined ? `LIMIT ${opts.limit}` : ''}`)
          .all(...params) as CredentialUseRow[];
        const sides = db.prepare(CREDENTIAL_ENDPOINTS_SQL);
        const items = rows.map((r) => {
          const { holder, expires } = storedIdentity(r.identity);
          const { clients, servers } = usedBetween(sides.all(r.hash, 400) as { client_ip: string; server_ip: string; server_port: number }[]);
          return {
            credential: r.hash,
            scheme: r.scheme,
            subject: r.subject,
            holder,
            expires: expires === null ? null : new Date(expires * 1000).toISOString(),
            cleartext: r.cleartext === 1,
            requests: r.requests,
            flows: r.flows,
            clients,
            servers,
            first: r.first_ts === null ? null : new Date(r.first_ts * 1000).toISOString(),
            last: r.last_ts === null ? null : new Date(r.last_ts * 1000).toISOString(),
          };
        });
        if (opts.json) await writeJsonArray(items);
        else if (items.length === 0) await write('no credentials seen (requests inside TLS are visible only with a key log)\n');
        else {
          const listed = (xs: string[]) => xs.slice(0, LISTED).join(' ') + (xs.length > LISTED ? ` +${xs.length - LISTED}` : '');
          await printTable(items.map((c) => ({
            credential: c.credential, scheme: c.scheme, holder: c.holder ?? c.subject ?? '-', cleartext: c.cleartext ? 'yes' : 'no',
            requests: c.requests, clients: listed(c.clients), servers: listed(c.servers), first: c.first, last: c.last,
          })), process.stdout, 80);
        }
      } finally {
        db.close();
      }
    });
}

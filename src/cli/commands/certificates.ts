import type { Command } from 'commander';
import { certificateDetail, listCertificates } from '../../web/catalog-queries';
import { StatementCache } from '../../web/statements';
import { certificateDetailText } from '../../report/certificate-text';
import { terminalSafe } from '../../report/terminal-text';
import { openListingDb } from '../cut-off-warning';
import { DB_OPTION_HELP, EXIT } from '../db-path';
import { positiveInt } from '../option-parsers';
import { printTable, writeJsonArray } from '../output';

interface CertificatesOptions {
  db?: string;
  selfSigned?: boolean;
  caSigned?: boolean;
  endpoint?: string;
  search?: string;
  limit?: number;
  json?: boolean;
}

const DEFAULT_LIMIT = 100;
/** Shortest prefix of a SHA-256 taken for the certificate (as git takes a commit's). */
const MIN_PREFIX = 8;

export function registerCertificatesCommand(program: Command): void {
  program
    .command('certificates')
    .description('list the certificates seen in TLS handshakes (each once): subject, issuer, validity, key, how many flows carried it and from which addresses; with a SHA-256, that certificate and the connections that carried it')
    .argument('[sha256]', 'one certificate: its SHA-256 fingerprint, or a unique prefix of it (8 hex digits or more)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--self-signed', 'only self-signed certificates (a kubelet\'s own serving certificate, for one)')
    .option('--ca-signed', 'only certificates issued by another')
    .option('--endpoint <ip>', 'only certificates presented by or to this address')
    .option('--search <text>', 'only certificates whose subject, issuer or SAN contains this (or whose SHA-256 it is)')
    .option('--limit <n>', `at most this many (default ${DEFAULT_LIMIT})`, positiveInt)
    .option('--json', "print JSON (the dashboard's GET /api/certificates items, or GET /api/certificates/:sha256 for one)")
    .addHelpText(
      'after',
      '\nTLS 1.3 encrypts certificates: they are seen with a key log (--keylog, or a pcapng\n' +
        'Decryption Secrets Block) or on a TLS 1.2 connection to the same server.\n\n' +
        'Examples:\n' +
        '  planewatch certificates --self-signed\n' +
        '  planewatch certificates --endpoint 10.0.0.21\n' +
        '  planewatch certificates 167c8672\n',
    )
    .action(async (sha: string | undefined, opts: CertificatesOptions) => {
      const { db } = openListingDb(opts.db);
      try {
        const stmts = new StatementCache(db);
        if (sha !== undefined) {
          const full = resolveFingerprint(stmts, sha);
          const d = full === null ? null : certificateDetail(stmts, full);
          if (d === null) return;
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
            return;
          }
          const ids = d.recentFlows.map((f) => f.id);
          const keys = new Map(
            ids.length === 0
              ? []
              : stmts.all<{ id: number; key: string }>(`SELECT id, flow_key AS key FROM flows WHERE id IN (${ids.map(() => '?').join(',')})`, ids).map((r) => [r.id, r.key] as [number, string]),
          );
          process.stdout.write(certificateDetailText(d, keys));
          return;
        }
        if (opts.selfSigned && opts.caSigned) {
          process.stderr.write('planewatch certificates: --self-signed and --ca-signed exclude each other\n');
          process.exitCode = EXIT.USAGE;
          return;
        }
        const selfSigned = opts.selfSigned ? true : opts.caSigned ? false : undefined;
        const page = listCertificates(stmts, { q: opts.search, selfSigned, ip: opts.endpoint, limit: opts.limit ?? DEFAULT_LIMIT, offset: 0 });
        if (opts.json) {
          await writeJsonArray(page.items);
          return;
        }
        if (page.items.length === 0) {
          process.stdout.write('no certificates match (TLS 1.3 certificates are seen only with a key log)\n');
          return;
        }
        const listed = (xs: string[]) => xs.slice(0, 3).join(' ') + (xs.length > 3 ? ` +${xs.length - 3}` : '');
        await printTable(page.items.map(({ certificate: c, flows, servers }) => ({
          subject: c.subject,
          issuer: c.selfSigned ? '(self-signed)' : c.issuer,
          'not after': c.notAfter?.slice(0, 10) ?? '—',
          key: `${c.keyType}${c.keyBits ? ` ${c.keyBits}` : ''}`,
          flows,
          'sent by': listed(servers),
          sha256: c.sha256.slice(0, 16),
        })), process.stdout, 60);
        if (page.total > page.items.length) process.stdout.write(`(${page.items.length} of ${page.total}; --limit for more)\n`);
      } finally {
        db.close();
      }
    });
}

/** The full fingerprint a SHA-256 or its unique prefix names; null (and the reason said) otherwise. */
function resolveFingerprint(stmts: StatementCache, text: string): string | null {
  const hex = text.toLowerCase().replace(/^sha256:/, '').replace(/:/g, '');
  const fail = (why: string): null => {
    process.stderr.write(`planewatch certificates: ${why}\n`);
    process.exitCode = EXIT.USAGE;
    return null;
  };
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_PREFIX || hex.length > 64) {
    return fail(`${terminalSafe(text, 80)} is not a SHA-256 fingerprint or a prefix of one (${MIN_PREFIX} to 64 hex digits)`);
  }
  const found = stmts.all<{ sha256: string }>(`SELECT sha256 FROM certificates WHERE sha256 >= ? AND sha256 < ? ORDER BY sha256 LIMIT 2`, [hex, `${hex}g`]);
  if (found.length === 0) return fail(`no certificate ${hex} in the database`);
  if (found.length > 1) return fail(`${hex} is the start of several certificates' fingerprints: give more of it`);
  return found[0]!.sha256;
}

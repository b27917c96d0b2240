/** `planewatch serve`: the web dashboard over a planewatch database. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../web/listen-defaults';
import { DB_OPTION_HELP, EXIT, defaultDbPath } from '../db-path';
import { collect } from '../option-parsers';
import { loadKeyLogFiles, type KeyLog } from '../../../dissectors/tls/decrypt/key-log';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: ${v} is not a port number`);
  return n;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the web dashboard for a planewatch database (read-only)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--host <address>', 'address to listen on; anything but loopback requires --token', DEFAULT_HOST)
    .option('--port <n>', 'port to listen on (0 = any free port)', parsePort, DEFAULT_PORT)
    .option('--token <secret>', 'require this token (Authorization: Bearer, or open /?token=… once)', process.env.PLANEWATCH_TOKEN)
    .option('--decrypt', "show TLS conversations decrypted with the key log blocks their captures carry (off by default: the plaintext holds credentials)")
    .option('--keylog <file>', 'TLS key log to decrypt conversations with as well (repeatable; implies --decrypt)', collect)
    .action(async (o: { db?: string; host: string; port: number; token?: string; decrypt?: boolean; keylog?: string[] }) => {
      const db = o.db ?? defaultDbPath();
      if (!existsSync(db)) {
        process.stderr.write(`planewatch serve: ${db}: no such database (create one with \`planewatch analyze … --db ${db}\`)\n`);
        process.exitCode = EXIT.ERROR;
        return;
      }
      let decryption: KeyLog | null = null;
      if (o.decrypt || o.keylog?.length) {
        try {
          decryption = loadKeyLogFiles(o.keylog ?? []);
        } catch (e) {
          process.stderr.write(`planewatch serve: ${(e as Error).message}\n`);
          process.exitCode = EXIT.ERROR;
          return;
        }
      }
      const { ServeRefused, startServer } = await import('../../web/server');
      try {
        const s = await startServer({ dbFile: db, host: o.host, port: o.port, token: o.token, decryption });
        process.stdout.write(`planewatch dashboard: ${s.url}${o.token ? ' (token required)' : ''}\n`);
        const stop = () => void s.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (e) {
        process.stderr.write(`planewatch serve: ${e instanceof ServeRefused ? e.message : (e as Error).message}\n`);
        process.exitCode = e instanceof ServeRefused ? EXIT.USAGE : EXIT.ERROR;
      }
    });
}

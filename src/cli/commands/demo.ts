import type { Command } from 'commander';
import { KeyLog } from '../../../dissectors/tls/decrypt/key-log';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runAnalyze } from './analyze';
import { EXIT } from '../db-path';
import { PACKAGE_ROOT } from '../../package-root';

const ROOT = PACKAGE_ROOT;
const CAPTURES = join(ROOT, 'captures');

/**
 * `npm start`: analyses the bundled sample captures (with their inventory and CA bundle) into a fresh
 * database under .planewatch/, prints the summary, and serves the dashboard on it.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('analyse the bundled sample captures into .planewatch/demo.db and serve the dashboard on them')
    .option('--db <file>', 'database to (re)create', join(ROOT, '.planewatch/demo.db'))
    .option('--port <n>', 'dashboard port (0 = any free port)', '8765')
    .option('--no-serve', 'analyse and print the summary only')
    .action(async (o: { db: string; port: string; serve: boolean }) => {
      const samples = join(CAPTURES, 'samples');
      const names = readdirSync(samples).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f));
      const files = names
        // The link-layer variants repeat one scenario's connections; the demo shows each scenario once.
        .filter((f) => !/\.(sll2|vlan|vxlan|two-interfaces)\./.test(f))
        // A scenario kept with its key log (X.dsb.pcapng) is shown by that copy: its secrets would
        // decrypt X.pcap as well (keys apply to every capture of a run), and show it twice.
        .filter((f) => !(f.endsWith('.pcap') && names.includes(f.replace(/\.pcap$/, '.dsb.pcapng'))))
        .sort()
        .map((f) => join(samples, f));
      mkdirSync(dirname(o.db), { recursive: true });
      for (const suffix of ['', '-wal', '-shm']) if (existsSync(o.db + suffix)) rmSync(o.db + suffix);
      process.stdout.write(`analysing ${files.length} sample captures from ${samples}\n\n`);
      const code = await runAnalyze(
        files,
        {
          db: o.db,
          inventory: [join(CAPTURES, 'inventory.json'), join(CAPTURES, 'planewatch-cluster.json')],
          ca: [join(CAPTURES, 'cluster-ca.pem')],
          quiet: false,
        },
        { stdout: process.stdout, stderr: process.stderr },
      );
      if (code !== EXIT.OK) {
        process.exitCode = code;
        return;
      }
      if (!o.serve) return;
      const { startServer } = await import('../../web/server');
      // The samples' conversations are shown decrypted with the key logs their captures carry, as
      // the analysis read them (sample data, on loopback).
      const s = await startServer({ dbFile: o.db, port: Number(o.port), decryption: new KeyLog() });
      process.stdout.write(`\nplanewatch dashboard: ${s.url}  (Ctrl-C stops it)\n`);
      const stop = () => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

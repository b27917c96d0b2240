import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DB_OPTION_HELP, EXIT } from '../db-path';
import { write } from '../output';
import { openListingDb } from '../cut-off-warning';
import { zeekLocalNets } from '../../report/zeek/local-nets';
import { captureIds } from '../capture-filter';
import { zeekLogSources } from '../../report/zeek/zeek-logs';
import type { ZeekFormat } from '../../report/zeek/zeek-log';
import { terminalSafe } from '../../report/terminal-text';

interface ExportOptions {
  db?: string;
  capture?: string;
  format?: string;
  force?: boolean;
}

const FORMATS: readonly ZeekFormat[] = ['zeek', 'zeek-json'];

function fail(code: number, message: string): never {
  process.stderr.write(`planewatch export: ${message}\n`);
  process.exit(code);
}

/** Writes `lines` to `file` through a temporary name, so that a log is never seen half written; returns the records written. */
async function writeLog(file: string, lines: Iterable<string>): Promise<number> {
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp);
  let records = 0;
  try {
    for (const line of lines) {
      if (!line.startsWith('#')) records++;
      await write(line, out);
    }
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(resolve);
    });
  } catch (e) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw e;
  }
  if (records === 0) rmSync(tmp, { force: true });
  else renameSync(tmp, file);
  return records;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description("write the database as Zeek logs into a directory: conn.log, tunnel.log, dns.log, http.log, ssl.log, x509.log, ssh.log and notice.log (the findings), for Zeek tooling and SIEM pipelines built for Zeek")
    .argument('<dir>', 'directory to write the logs into (made if missing)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--format <format>', "zeek (tab-separated, Zeek's header, for zeek-cut) or zeek-json (Zeek's JSON logs, one object a line)", 'zeek')
    .option('--capture <id|file>', "only what this capture gave, as `zeek -r` on it would log it: its id, or its file (as stored, or by name)")
    .option('--force', 'replace logs of these names already in the directory')
    .addHelpText(
      'after',
      '\nEvery connection has the same uid (its flow id) in all the logs, as in Zeek.\n' +
        "Fields of planewatch's own are named planewatch_*: the connection's path,\n" +
        'its findings, and the Kubernetes operation and credential of a request.\n' +
        'Each finding is a notice of type Planewatch::<Rule> (Planewatch::Kubelet_TLS_Unverified).\n' +
        'As Zeek, a log with no records is not written.\n\n' +
        'Examples:\n' +
        '  planewatch export zeek-logs/ && zeek-cut id.orig_h uri status_code < zeek-logs/http.log\n' +
        '  planewatch export --format zeek-json /var/log/planewatch --force\n' +
        '  planewatch export --capture etcd.pcap logs/etcd/\n',
    )
    .action(async (dir: string, opts: ExportOptions) => {
      const format = opts.format as ZeekFormat;
      if (!FORMATS.includes(format)) fail(EXIT.USAGE, `unknown format ${terminalSafe(opts.format ?? '')} (${FORMATS.join(', ')})`);
      const { db } = openListingDb(opts.db);
      try {
        let captures: number[] | null = null;
        if (opts.capture !== undefined) {
          try {
            captures = captureIds(db, opts.capture);
          } catch (e) {
            fail(EXIT.USAGE, (e as Error).message);
          }
        }
        const sources = zeekLogSources(zeekLocalNets(db), captures);
        const files = sources.map((s) => join(dir, `${s.spec.path}.log`));
        const present = files.filter((f) => existsSync(f));
        if (present.length > 0 && !opts.force) {
          fail(EXIT.USAGE, `${present.map((f) => terminalSafe(f, 200)).join(', ')} already there: give --force to replace, or another directory`);
        }
        try {
          mkdirSync(dir, { recursive: true });
        } catch (e) {
          fail(EXIT.ERROR, `cannot make ${terminalSafe(dir, 200)}: ${(e as Error).message}`);
        }
        for (const [i, s] of sources.entries()) {
          const file = files[i]!;
          let n: number;
          try {
            n = await writeLog(file, s.lines(db, format));
          } catch (e) {
            fail(EXIT.ERROR, `cannot write ${terminalSafe(file, 200)}: ${(e as Error).message}`);
          }
          // A log of an earlier export that would now be empty goes, or it would be read as this one's.
          if (n === 0) rmSync(file, { force: true });
          process.stdout.write(n > 0 ? `${terminalSafe(file, 200)}: ${n} ${s.noun[n === 1 ? 0 : 1]}\n` : `${s.spec.path}.log: no ${s.noun[1]}, not written\n`);
        }
      } finally {
        db.close();
      }
    });
}

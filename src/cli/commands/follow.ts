import type { Command } from 'commander';
import { writeSync } from 'node:fs';
import type { Direction } from '../../flow/direction';
import { followFlow, type FollowLayer, type FollowSink } from '../../export/follow-stream';
import { STORED_FLOW_SELECTOR_SQL, type StoredFlowSelector } from '../../export/flow-packets';
import { openStoreReadOnly } from '../../store/store';
import { followRenderer, FOLLOW_FORMATS, type FollowFormat, type FollowRenderer } from '../../report/follow-text';
import { terminalSafe } from '../../report/terminal-text';
import { endpointText } from '../../decode/address';
import { Http2FollowRenderer } from '../../report/follow-http2';
import { Http1FollowRenderer } from '../../report/follow-http1';
import { loadKeyLogFiles } from '../../../dissectors/tls/decrypt/key-log';
import { FLOW_REF_HINT, oneFlowNamed } from '../flow-ref';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { collect } from '../option-parsers';
import { flowCaptureFile } from '../flow-capture';

interface FollowOptions {
  db?: string;
  format: string;
  layer: string;
  side?: string;
  capture?: string;
  keylog?: string[];
  json?: boolean;
}

function fail(code: number, message: string): never {
  process.stderr.write(`planewatch follow: ${message}\n`);
  process.exit(code);
}

/** Writes everything to standard output synchronously: a pipe closed early (`| head`) ends the command quietly. */
function writeStdout(s: string | Uint8Array): void {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  let off = 0;
  while (off < b.length) {
    try {
      off += writeSync(1, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(EXIT.OK);
      throw e;
    }
  }
}

/** Passes one side's bytes and gaps only. */
function oneSide(side: Direction, r: FollowRenderer): FollowSink {
  return {
    data: (c) => (c.dir === side ? r.data(c) : undefined),
    gap: (dir, bytes) => (dir === side ? r.gap(dir, bytes) : undefined),
  };
}

export function registerFollowCommand(program: Command): void {
  program
    .command('follow')
    .description("print what the two sides of a stored connection sent each other, read back from its capture (Wireshark's Follow TCP/TLS/UDP Stream); TLS is shown decrypted when its keys are known")
    .argument('<flow>', 'flow id as `planewatch flows` and `planewatch findings` print it (e.g. c1f8), or its Community ID (as Zeek and Suricata print it)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--format <format>', `ascii (non-printable bytes as dots), hex, raw (one side's bytes exactly, with --side), json, http (HTTP/1 message by message, bodies de-chunked and decoded) or http2 (frame by frame, header blocks and bodies decoded)`, 'ascii')
    .option('--json', 'the same as --format json')
    .option('--layer <layer>', 'auto (decrypted TLS when its keys are known, else the TCP payload), tcp or tls; a UDP flow is shown datagram by datagram', 'auto')
    .option('--side <side>', 'only what this side sent: client or server')
    .option('--keylog <file>', 'TLS key log (SSLKEYLOGFILE format) to decrypt with, besides the capture\'s own Decryption Secrets Blocks (repeatable)', collect)
    .option('--capture <file>', 'read the packets from this file instead of the stored capture path')
    .addHelpText(
      'after',
      '\nEach block starts with a line naming who sent it, the frame and the time;\n' +
        'missing bytes (not captured) are shown as such, never filled in. A TLS\n' +
        'connection whose secrets are unknown is shown as its encrypted records.\n' +
        'The key logs analyze was given are not stored: give them again here.\n\n' +
        'Examples:\n' +
        '  planewatch follow c1f8\n' +
        '  planewatch follow c1f8 --keylog keys.log --format hex\n' +
        '  planewatch follow c1f8 --keylog keys.log --format http2\n' +
        '  planewatch follow c1f8 --side server --format raw > response.bin\n',
    )
    .action(async (ref: string, opts: FollowOptions) => {
      const format = (opts.json ? 'json' : opts.format) as FollowFormat | 'http' | 'http2';
      if (format !== 'http' && format !== 'http2' && !FOLLOW_FORMATS.includes(format)) fail(EXIT.USAGE, `unknown format ${terminalSafe(opts.format)} (${[...FOLLOW_FORMATS, 'http', 'http2'].join(', ')})`);
      const layer = opts.layer as FollowLayer | 'auto';
      if (layer !== 'auto' && layer !== 'tcp' && layer !== 'tls') fail(EXIT.USAGE, `unknown layer ${terminalSafe(opts.layer)} (auto, tcp, tls)`);
      let side: Direction | null = null;
      if (opts.side !== undefined) {
        if (opts.side !== 'client' && opts.side !== 'server') fail(EXIT.USAGE, `--side is client or server, not ${terminalSafe(opts.side)}`);
        side = opts.side === 'client' ? 0 : 1;
      }
      if (format === 'raw' && side === null) fail(EXIT.USAGE, 'raw output is one side\'s bytes: give --side client or --side server');
      if (format === 'raw' && process.stdout.isTTY) fail(EXIT.USAGE, 'not writing raw bytes to a terminal: redirect or pipe them');
      let keyLog;
      try {
        keyLog = loadKeyLogFiles(opts.keylog ?? []);
      } catch (e) {
        fail(EXIT.ERROR, (e as Error).message);
      }

      const dbFile = opts.db ?? defaultDbPath();
      requireDb(dbFile);
      const db = openStoreReadOnly(dbFile);
      let row: (StoredFlowSelector & { path: string; app: string; cname: string | null; sname: string | null }) | undefined;
      try {
        const found = oneFlowNamed(db, ref, terminalSafe);
        if ('problem' in found) fail(EXIT.USAGE, found.problem);
        row = db
          .prepare(
            `SELECT s.*, fl.path, fl.app, ce.name AS cname, se.name AS sname FROM (${STORED_FLOW_SELECTOR_SQL} WHERE f.id = ?) s
               JOIN flows fl ON fl.id = ?
               LEFT JOIN endpoints ce ON ce.ip = s.clientIp LEFT JOIN endpoints se ON se.ip = s.serverIp`,
          )
          .get(found.id, found.id) as typeof row;
      } finally {
        db.close();
      }
      if (row === undefined) fail(EXIT.USAGE, `no flow ${terminalSafe(ref)} in the database (${FLOW_REF_HINT})`);
      const where = flowCaptureFile(row.captureFile, dbFile, opts.capture);
      if (!('file' in where)) fail(EXIT.ERROR, where.problem);

      const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
      const rendering = { colour, side, warn: (s: string) => process.stderr.write(`planewatch follow: ${s}\n`) };
      const renderer = format === 'http2'
        ? new Http2FollowRenderer(writeStdout, colour, followRenderer('ascii', writeStdout, rendering))
        : format === 'http'
          ? new Http1FollowRenderer(writeStdout, colour, followRenderer('ascii', writeStdout, rendering))
          : followRenderer(format, writeStdout, rendering);
      renderer.begin({
        flowKey: row.key,
        client: endpointText(row.clientIp, row.clientPort),
        server: endpointText(row.serverIp, row.serverPort),
        clientName: row.cname,
        serverName: row.sname,
        path: row.path,
        app: row.app,
        captureFile: where.file,
      });
      const result = await followFlow(where.file, row, { layer, keyLog, sink: side === null ? renderer : oneSide(side, renderer) });
      renderer.end(result);
      if (result.error !== null) {
        process.stderr.write(`planewatch follow: ${result.error.message} (what came before it is shown)\n`);
        process.exitCode = EXIT.CAPTURE_DAMAGED;
      } else if (result.packets < row.packets) {
        process.stderr.write(`planewatch follow: ${result.packets} of the flow's ${row.packets} packets found in ${terminalSafe(where.file, 500)}: is it the capture the flow came from?\n`);
      }
      if (layer === 'tls' && result.layer !== 'udp' && result.evidence?.tls?.decrypted !== true) {
        process.stderr.write('planewatch follow: nothing was decrypted (--layer tls): give the key log with --keylog\n');
      }
    });
}

import { readFileSync, rmSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { openStoreReadOnly, type Db } from '../../store/store';
import { FLOW_REF_HINT, flowsNamed } from '../flow-ref';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { collect, findingRule, positiveInt } from '../option-parsers';
import { FdSink, type ByteSink } from '../../export/byte-sink';
import { captureFileWriter, type CaptureFileFormat } from '../../export/frame-writers';
import { STORED_FLOW_SELECTOR_SQL, writeFlowPackets, type StoredFlowSelector } from '../../export/flow-packets';
import { flowPacketsProblem, locateCapture } from '../../export/capture-location';
import { flowCaptureFile } from '../flow-capture';
import { terminalSafe } from '../../report/terminal-text';

interface ExtractOptions {
  db?: string;
  output?: string;
  format?: string;
  capture?: string;
  finding?: string;
  limit?: number;
  keylog?: string[];
}

function fail(code: number, message: string): never {
  process.stderr.write(`planewatch extract: ${message}\n`);
  process.exit(code);
}

/** The flows asked for, by key and by finding; an unknown key is a usage error. */
function selectFlows(db: Db, refs: string[], opts: ExtractOptions): StoredFlowSelector[] {
  const byId = db.prepare(`${STORED_FLOW_SELECTOR_SQL} WHERE f.id = ?`);
  const out: StoredFlowSelector[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    // A Community ID brings every flow of that connection's addresses and ports.
    const named = flowsNamed(db, ref);
    if (named.length === 0) fail(EXIT.USAGE, `no flow ${terminalSafe(ref)} in the database (${FLOW_REF_HINT})`);
    for (const f of named) {
      if (!seen.has(f.key)) out.push(byId.get(f.id) as StoredFlowSelector);
      seen.add(f.key);
    }
  }
  if (opts.finding) {
    const rows = db
      .prepare(
        `${STORED_FLOW_SELECTOR_SQL}
          WHERE f.id IN (SELECT flow_id FROM findings WHERE rule = ? UNION SELECT flow_id FROM accepted_findings WHERE rule = ?)
          ORDER BY f.capture_id, f.first_frame LIMIT ?`,
      )
      .all(opts.finding, opts.finding, opts.limit ?? 100) as StoredFlowSelector[];
    for (const r of rows) if (!seen.has(r.key)) (seen.add(r.key), out.push(r));
  }
  return out;
}

/** The file to read a capture's packets from: --capture, or where the stored path leads. */
function captureFile(storedFile: string, dbFile: string, override: string | undefined): string {
  const found = flowCaptureFile(storedFile, dbFile, override);
  return 'file' in found ? found.file : fail(EXIT.ERROR, found.problem);
}

function outputFormat(opts: ExtractOptions): CaptureFileFormat {
  if (opts.format !== undefined) {
    if (opts.format !== 'pcap' && opts.format !== 'pcapng') fail(EXIT.USAGE, `unknown format ${terminalSafe(opts.format)} (pcap, pcapng)`);
    return opts.format;
  }
  return opts.output !== undefined && extname(opts.output).toLowerCase() === '.pcap' ? 'pcap' : 'pcapng';
}

export function registerExtractCommand(program: Command): void {
  program
    .command('extract')
    .description("write the packets of stored flows to a capture file, read back from the captures they came from (Wireshark's Export Specified Packets for a connection)")
    .argument('[flows...]', 'flow ids as `planewatch flows` and `planewatch findings` print them (e.g. c1f8), or Community IDs (each every flow of that connection)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('-o, --output <file>', 'capture file to write (default: standard output when it is not a terminal)')
    .option('--format <format>', 'pcap or pcapng (default: pcap for a .pcap output name, else pcapng)')
    .option('--finding <rule>', 'also every flow that raised this finding (accepted as a risk or not: the packets are its evidence either way)', findingRule)
    .option('--limit <n>', 'at most this many flows from --finding (default 100)', positiveInt)
    .option('--capture <file>', 'read the packets from this file instead of the stored capture path (one capture)')
    .option('--keylog <file>', 'embed this TLS key log in the output (pcapng Decryption Secrets Block; repeatable)', collect)
    .addHelpText(
      'after',
      "\nA flow's packets are the frames from its first to its last whose innermost\n" +
        'addresses, ports and protocol are its own (tunnel and VLAN headers kept as\n' +
        'captured), with the IP fragments of its packets. The other view of a\n' +
        'connection across a NAT is a flow of its own: give both ids to have both.\n\n' +
        'Examples:\n' +
        '  planewatch extract c1f8 -o kubelet.pcap\n' +
        '  planewatch extract --finding kubelet-tls-unverified -o evidence.pcapng \\\n' +
        '      --keylog keys.log\n' +
        '  planewatch extract c1f8 | wireshark -k -i -\n' +
        "  planewatch extract '1:LQU9qZlK+B5F3KDmev6m5PMibrg=' -o alert.pcapng   # from a Suricata alert\n",
    )
    .action(async (refs: string[], opts: ExtractOptions) => {
      const dbFile = opts.db ?? defaultDbPath();
      requireDb(dbFile);
      if (refs.length === 0 && !opts.finding) fail(EXIT.USAGE, 'name the flows to extract (ids from `planewatch flows`) or give --finding RULE');
      const format = outputFormat(opts);
      if (opts.output === undefined && process.stdout.isTTY) fail(EXIT.USAGE, 'not writing a capture to a terminal: give -o FILE or pipe it');
      if (format === 'pcap' && opts.keylog?.length) fail(EXIT.USAGE, 'key logs are embedded in pcapng only (--format pcapng)');
      const keyLogs = (opts.keylog ?? []).map((f) => {
        try {
          return readFileSync(f, 'latin1');
        } catch (e) {
          return fail(EXIT.ERROR, `cannot read key log ${f}: ${(e as Error).message}`);
        }
      });

      const db = openStoreReadOnly(dbFile);
      let flows: StoredFlowSelector[];
      try {
        flows = selectFlows(db, refs, opts);
      } finally {
        db.close();
      }
      if (flows.length === 0) fail(EXIT.OK, `no flow raised ${opts.finding}: nothing written`);
      const captures = [...new Set(flows.map((f) => f.captureId))];
      if (opts.capture !== undefined && captures.length > 1) fail(EXIT.USAGE, '--capture stands for one capture, but the flows come from several');
      const sources = captures.map((id) => {
        const first = flows.find((f) => f.captureId === id)!;
        return { id, file: captureFile(first.captureFile, dbFile, opts.capture), flows: flows.filter((f) => f.captureId === id) };
      });

      const sink: ByteSink = opts.output !== undefined ? FdSink.open(opts.output) : new FdSink(1);
      const writer = captureFileWriter(format, sink, keyLogs);
      let damaged = false;
      try {
        for (const [i, src] of sources.entries()) {
          const { perFlow, error, secretsLeftOut } = await writeFlowPackets(src.file, i, src.flows, writer);
          if (secretsLeftOut) {
            process.stderr.write(`planewatch extract: ${terminalSafe(src.file, 300)} holds the TLS secrets of these connections; pcap cannot carry them: write pcapng to keep them\n`);
          }
          if (error !== null) {
            damaged = true;
            process.stderr.write(`planewatch extract: ${error.message} (the frames before it are written)\n`);
          }
          const where = opts.capture === undefined ? locateCapture(src.file, dbFile) : null;
          src.flows.forEach((f, j) => {
            // A ring of files that deleted the flow's first packets says so; else fewer than stored
            // means not the capture the flow came from, or one cut short since.
            const gone = where === null ? null : flowPacketsProblem(where, f.firstFrame);
            if (gone !== null) {
              process.stderr.write(`planewatch extract: ${f.key}: ${perFlow[j]} of its ${f.packets} packets written: ${gone}\n`);
            } else if (perFlow[j]! < f.packets) {
              process.stderr.write(`planewatch extract: ${f.key}: ${perFlow[j]} of its ${f.packets} packets found in ${src.file}: is it the capture the flow came from?\n`);
            }
          });
        }
      } catch (e) {
        sink.close();
        // No half-written capture is left behind.
        if (opts.output !== undefined) rmSync(opts.output, { force: true });
        fail(EXIT.ERROR, (e as Error).message);
      }
      writer.close();
      if (opts.output !== undefined) {
        process.stderr.write(`${writer.packets} packets of ${flows.length} flow${flows.length === 1 ? '' : 's'} written to ${opts.output} (${format})\n`);
      }
      if (damaged) process.exitCode = EXIT.CAPTURE_DAMAGED;
    });
}

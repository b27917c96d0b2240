import type { Command } from 'commander';
import type { CaptureAnalysis } from '../../pipeline/analyze-file';
import { linkTypeName } from '../link-type-names';
import { openStore, type Db } from '../../store/store';
import { deferIndexes, restoreDeferredIndexes } from '../../store/deferred-indexes';
import { relaxDurability, restoreDurability } from '../../store/bulk-durability';
import { ingestCaptures } from '../../analysis/ingest-captures';
import { classifyDatabase } from '../../analysis/classify-database';
import { InlineClassifier } from '../../analysis/inline-classifier';
import { loadAnalysisInputs, resolveInputs } from '../../analysis/context';
import { acceptedFindingObjects, flowObjects, findingObjects } from '../../report/flow-json';
import { expiredLines } from '../../analysis/acceptances';
import { textReport } from '../../report/text-report';
import { Progress } from '../progress';
import { collect, DECODE_AS_HELP, decodeAsRule, positiveInt, positiveNumber, severity, threadCount } from '../option-parsers';
import { describeStoredDecodeAs, formatDecodeAs, type DecodeAsRule } from '../../decode/decode-as';
import { write, writeJsonObject } from '../output';
import { EXIT } from '../db-path';
import { severityRank, type Severity } from '../../model/analysis';
import { loadKeyLogFiles, type KeyLog } from '../../../dissectors/tls/decrypt/key-log';

/** Exit codes of the CLI (see src/cli/db-path.ts for the full list). */
export const ExitCode = { OK: EXIT.OK, FINDINGS: EXIT.FINDINGS, USAGE: EXIT.USAGE, DAMAGED: EXIT.CAPTURE_DAMAGED, ERROR: EXIT.ERROR } as const;

export interface AnalyzeCommandOptions {
  json?: boolean;
  ndjson?: boolean;
  db?: string;
  inventory?: string[];
  ca?: string[];
  /** Accept files; false: `--no-accept` (drop those stored). */
  accept?: string[] | false;
  failOn?: Severity;
  quiet?: boolean;
  idleTimeout?: number;
  maxFlows?: number;
  keepDuplicates?: boolean;
  decodeAs?: DecodeAsRule[];
  keylog?: string[];
  threads?: number;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** One capture's summary, as printed by `--json`. */
export interface CaptureSummary {
  file: string;
  format: string | null;
  compressed: boolean;
  packets: number;
  bytes: number;
  linkTypes: { linkType: number; name: string; packets: number }[];
  flows: number;
  tcpConnections: number;
  udpFlows: number;
  anomalies: Record<string, number>;
  error: { message: string; code: string; offset: number } | null;
  /** The `--decode-as` rules it was decoded with (empty: the standard tunnel ports). */
  decodeAs: string[];
}


/** Adds `analyze <files...>` to the program. */
export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description(
      'analyse captures (pcap, pcapng, gzip; "-" reads standard input): classify every connection into the ' +
        'control-plane paths, raise findings, print a summary (and store it all with --db)',
    )
    .argument('<files...>', 'capture files, or - for standard input')
    .option('--db <file>', 'store results in this SQLite database (several captures may share one)')
    .option('--inventory <file>', 'kubectl get nodes,pods,services -A -o json output, or a planewatch cluster file (repeatable)', collect)
    .option('--ca <file>', 'PEM CA bundle to verify certificates against: cluster CA, etcd CA (repeatable)', collect)
    .option('--keylog <file>', 'TLS key log (SSLKEYLOGFILE format) to decrypt TLS connections with (repeatable)', collect)
    .option('--accept <file>', 'findings accepted as risks (YAML: rule, scope, reason, until; see the README): kept apart, not counted by --fail-on (repeatable)', collect)
    .option('--no-accept', 'drop the accept files stored in the database: every finding counts again')
    .option('--json', 'print captures, flows and findings as one JSON document')
    .option('--ndjson', 'print captures, flows and findings as one JSON object per line')
    .option('--fail-on <severity>', 'exit 1 when a finding of this severity or worse is raised', severity)
    .option('--quiet', 'print nothing but errors (and --json/--ndjson output)')
    .option('--idle-timeout <seconds>', 'end flows idle this long (capture time)', positiveNumber)
    .option('--max-flows <n>', 'flows kept in memory at most', positiveInt)
    .option('--keep-duplicates', 'analyse copies of a packet seen on several interfaces (tcpdump -i any) as packets of their own')
    .option('-d, --decode-as <rule>', DECODE_AS_HELP, decodeAsRule)
    .option(
      '--threads <n>',
      'threads in all. 1: one; 2: decode, reassemble and dissect a capture on a thread of its own while this one classifies and stores; ' +
        'n > 2: n - 1 threads share out its connections (default for files of 32 MB or more: one thread per core, at most 3, a container\'s CPU limit counted; standard input always 1)',
      threadCount,
    )
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 --fail-on threshold reached, 2 usage error, 3 a capture was damaged (everything\nreadable was analysed), 4 other error (database, inventory, CA or accept file).`,
    )
    .action(async (files: string[], opts: AnalyzeCommandOptions) => {
      process.exitCode = await runAnalyze(files, opts, { stdout: process.stdout, stderr: process.stderr });
    });
}

/** Analyses every capture in turn (a damaged one does not stop the rest) and returns the exit code. */
export async function runAnalyze(files: string[], opts: AnalyzeCommandOptions, io: CliIo): Promise<number> {
  if (files.filter((f) => f === '-').length > 1) {
    io.stderr.write('planewatch: standard input (-) can be analysed only once\n');
    return ExitCode.USAGE;
  }
  if (opts.json && opts.ndjson) {
    io.stderr.write('planewatch: choose one of --json and --ndjson\n');
    return ExitCode.USAGE;
  }
  let inputs;
  let keyLog: KeyLog;
  try {
    inputs = loadAnalysisInputs(opts.inventory ?? [], opts.ca ?? [], opts.accept || []);
    keyLog = loadKeyLogFiles(opts.keylog ?? []);
  } catch (e) {
    io.stderr.write(`planewatch: ${sanitize((e as Error).message)}\n`);
    return ExitCode.ERROR;
  }
  let db: Db;
  try {
    // Without --db an in-memory database holds the run: nothing is left behind.
    db = openStore(opts.db ?? ':memory:');
  } catch (e) {
    io.stderr.write(`planewatch: cannot open database ${opts.db}: ${sanitize((e as Error).message)}\n`);
    return ExitCode.ERROR;
  }
  const machine = opts.json || opts.ndjson;
  const progress = new Progress(Boolean(opts.quiet || machine));
  let resolved;
  try {
    resolved = resolveInputs(db, inputs, opts.accept === false ? ['accept'] : []);
  } catch (e) {
    // Stored inputs that no longer read (an accept file written by a newer planewatch).
    io.stderr.write(`planewatch: ${sanitize((e as Error).message)}\n`);
    db.close();
    return ExitCode.ERROR;
  }
  if (!opts.quiet) for (const line of expiredLines(resolved.accept)) io.stderr.write(`${sanitize(line)}\n`);
  // Into an empty database, flows are classified as they are stored, and only those whose verdict the
  // rest of the capture changed are classified again at the end. Flows already stored, a capture
  // found to be a duplicate (its flows are removed again) or one read twice (secrets after its
  // connections) send classification back to a pass over the whole database.
  const empty = db.prepare(`SELECT NOT EXISTS (SELECT 1 FROM flows)`).pluck().get() === 1;
  const inline = empty ? new InlineClassifier(resolved) : undefined;
  // An empty database is a bulk load: its indexes are built once at the end rather than row by row,
  // and its files are flushed to the disk once at the end rather than at every checkpoint.
  if (empty) deferIndexes(db);
  const relaxed = empty && relaxDurability(db);
  let ingested;
  try {
    try {
      ingested = await ingestCaptures(db, files, {
        idleTimeout: opts.idleTimeout,
        maxFlows: opts.maxFlows,
        keepDuplicates: opts.keepDuplicates,
        decodeAs: opts.decodeAs,
        threads: opts.threads,
        keyLog,
        onProgress: (file, bytes, packets) => progress.update(file, bytes, packets),
        classify: inline ? (rec) => inline.verdict(rec) : undefined,
        onNote: opts.quiet ? undefined : (line) => io.stderr.write(`planewatch: ${sanitize(line)}\n`),
      });
    } finally {
      progress.done();
    }
    const storedAgain = ingested.some((c) => c.duplicateOf !== null || c.readTwice);
    if (inline && !storedAgain) inline.finish(db, ingested.map((c) => c.captureId));
    else classifyDatabase(db, resolved, undefined, { indexesAsideWhenWorthIt: true });
  } finally {
    restoreDeferredIndexes(db);
    if (relaxed) restoreDurability(db);
  }

  let damaged = false;
  const summaries: (CaptureSummary & { captureId: number; duplicateOf: number | null; sha256: string })[] = [];
  for (const c of ingested) {
    const summary = summarize(c, opts.decodeAs);
    summaries.push({ ...summary, captureId: c.captureId, duplicateOf: c.duplicateOf, sha256: c.info.sha256 });
    if (summary.error !== null) {
      damaged = true;
      io.stderr.write(`planewatch: ${sanitize(summary.error.message)}\n`);
    }
    if (c.duplicateOf !== null && !opts.quiet) {
      io.stderr.write(`planewatch: ${sanitize(c.file)} is already in the database as capture ${c.duplicateOf}; not stored again\n`);
    }
    if (c.otherDecodings.length > 0 && !opts.quiet) {
      const others = c.otherDecodings.map((o) => `capture ${o.id} ${describeStoredDecodeAs(o.decodeAs)}`);
      io.stderr.write(`planewatch: ${sanitize(c.file)} is also in the database decoded otherwise: ${sanitize(others.join('; '))}\n`);
    }
  }
  const captureIds = [...new Set(ingested.map((c) => c.captureId))];
  if (opts.json) {
    await writeJsonObject(
      [
        ['captures', summaries],
        ['flows', flowObjects(db, captureIds)],
        ['findings', findingObjects(db, captureIds)],
        ['acceptedFindings', acceptedFindingObjects(db, captureIds)],
      ],
      io.stdout,
    );
  } else if (opts.ndjson) {
    for (const c of summaries) await write(JSON.stringify({ type: 'capture', ...c }) + '\n', io.stdout);
    for (const f of flowObjects(db, captureIds)) await write(JSON.stringify({ type: 'flow', ...f }) + '\n', io.stdout);
    for (const f of findingObjects(db, captureIds)) await write(JSON.stringify({ type: 'finding', ...f }) + '\n', io.stdout);
    for (const f of acceptedFindingObjects(db, captureIds)) await write(JSON.stringify({ type: 'accepted-finding', ...f }) + '\n', io.stdout);
  } else if (!opts.quiet) {
    for (const s of summaries) io.stdout.write(formatText(s));
    io.stdout.write(textReport(db, captureIds, opts.db) + '\n');
    if (opts.db) io.stdout.write(`\nstored in ${sanitize(opts.db)} — next: planewatch findings --db ${sanitize(opts.db)}, planewatch serve --db ${sanitize(opts.db)}\n`);
  }
  let code: number = damaged ? ExitCode.DAMAGED : ExitCode.OK;
  if (opts.failOn && code === ExitCode.OK && captureIds.length > 0) {
    const worst = db
      .prepare(`SELECT MAX(severity_rank) FROM findings WHERE capture_id IN (${captureIds.map(() => '?').join(',')})`)
      .pluck()
      .get(...captureIds) as number | null;
    if ((worst ?? 0) >= severityRank(opts.failOn)) code = ExitCode.FINDINGS;
  }
  db.close();
  return code;
}

export function summarize({ info, stats }: CaptureAnalysis, decodeAs: readonly DecodeAsRule[] = []): CaptureSummary {
  const linkTypes = [...stats.linkTypes.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([linkType, packets]) => ({ linkType, name: linkTypeName(linkType), packets }));
  return {
    file: info.file,
    format: info.format,
    compressed: info.compressed,
    packets: stats.packets,
    bytes: stats.bytes,
    linkTypes,
    flows: stats.flows,
    tcpConnections: stats.tcpConnections,
    udpFlows: stats.udpFlows,
    anomalies: stats.anomalies.toJSON(),
    error: info.error === null ? null : { message: info.error.message, code: info.error.code, offset: info.error.offset },
    decodeAs: decodeAs.map(formatDecodeAs),
  };
}

/** Control characters out, so a crafted file name cannot drive the terminal. */
function sanitize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function formatText(s: CaptureSummary): string {
  const lines: string[] = [];
  const format = s.format === null ? 'unknown format' : s.compressed ? `${s.format}, gzip` : s.format;
  lines.push(`${sanitize(s.file)} (${format})`);
  lines.push(`  packets          ${s.packets}`);
  lines.push(`  bytes            ${s.bytes}`);
  const lt = s.linkTypes.map((l) => `${l.name} (${l.linkType}): ${l.packets}`).join(', ');
  lines.push(`  link types       ${lt === '' ? '-' : lt}`);
  lines.push(`  flows            ${s.flows}`);
  lines.push(`  TCP connections  ${s.tcpConnections}`);
  lines.push(`  UDP flows        ${s.udpFlows}`);
  const codes = Object.keys(s.anomalies);
  if (codes.length === 0) lines.push('  anomalies        none');
  else {
    lines.push('  anomalies');
    const width = Math.max(...codes.map((c) => c.length));
    for (const c of codes) lines.push(`    ${c.padEnd(width)}  ${s.anomalies[c]}`);
  }
  if (s.decodeAs.length > 0) lines.push(`  decoded as       ${s.decodeAs.join(' ')}`);
  if (s.error !== null) lines.push(`  error            ${sanitize(s.error.message)}`);
  return lines.join('\n') + '\n\n';
}

import { openStore, type Db } from '../store/store';
import { ingestCaptures, type IngestedCapture } from './ingest-captures';
import { classifyDatabase } from './classify-database';
import { loadAnalysisInputs, resolveInputs } from './context';
import { flowObjects, findingObjects } from '../report/flow-json';
import { textReport } from '../report/text-report';
import { Progress } from '../cli/progress';
import { EXIT } from '../cli/db-path';
import { SEVERITIES, severityRank, type Severity } from '../model/analysis';
import { LINK_TYPE_NAMES } from './link-type-names';

export interface AnalyzeOptions {
  db: string | null;
  inventory: string[];
  ca: string[];
  output: 'text' | 'json' | 'ndjson';
  failOn: Severity | null;
  quiet: boolean;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

/** `planewatch analyze`: ingest, classify, report. Returns the exit code. */
export async function runAnalyze(files: string[], opts: AnalyzeOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  let inputs;
  try {
    inputs = loadAnalysisInputs(opts.inventory, opts.ca);
  } catch (e) {
    err.write(`planewatch: ${(e as Error).message}\n`);
    return EXIT.ERROR;
  }
  let db: Db;
  try {
    // Without --db, machine output needs no file: an in-memory database holds the run.
    db = openStore(opts.db ?? ':memory:');
  } catch (e) {
    err.write(`planewatch: cannot open database ${opts.db}: ${(e as Error).message}\n`);
    return EXIT.ERROR;
  }
  const progress = new Progress(opts.quiet || opts.output !== 'text');
  let ingested: IngestedCapture[];
  try {
    ingested = await ingestCaptures(db, files, {
      onProgress: (file, bytes, packets) => {
        progress.begin(file);
        progress.update(bytes, packets);
      },
    });
  } finally {
    progress.done();
  }
  classifyDatabase(db, resolveInputs(db, inputs));

  let code: number = EXIT.OK;
  for (const c of ingested) {
    if (c.info.error) {
      err.write(`planewatch: ${c.info.error.message}${c.info.packets > 0 ? ` (${c.info.packets} frames before it were analysed)` : ''}\n`);
      code = EXIT.CAPTURE_DAMAGED;
    }
    if (c.duplicateOf !== null && !opts.quiet) err.write(`planewatch: ${c.file} is already in the database (capture ${c.duplicateOf}); not stored again\n`);
  }
  const captureIds = [...new Set(ingested.filter((c) => c.info.packets > 0 || c.duplicateOf !== null).map((c) => c.captureId))];
  const captures = ingested.map((c) => ({
    file: c.file,
    captureId: c.captureId,
    duplicateOf: c.duplicateOf,
    format: c.info.format,
    compressed: c.info.compressed,
    sha256: c.info.sha256,
    packets: c.info.packets,
    bytes: c.info.bytes,
    linkTypes: c.info.linkTypes.map((l) => LINK_TYPE_NAMES[l] ?? `linktype-${l}`),
    flows: c.flows,
    tcpConnections: c.tcpConnections,
    udpFlows: c.udpFlows,
    firstTs: Number.isFinite(c.info.firstTs) ? c.info.firstTs : null,
    lastTs: Number.isFinite(c.info.lastTs) ? c.info.lastTs : null,
    anomalies: storedAnomalies(db, c),
    keyLogBytes: c.info.keyLog.length,
    error: c.info.error ? { message: c.info.error.message, offset: c.info.error.offset, code: c.info.error.code } : null,
  }));

  if (opts.output === 'json') {
    const doc = { captures, flows: [...flowObjects(db, captureIds)], findings: findingObjects(db, captureIds) };
    out.write(JSON.stringify(doc, null, 2) + '\n');
  } else if (opts.output === 'ndjson') {
    for (const c of captures) out.write(JSON.stringify({ type: 'capture', ...c }) + '\n');
    for (const f of flowObjects(db, captureIds)) out.write(JSON.stringify({ type: 'flow', ...f }) + '\n');
    for (const f of findingObjects(db, captureIds)) out.write(JSON.stringify({ type: 'finding', ...f }) + '\n');
  } else if (!opts.quiet) {
    for (const c of captures) {
      const anomalies = Object.entries(c.anomalies as Record<string, number>);
      out.write(
        `${c.file}: ${c.format ?? '?'}${c.compressed ? ' (gzip)' : ''}, ${c.packets} packets, ${c.bytes} bytes, link ${c.linkTypes.join('+') || '-'}, ` +
          `${c.flows} flows (${c.tcpConnections} TCP, ${c.udpFlows} UDP)${anomalies.length ? `, anomalies: ${anomalies.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}\n`,
      );
    }
    out.write('\n' + textReport(db, captureIds) + '\n');
    if (opts.db) out.write(`\nstored in ${opts.db}: planewatch findings --db ${opts.db} · planewatch serve --db ${opts.db}\n`);
  }

  if (opts.failOn && captureIds.length > 0) {
    const worst = db
      .prepare(`SELECT MAX(severity_rank) FROM findings WHERE capture_id IN (${captureIds.join(',')})`)
      .pluck()
      .get() as number | null;
    if ((worst ?? 0) >= severityRank(opts.failOn) && code === EXIT.OK) code = EXIT.FINDINGS;
  }
  db.close();
  return code;
}

function storedAnomalies(db: Db, c: IngestedCapture): Record<string, number> {
  const stored = db.prepare('SELECT anomalies FROM captures WHERE id = ?').pluck().get(c.captureId) as string | undefined;
  return stored ? (JSON.parse(stored) as Record<string, number>) : c.info.anomalies.toJSON();
}

export function parseSeverity(s: string | undefined): Severity | null {
  if (s === undefined) return null;
  if (!SEVERITIES.includes(s as Severity)) throw new Error(`unknown severity ${s} (${SEVERITIES.join(', ')})`);
  return s as Severity;
}

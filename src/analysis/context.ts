import { readFileSync } from 'node:fs';
import { emptyInventory, mergeInventory, type Inventory } from './inventory';
import { loadCaBundle, type CaBundle } from '../../dissectors/x509/verify-chain';
import type { Db } from '../store/store';
import { noAcceptances, parseAcceptFiles, type AcceptList } from './acceptances';

export type AnalysisInputKind = 'inventory' | 'ca' | 'accept';

/** What the user supplied: inventory files, PEM CA bundles and the findings accepted as risks. */
export interface AnalysisInputs {
  inventory: Inventory;
  ca: CaBundle | null;
  /** Accepted findings (acceptances.ts), `until` judged when the inputs were read. */
  accept: AcceptList;
  /** The raw files, kept in the database so later runs without options reuse them. */
  files: { kind: AnalysisInputKind; source: string; content: string }[];
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read ${what}: ${(e as Error).message}`);
  }
}

export function loadAnalysisInputs(inventoryFiles: string[], caFiles: string[], acceptFiles: string[] = []): AnalysisInputs {
  const files = [
    ...inventoryFiles.map((f) => ({ kind: 'inventory' as const, source: f, content: read(f, 'inventory') })),
    ...caFiles.map((f) => ({ kind: 'ca' as const, source: f, content: read(f, 'CA bundle') })),
    ...acceptFiles.map((f) => ({ kind: 'accept' as const, source: f, content: read(f, 'accepted findings') })),
  ];
  return buildInputs(files);
}

function buildInputs(files: AnalysisInputs['files']): AnalysisInputs {
  const inventory = emptyInventory();
  let pem = '';
  const caSources: string[] = [];
  const acceptFiles: AnalysisInputs['files'] = [];
  for (const f of files) {
    if (f.kind === 'accept') {
      acceptFiles.push(f);
    } else if (f.kind === 'inventory') {
      let doc: unknown;
      try {
        doc = JSON.parse(f.content);
      } catch (e) {
        throw new Error(`${f.source}: inventory is not JSON: ${(e as Error).message}`);
      }
      mergeInventory(inventory, doc, f.source);
    } else {
      pem += f.content + '\n';
      caSources.push(f.source);
    }
  }
  let ca: CaBundle | null = null;
  if (caSources.length > 0) {
    ca = loadCaBundle(pem);
    if (ca.cas.length === 0) throw new Error(`${caSources.join(', ')}: no certificate found in the CA bundle`);
  }
  const accept = acceptFiles.length > 0 ? parseAcceptFiles(acceptFiles, Date.now()) : noAcceptances();
  return { inventory, ca, accept, files };
}

/**
 * Inputs for a classification pass: those given now replace the stored ones (per kind); a kind not
 * given now comes from the database, so `analyze` of a second capture keeps the first run's inventory.
 * `cleared` kinds are dropped from the database (`--no-accept`).
 */
export function resolveInputs(db: Db, given: AnalysisInputs, cleared: readonly AnalysisInputKind[] = []): AnalysisInputs {
  const stored = db.prepare(`SELECT kind, source, content FROM analysis_inputs ORDER BY rowid`).all() as AnalysisInputs['files'];
  const givenKinds = new Set([...given.files.map((f) => f.kind), ...cleared]);
  const files = [...stored.filter((f) => !givenKinds.has(f.kind)), ...given.files];
  if (givenKinds.size > 0 && !db.readonly) {
    db.transaction(() => {
      const del = db.prepare(`DELETE FROM analysis_inputs WHERE kind = ?`);
      for (const k of givenKinds) del.run(k);
      const ins = db.prepare(`INSERT INTO analysis_inputs (kind, source, content) VALUES (?,?,?)`);
      for (const f of given.files) ins.run(f.kind, f.source, f.content);
    })();
  }
  return stored.length === 0 ? given : buildInputs(files);
}

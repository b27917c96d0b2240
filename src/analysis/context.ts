import { readFileSync } from 'node:fs';
import { emptyInventory, mergeInventory, type Inventory } from './inventory';
import { loadCaBundle, type CaBundle } from '../../dissectors/x509/verify-chain';
import type { Db } from '../store/store';

/** What the user supplied about the cluster: inventory files and PEM CA bundles. */
export interface AnalysisInputs {
  inventory: Inventory;
  ca: CaBundle | null;
  /** The raw files, kept in the database so later runs without options reuse them. */
  files: { kind: 'inventory' | 'ca'; source: string; content: string }[];
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read ${what}: ${(e as Error).message}`);
  }
}

export function loadAnalysisInputs(inventoryFiles: string[], caFiles: string[]): AnalysisInputs {
  const files = [
    ...inventoryFiles.map((f) => ({ kind: 'inventory' as const, source: f, content: read(f, 'inventory') })),
    ...caFiles.map((f) => ({ kind: 'ca' as const, source: f, content: read(f, 'CA bundle') })),
  ];
  return buildInputs(files);
}

function buildInputs(files: AnalysisInputs['files']): AnalysisInputs {
  const inventory = emptyInventory();
  let pem = '';
  const caSources: string[] = [];
  for (const f of files) {
    if (f.kind === 'inventory') {
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
  return { inventory, ca, files };
}

/**
 * Inputs for a classification pass: those given now replace the stored ones (per kind); a kind not
 * given now comes from the database, so `analyze` of a second capture keeps the first run's inventory.
 */
export function resolveInputs(db: Db, given: AnalysisInputs): AnalysisInputs {
  const stored = db.prepare(`SELECT kind, source, content FROM analysis_inputs ORDER BY rowid`).all() as AnalysisInputs['files'];
  const givenKinds = new Set(given.files.map((f) => f.kind));
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

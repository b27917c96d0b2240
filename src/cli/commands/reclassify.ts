import type { Command } from 'commander';
import { openStore } from '../../store/store';
import { classifyDatabase } from '../../analysis/classify-database';
import { loadAnalysisInputs, resolveInputs } from '../../analysis/context';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { collect } from '../option-parsers';

export function registerReclassifyCommand(program: Command): void {
  program
    .command('reclassify')
    .description('re-run topology, classification and findings on a stored database (e.g. with a new inventory or CA bundle)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--inventory <file>', 'kubectl get nodes,pods,services -A -o json output, or a planewatch cluster file (repeatable)', collect, [])
    .option('--ca <file>', 'PEM CA bundle (cluster CA, etcd CA; repeatable)', collect, [])
    .action((opts: { db?: string; inventory: string[]; ca: string[] }) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      let inputs;
      try {
        inputs = loadAnalysisInputs(opts.inventory, opts.ca);
      } catch (e) {
        process.stderr.write(`planewatch: ${(e as Error).message}\n`);
        process.exit(EXIT.ERROR);
      }
      const db = openStore(file);
      const s = classifyDatabase(db, resolveInputs(db, inputs), undefined, { indexesAsideWhenWorthIt: true });
      db.close();
      process.stdout.write(`reclassified ${s.flows} flows (${s.changed} changed): ${s.findings} findings, ${s.endpoints} endpoints\n`);
    });
}

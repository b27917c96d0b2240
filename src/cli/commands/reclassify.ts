import type { Command } from 'commander';
import { openStore } from '../../store/store';
import { classifyDatabase } from '../../analysis/classify-database';
import { loadAnalysisInputs, resolveInputs } from '../../analysis/context';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { collect } from '../option-parsers';
import { expiredLines } from '../../analysis/acceptances';

export function registerReclassifyCommand(program: Command): void {
  program
    .command('reclassify')
    .description('re-run topology, classification and findings on a stored database (e.g. with a new inventory or CA bundle)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--inventory <file>', 'kubectl get nodes,pods,services -A -o json output, or a planewatch cluster file (repeatable)', collect, [])
    .option('--ca <file>', 'PEM CA bundle (cluster CA, etcd CA; repeatable)', collect, [])
    .option('--accept <file>', 'findings accepted as risks (YAML; see the README), replacing those stored (repeatable)', collect)
    .option('--no-accept', 'drop the accept files stored in the database: every finding counts again')
    .action((opts: { db?: string; inventory: string[]; ca: string[]; accept?: string[] | false }) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      let inputs;
      try {
        inputs = loadAnalysisInputs(opts.inventory, opts.ca, opts.accept || []);
      } catch (e) {
        process.stderr.write(`planewatch: ${(e as Error).message}\n`);
        process.exit(EXIT.ERROR);
      }
      const db = openStore(file);
      let resolved;
      try {
        resolved = resolveInputs(db, inputs, opts.accept === false ? ['accept'] : []);
      } catch (e) {
        db.close();
        process.stderr.write(`planewatch: ${(e as Error).message}\n`);
        process.exit(EXIT.ERROR);
      }
      for (const line of expiredLines(resolved.accept)) process.stderr.write(`${line}\n`);
      const s = classifyDatabase(db, resolved, undefined, { indexesAsideWhenWorthIt: true });
      db.close();
      const accepted = s.accepted > 0 ? ` (and ${s.accepted} accepted as risks)` : '';
      process.stdout.write(`reclassified ${s.flows} flows (${s.changed} changed): ${s.findings} findings${accepted}, ${s.endpoints} endpoints\n`);
    });
}

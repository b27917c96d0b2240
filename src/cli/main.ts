import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { ExitCode, registerAnalyze } from './commands/analyze';
import { registerExtractCommand } from './commands/extract';
import { registerExportCommand } from './commands/export';
import { registerFollowCommand } from './commands/follow';
import { registerShowCommand } from './commands/show';
import { registerFindingsCommand } from './commands/findings';
import { registerCredentialsCommand } from './commands/credentials';
import { registerEndpointsCommand } from './commands/endpoints';
import { registerCertificatesCommand } from './commands/certificates';
import { registerRequestsCommand } from './commands/requests';
import { registerFlowsCommand } from './commands/flows';
import { registerQueryCommand } from './commands/query';
import { registerReclassifyCommand } from './commands/reclassify';
import { registerServeCommand } from './commands/serve';
import { registerDemoCommand } from './commands/demo';
import { registerLiveCommand } from './commands/live';
import { registerTuiCommand } from './commands/tui';

/** The command tree; each command registers itself from src/cli/commands/. */
export function buildProgram(): Command {
  const program = new Command('planewatch')
    .description(
      'Kubernetes control-plane traffic analyzer: classifies connections into the paths of "Communication between ' +
        'Nodes and the Control Plane" and flags the unsafe ones',
    )
    .version('0.1.0')
    .showHelpAfterError()
    // Throw instead of exiting so usage errors get their own exit code (2).
    .exitOverride();
  registerAnalyze(program);
  registerFindingsCommand(program);
  registerFlowsCommand(program);
  registerRequestsCommand(program);
  registerCredentialsCommand(program);
  registerEndpointsCommand(program);
  registerCertificatesCommand(program);
  registerExtractCommand(program);
  registerExportCommand(program);
  registerShowCommand(program);
  registerFollowCommand(program);
  registerQueryCommand(program);
  registerReclassifyCommand(program);
  registerServeCommand(program);
  registerTuiCommand(program);
  registerLiveCommand(program);
  registerDemoCommand(program);
  return program;
}

/**
 * A reader that goes away (`planewatch findings | head`) ends the output, as it does for any Unix
 * tool: quietly, without a stack trace. Whatever was being stored is in committed transactions.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(ExitCode.OK);
      throw e;
    });
  }
}

/**
 * What a long analysis keeps alive is small and flat (tens of MiB: the flow table, the topology);
 * what it allocates is mostly short-lived. V8 otherwise lets the heap grow up to four times the live
 * data between full collections, and further the longer the run: peak RSS then grew with the size of
 * the capture (278 MiB for 1 GB, 345 MiB for 4 GB). Doubling at most keeps it flat at the same speed.
 */
function boundHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=100');
}

async function main(argv: string[]): Promise<void> {
  boundHeapGrowth();
  quietOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version';
      process.exitCode = ok ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    process.stderr.write(`planewatch: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = ExitCode.ERROR;
  }
}

await main(process.argv);

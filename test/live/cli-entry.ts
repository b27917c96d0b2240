/**
 * Runs the live and tui commands on their own, for the tests to spawn while the main program does not
 * (yet) register them; when it does, the tests use bin/planewatch.js itself.
 */
import { Command } from 'commander';
import { registerLiveCommand } from '../../src/cli/commands/live';
import { registerTuiCommand } from '../../src/cli/commands/tui';

const program = new Command('planewatch');
registerLiveCommand(program);
registerTuiCommand(program);
await program.parseAsync(process.argv);

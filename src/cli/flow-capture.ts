import { existsSync } from 'node:fs';
import { locateCapture } from '../export/capture-location';
import { ringStart } from '../export/ring-files';
import { STDIN_CAPTURE } from '../model/records';
import { terminalSafe } from '../report/terminal-text';

/**
 * The file to read a stored capture's packets from (`extract`, `follow`): `override` (--capture),
 * or where the stored path leads (beside the database when moved along with it). A string is the
 * reason it cannot be read, as a user should be told.
 */
export function flowCaptureFile(storedFile: string, dbFile: string, override: string | undefined): { file: string } | { problem: string } {
  if (override !== undefined) {
    // A ring of files (`live --write FILE --ring N`) is named by FILE, which is no file itself.
    if (!existsSync(override) && ringStart(override) === null) return { problem: `no capture at ${terminalSafe(override, 500)}` };
    return { file: override };
  }
  const where = locateCapture(storedFile, dbFile);
  if ('file' in where) return { file: where.file };
  const hint = storedFile === STDIN_CAPTURE ? 'give the file it came from with --capture FILE' : 'give it with --capture FILE';
  return { problem: `${terminalSafe(where.problem)}: ${hint}` };
}

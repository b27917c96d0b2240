/**
 * Where a stored capture's file is now, to read its packets again: the path as it was given to
 * `analyze` (relative to the working directory), else the same path beside the database (a capture
 * moved along with its database), else nowhere — with the reason in words.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { STDIN_CAPTURE } from '../model/records';

export type CaptureLocation = { file: string } | { problem: string };

export function locateCapture(storedFile: string, dbFile: string): CaptureLocation {
  if (storedFile === STDIN_CAPTURE) return { problem: 'the capture was read from standard input' };
  const candidates = [storedFile];
  if (!isAbsolute(storedFile)) candidates.push(join(dirname(dbFile), storedFile));
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return { file: c };
  return {
    problem: `the capture ${storedFile} is not there (moved, or a live capture whose packets were not kept — \`planewatch live --write FILE\` keeps them)`,
  };
}

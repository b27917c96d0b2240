/**
 * Where a stored capture's file is now, to read its packets again: the path as it was given to
 * `analyze` (relative to the working directory), else the same path beside the database (a capture
 * moved along with its database), else nowhere — with the reason in words.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { STDIN_CAPTURE } from '../model/records';
import { ringStart } from './ring-files';

/**
 * `file`: the capture, or the ring of files it stands for (`live --write FILE --ring N`), whose
 * oldest piece still there begins at the run's frame `ringStart`.
 */
export type CaptureLocation = { file: string; ringStart?: number } | { problem: string };

export function locateCapture(storedFile: string, dbFile: string): CaptureLocation {
  if (storedFile === STDIN_CAPTURE) return { problem: 'the capture was read from standard input' };
  const candidates = [storedFile];
  if (!isAbsolute(storedFile)) candidates.push(join(dirname(dbFile), storedFile));
  for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return { file: c };
  for (const c of candidates) {
    const start = ringStart(c);
    if (start !== null) return { file: c, ringStart: start };
  }
  return {
    problem: `the capture ${storedFile} is not there (moved, or a live capture whose packets were not kept — \`planewatch live --write FILE\` keeps them)`,
  };
}

/**
 * Why a flow's packets, from its frame `firstFrame` on, cannot all be read from where its capture is
 * (null when they can): the ring the capture was written to has deleted the piece they began in.
 */
export function flowPacketsProblem(where: CaptureLocation, firstFrame: number): string | null {
  if (!('file' in where)) return where.problem;
  if (where.ringStart !== undefined && firstFrame < where.ringStart) {
    return `the ring of files ${where.file} was written to has deleted the one holding frame ${firstFrame} (it keeps frames from ${where.ringStart} on)`;
  }
  return null;
}

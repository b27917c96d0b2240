/**
 * A capture kept as a ring of files (`planewatch live --write FILE --ring N`, as `dumpcap -b files:N`
 * keeps one): FILE stands for the pieces `<stem>_<seq>_f<first frame><ext>` beside it, each a whole
 * pcapng file. The name carries the run's number of its first frame, so a stored flow's frames (the
 * run's numbers) are found in the pieces still there, and the pieces can be read as the one capture
 * they were cut from. The oldest pieces are deleted as new ones are written: their frames are gone.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Frame } from '../ingest/frame';
import { readCapture, type ReadCaptureOptions } from '../ingest/read-capture';
import type { CaptureError } from '../ingest/capture-error';
import type { CaptureFormat } from '../ingest/capture-format';

export interface RingPiece {
  file: string;
  seq: number;
  /** The run's number of the piece's first frame. */
  firstFrame: number;
}

/** The file of piece `seq` of the ring `base`, whose first frame is the run's frame `firstFrame`. */
export function ringPieceName(base: string, seq: number, firstFrame: number): string {
  const ext = extname(base);
  const stem = basename(base, ext);
  return join(dirname(base), `${stem}_${String(seq).padStart(5, '0')}_f${firstFrame}${ext}`);
}

/** The pieces of the ring `base` that are there, oldest first (none: no such ring). */
export function ringPieces(base: string): RingPiece[] {
  const dir = dirname(base);
  const ext = extname(base);
  const stem = basename(base, ext);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const pattern = new RegExp(`^${escapeRegExp(stem)}_(\\d{5,})_f(\\d+)${escapeRegExp(ext)}$`);
  const pieces: RingPiece[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null) continue;
    const file = join(dir, name);
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    pieces.push({ file, seq: Number(m[1]), firstFrame: Number(m[2]) });
  }
  return pieces.sort((a, b) => a.seq - b.seq);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Reads the frames of a capture file, or of the ring `file` stands for (when there is no such file
 * but pieces of it), numbered as in the run that wrote them. Pieces wholly before `fromFrame` are not
 * read. Stops at the first damaged piece, or when `opts.signal` aborts.
 */
export async function readCaptureFrames(
  file: string,
  sink: (f: Frame) => void,
  opts: ReadCaptureOptions & { fromFrame?: number } = {},
): Promise<{ error: CaptureError | null; format: CaptureFormat | null }> {
  if (existsSync(file)) return readCapture(file, sink, opts);
  const pieces = ringPieces(file);
  const from = opts.fromFrame ?? 1;
  let format: CaptureFormat | null = null;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    const next = pieces[i + 1];
    if (next !== undefined && next.firstFrame <= from) continue;
    const offset = piece.firstFrame - 1;
    const info = await readCapture(piece.file, (f) => {
      f.number += offset;
      try {
        sink(f);
      } finally {
        f.number -= offset;
      }
    }, opts);
    format ??= info.format;
    if (info.error !== null) return { error: info.error, format };
    if (opts.signal?.aborted) break;
  }
  return { error: null, format };
}

/** The run's first frame still kept by the ring `base` (null: not a ring, or none of it is left). */
export function ringStart(base: string): number | null {
  if (existsSync(base)) return null;
  return ringPieces(base)[0]?.firstFrame ?? null;
}

import { existsSync, statSync } from 'node:fs';

/**
 * Waits until capture files written by tcpdump (-U, one write per packet) have stopped growing.
 * tcpdump may be scheduled late on a loaded machine, and packets it has not read yet when it is
 * stopped are lost; a fixed pause lost the last FIN of a connection now and then. Gives up after
 * `maxMs` (the files may simply be complete).
 */
export async function untilCaptureFilesSettle(files: string[], quietMs = 500, maxMs = 10_000): Promise<void> {
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  let last = files.map(size);
  let quiet = 0;
  for (let waited = 0; quiet < quietMs && waited < maxMs; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    const now = files.map(size);
    quiet = now.every((s, i) => s === last[i]) ? quiet + 100 : 0;
    last = now;
  }
}

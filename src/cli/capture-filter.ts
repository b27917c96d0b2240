import { basename } from 'node:path';
import type { Db } from '../store/store';

/**
 * `--capture ID|FILE`: the captures of a database a listing is limited to. A number is a capture's
 * id; anything else matches a capture's file as stored or by its name alone (`etcd.pcap` for
 * `/data/etcd.pcap`), so a name read in `analyze`'s output works. Nothing matching is an error
 * naming the captures there are, never an empty listing that reads as "nothing found".
 */
export function captureIds(db: Db, text: string): number[] {
  const rows = db.prepare(`SELECT id, file FROM captures ORDER BY id`).all() as { id: number; file: string }[];
  const wanted = text.trim();
  const ids = /^\d+$/.test(wanted)
    ? rows.filter((r) => r.id === Number(wanted)).map((r) => r.id)
    : rows.filter((r) => r.file === wanted || basename(r.file) === wanted).map((r) => r.id);
  if (ids.length === 0) {
    const known = rows.map((r) => `${r.id} ${r.file}`).join('; ') || 'none';
    throw new Error(`no capture "${wanted}" in the database (captures: ${known})`);
  }
  return ids;
}

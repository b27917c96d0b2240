import { InvalidArgumentError } from 'commander';
import type { Db } from '../store/store';

/**
 * How the commands that take a flow (`show`, `follow`, `extract`) are told which: by the id
 * `planewatch flows` prints (`c1f8`), or by its Community ID, the hash of its addresses, ports and
 * protocol that Zeek, Suricata, Arkime and Wireshark print for the same connection, so that an alert
 * or a log line from one of them leads straight to the flow here.
 */

/** A Community ID v1: `1:` and the base64 of a SHA-1 (20 bytes). */
const COMMUNITY_ID = /^1:[A-Za-z0-9+/]{27}=$/;

function isCommunityId(text: string): boolean {
  return COMMUNITY_ID.test(text);
}

/** `--community-id`: a well-formed Community ID v1 or a usage error. */
export function communityIdOption(text: string): string {
  if (!isCommunityId(text)) throw new InvalidArgumentError('expected a Community ID v1 (1: and 28 characters of base64, as Zeek and Suricata print it)');
  return text;
}

/** How the "no such flow" messages say what a flow reference is. */
export const FLOW_REF_HINT = 'a flow id as `planewatch flows` prints it (e.g. c1f8) or a Community ID';

/** A stored flow: its row id and the id `planewatch flows` prints. */
export interface NamedFlow {
  id: number;
  key: string;
}

/**
 * The stored flows a reference names, oldest first: a flow id names one; a Community ID every flow of
 * that connection's addresses and ports (seen in several captures, or the ports used again later).
 * Empty when none matches.
 */
export function flowsNamed(db: Db, ref: string): NamedFlow[] {
  if (isCommunityId(ref)) {
    return db.prepare('SELECT id, flow_key AS key FROM flows WHERE community_id = ? ORDER BY first_ts, id').all(ref) as NamedFlow[];
  }
  const one = db.prepare('SELECT id, flow_key AS key FROM flows WHERE flow_key = ? ORDER BY id LIMIT 1').get(ref) as NamedFlow | undefined;
  return one === undefined ? [] : [one];
}

/**
 * The one flow a reference names, or why there is none: for the commands about a single flow. A
 * Community ID shared by several flows is an error that lists their ids.
 */
export function oneFlowNamed(db: Db, ref: string, safe: (s: string) => string): NamedFlow | { problem: string } {
  const flows = flowsNamed(db, ref);
  if (flows.length === 1) return flows[0]!;
  if (flows.length === 0) return { problem: `no flow ${safe(ref)} in the database (${FLOW_REF_HINT})` };
  const keys = flows.map((f) => f.key);
  const shown = keys.slice(0, MAX_LISTED).join(', ') + (keys.length > MAX_LISTED ? `, … (${keys.length - MAX_LISTED} more)` : '');
  return { problem: `Community ID ${ref} is that of ${keys.length} flows: ${shown}; name one by its id` };
}

/** Flow ids listed in the message about an ambiguous Community ID. */
const MAX_LISTED = 10;

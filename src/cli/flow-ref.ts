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

export function isCommunityId(text: string): boolean {
  return COMMUNITY_ID.test(text);
}

/** `--community-id`: a well-formed Community ID v1 or a usage error. */
export function communityIdOption(text: string): string {
  if (!isCommunityId(text)) throw new InvalidArgumentError('expected a Community ID v1 (1: and 28 characters of base64, as Zeek and Suricata print it)');
  return text;
}

/** How the "no such flow" messages say what a flow reference is. */
export const FLOW_REF_HINT = 'a flow id as `planewatch flows` prints it (e.g. c1f8) or a Community ID';

/**
 * The ids of the stored flows a reference names, oldest first: a flow id names one; a Community ID
 * every flow of that connection's addresses and ports (seen in several captures, or the ports used
 * again later). Empty when none matches.
 */
export function flowKeysFor(db: Db, ref: string): string[] {
  if (isCommunityId(ref)) {
    return db.prepare('SELECT flow_key FROM flows WHERE community_id = ? ORDER BY first_ts, id').pluck().all(ref) as string[];
  }
  const key = db.prepare('SELECT flow_key FROM flows WHERE flow_key = ? LIMIT 1').pluck().get(ref) as string | undefined;
  return key === undefined ? [] : [key];
}

/**
 * The one flow a reference names, or why there is none: for the commands about a single flow. A
 * Community ID shared by several flows is an error that lists their ids.
 */
export function oneFlowKey(db: Db, ref: string, safe: (s: string) => string): { key: string } | { problem: string } {
  const keys = flowKeysFor(db, ref);
  if (keys.length === 1) return { key: keys[0]! };
  if (keys.length === 0) return { problem: `no flow ${safe(ref)} in the database (${FLOW_REF_HINT})` };
  const shown = keys.slice(0, MAX_LISTED).join(', ') + (keys.length > MAX_LISTED ? `, … (${keys.length - MAX_LISTED} more)` : '');
  return { problem: `Community ID ${ref} is that of ${keys.length} flows: ${shown}; name one by its id` };
}

/** Flow ids listed in the message about an ambiguous Community ID. */
const MAX_LISTED = 10;

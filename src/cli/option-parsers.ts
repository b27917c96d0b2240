import { InvalidArgumentError } from 'commander';
import { PATH_IDS, SEVERITIES, type PathId, type Severity } from '../model/analysis';
import { FINDING_IDS } from '../analysis/finding-catalogue';
import { APP_PROTOCOLS, type AppProtocol } from '../model/records';
import { ROLES, type Role } from '../analysis/topology';
import { CONN_STATES } from '../flow/tcp-state';
import { parseDecodeAs, type DecodeAsRule } from '../decode/decode-as';

/** Option value parsers shared by the commands: a bad value is a usage error (exit code 2). */

/** A repeatable option: every value given, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--decode-as udp.port==PORT,KIND` or `tcp.port==PORT,KIND` (repeatable): every rule given, in order. */
export function decodeAsRule(value: string, previous: DecodeAsRule[] | undefined): DecodeAsRule[] {
  try {
    return [...(previous ?? []), parseDecodeAs(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** What `--decode-as` says in every command's help. */
export const DECODE_AS_HELP =
  'decode a port as a protocol, as Wireshark\'s -d does (repeatable): udp.port==PORT,KIND with KIND vxlan, vxlan_gpe, geneve, tzsp, mpls ' +
  '(MPLS in UDP) or none (plain UDP), e.g. udp.port==48879,vxlan; tcp.port==PORT,KIND with KIND tls, http, http2, ssh, dns ' +
  '(that dissector from the first byte, without probing) or none, e.g. tcp.port==9000,http; stored with the capture, so its ' +
  'packets are read back the same way';

export function positiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function positiveInt(text: string): number {
  const n = positiveNumber(text);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** Threads `--threads` may ask for at most (each analysis thread reads the whole file). */
export const MAX_THREADS = 16;

/** `--threads`: 1 to MAX_THREADS. */
export function threadCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_THREADS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_THREADS}`);
  return n;
}

export function severity(text: string): Severity {
  if (!SEVERITIES.includes(text as Severity)) throw new InvalidArgumentError(`expected one of ${SEVERITIES.join(', ')}`);
  return text as Severity;
}

/**
 * A filter on a fixed set of names: a misspelt one is a usage error, not an empty answer (which a
 * responder would read as "none of those").
 */
function oneOf<T extends string>(known: readonly string[], what: string): (text: string) => T {
  return (text) => {
    if (!known.includes(text)) throw new InvalidArgumentError(`unknown ${what} "${text}" (one of: ${known.join(', ')})`);
    return text as T;
  };
}

export const pathId = oneOf<PathId>(PATH_IDS, 'path id');
export const findingRule = oneOf<string>(FINDING_IDS, 'finding id');
export const appName = oneOf<AppProtocol>(APP_PROTOCOLS, 'application protocol');
export const roleName = oneOf<Role>(ROLES, 'role');

/** A comma-separated list of Zeek connection states (`--state S0,REJ`). */
export function connStates(text: string): string {
  for (const s of text.split(',')) {
    if (!(CONN_STATES as readonly string[]).includes(s)) throw new InvalidArgumentError(`"${s}" is not a Zeek connection state (${CONN_STATES.join(', ')})`);
  }
  return text;
}

import type { FlowRecord } from '../model/flow-record';

/**
 * Zeek's states of a TCP connection the server was not seen to accept, and what each says: S0 no
 * answer seen, REJ refused with a RST, RSTOS0 and SH the client gave up (RST, FIN) with no answer
 * seen. "Seen": a capture of one direction only shows no answer to any connection.
 */
export const NEVER_OPENED_STATES: Readonly<Record<string, string>> = {
  S0: 'no answer seen',
  REJ: 'the server refused it (RST)',
  RSTOS0: 'the client reset it, no answer seen',
  SH: 'the client closed it, no answer seen',
};

/**
 * What happened to a TCP connection that never opened and carried no byte (the probes of a scan, a
 * flood, a port nothing listens on or a firewall drops), or null for any other flow. Such a flow
 * says nothing about what listens on its port, and nothing crossed it that a finding could be about.
 */
export function neverOpened(f: Pick<FlowRecord, 'transport' | 'state' | 'payloadBytes'>): string | null {
  if (f.transport !== 'tcp' || f.payloadBytes[0] + f.payloadBytes[1] > 0) return null;
  return NEVER_OPENED_STATES[f.state] ?? null;
}

/** `neverOpened(f) !== null` as a condition on the flows table (the `flows_state` index finds them). */
export const NEVER_OPENED_SQL = `state IN (${Object.keys(NEVER_OPENED_STATES)
  .map((s) => `'${s}'`)
  .join(', ')}) AND transport = 'tcp' AND payload_client + payload_server = 0`;

import type { FlowRecord } from '../model/flow-record';

/**
 * Zeek's states of a TCP connection the server never accepted, and what each says happened: S0 no
 * answer, REJ refused with a RST, RSTOS0 and SH the client gave up (RST, FIN) before any answer.
 */
const NEVER_OPENED: Readonly<Record<string, string>> = {
  S0: 'nothing answered it',
  REJ: 'the server refused it (RST)',
  RSTOS0: 'the client reset it before any answer',
  SH: 'the client closed it before any answer',
};

/**
 * What happened to a TCP connection that never opened and carried no byte (the probes of a scan, a
 * flood, a port nothing listens on or a firewall drops), or null for any other flow. Such a flow
 * says nothing about what listens on its port, and nothing crossed it that a finding could be about.
 */
export function neverOpened(f: Pick<FlowRecord, 'transport' | 'state' | 'payloadBytes'>): string | null {
  if (f.transport !== 'tcp' || f.payloadBytes[0] + f.payloadBytes[1] > 0) return null;
  return NEVER_OPENED[f.state] ?? null;
}

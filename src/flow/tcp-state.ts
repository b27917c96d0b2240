/**
 * Zeek-compatible connection summaries: per-endpoint TCP states, the `history` letters and the
 * `conn_state` codes of Zeek's conn.log, so analysts can read planewatch flows the way they read Zeek.
 */

/** Per-endpoint TCP state as Zeek tracks it. */
export const EndpointState = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  /** Seen only midstream (no SYN). */
  PARTIAL: 3,
  ESTABLISHED: 4,
  CLOSED: 5,
  RESET: 6,
} as const;

/**
 * History letters, upper case when the originator (client) did it. Each letter is recorded once per
 * direction, at its first occurrence.
 */
export const HistoryLetter = {
  SYN: 0, // S: SYN without ACK
  SYN_ACK: 1, // H: SYN+ACK
  ACK: 2, // A: pure ACK (no payload, no SYN/FIN/RST)
  DATA: 3, // D: payload
  FIN: 4, // F
  RST: 5, // R
  GAP: 6, // G: content gap
} as const;

export const HISTORY_CHARS = 'SHADFRG';
export const HISTORY_CHARS_RESP = 'shadfrg';

function inactive(s: number): boolean {
  return s === EndpointState.INACTIVE || s === EndpointState.PARTIAL;
}

/** Zeek's connection states (conn.log's conn_state), every value a flow's `state` takes. */
export const CONN_STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'] as const;

/**
 * Zeek's conn_state for a TCP connection from the two endpoint states, the history and the payload
 * sizes (Zeek's base/protocols/conn/main.zeek).
 */
export function tcpConnState(os: number, rs: number, history: string, origBytes: number, respBytes: number): string {
  const E = EndpointState;
  if (rs === E.RESET) {
    if (os === E.SYN_SENT || os === E.SYN_ACK_SENT || (os === E.RESET && origBytes === 0 && respBytes === 0)) {
      return 'REJ';
    }
    return inactive(os) ? 'RSTRH' : 'RSTR';
  }
  if (os === E.RESET) {
    if (inactive(rs)) return /^\^?S[^HAFGIQ]*R/.test(history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === E.CLOSED && os === E.CLOSED) return 'SF';
  if (os === E.CLOSED) return inactive(rs) ? 'SH' : 'S2';
  if (rs === E.CLOSED) return inactive(os) ? 'SHR' : 'S3';
  if (os === E.SYN_SENT && rs === E.INACTIVE) return 'S0';
  if (os === E.ESTABLISHED && rs === E.ESTABLISHED) return 'S1';
  return 'OTH';
}

/** Zeek's conn_state for UDP: who was active. */
export function udpConnState(origPackets: number, respPackets: number): string {
  if (origPackets > 0) return respPackets > 0 ? 'SF' : 'S0';
  return respPackets > 0 ? 'SHR' : 'OTH';
}

import type { AnomalyCode } from '../../src/anomalies';
import { DnsStatus, parseDnsMessage, type DnsAnswer } from './dns-message';

/** Transactions kept per flow (a resolver's long-lived upstream flow carries many); the rest are counted. */
export const MAX_DNS_TRANSACTIONS = 64;

/** A question and its answer, as Zeek's dns.log has them: one per query, matched by id and name. */
export interface DnsTransaction {
  /** DNS message id. */
  id: number;
  /** Time and frame of the query (of the response when the query was not captured). */
  ts: number;
  frame: number;
  query: string | null;
  qtype: string | null;
  /** RCODE of the response (NOERROR, NXDOMAIN, …); null: no response seen. */
  rcode: string | null;
  answers: DnsAnswer[];
  responseTs: number | null;
  responseFrame: number | null;
  /** The response had the TC bit: the full answer was to be fetched over TCP. */
  truncated: boolean;
}

/**
 * The DNS transactions of one UDP flow (a client port and a server's port 53). Queries and responses
 * are matched by message id and question; a response whose query was not captured is a transaction
 * of its own. Strings are made only for what is kept: the question and the answers.
 */
export class DnsLog {
  readonly transactions: DnsTransaction[] = [];
  /** Messages not kept beyond MAX_DNS_TRANSACTIONS. */
  dropped = 0;

  /**
   * Reads one datagram's payload. Returns the anomaly it showed, or null. `cut`: the capture's
   * snapshot length cut the datagram (a message it leaves unreadable is not counted as malformed).
   */
  add(b: Uint8Array, start: number, end: number, ts: number, frame: number, cut: boolean): AnomalyCode | null {
    const { status, message } = parseDnsMessage(b, start, end);
    if (message === null || (status !== DnsStatus.OK && message.query === null)) return cut ? null : 'dns.malformed';
    const malformed = status !== DnsStatus.OK && !cut;
    if (message.response) {
      const t = this.pendingQuery(message.id, message.query);
      if (t !== null) {
        t.rcode = message.rcode;
        t.answers = message.answers;
        t.responseTs = ts;
        t.responseFrame = frame;
        t.truncated = message.truncated;
        return malformed ? 'dns.malformed' : null;
      }
    } else if (this.pendingQuery(message.id, message.query) !== null) {
      // The same question again before any answer: the client's retry, one transaction.
      return malformed ? 'dns.malformed' : null;
    }
    if (this.transactions.length >= MAX_DNS_TRANSACTIONS) {
      this.dropped++;
      return 'dns.too_many_transactions';
    }
    this.transactions.push({
      id: message.id,
      ts,
      frame,
      query: message.query,
      qtype: message.qtype,
      rcode: message.response ? message.rcode : null,
      answers: message.response ? message.answers : [],
      responseTs: message.response ? ts : null,
      responseFrame: message.response ? frame : null,
      truncated: message.truncated,
    });
    return malformed ? 'dns.malformed' : null;
  }

  /** The newest transaction with this id and question still waiting for its response. */
  private pendingQuery(id: number, query: string | null): DnsTransaction | null {
    for (let i = this.transactions.length - 1; i >= 0; i--) {
      const t = this.transactions[i]!;
      if (t.id === id && t.query === query && t.responseTs === null) return t;
    }
    return null;
  }
}

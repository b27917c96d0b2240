import { ethernet, ipv4, tcp } from '../decode/builders';
import { pcapFile } from '../ingest/build';

const SYN = 0x02;
const ACK = 0x10;
const PSH_ACK = 0x18;
const FIN_ACK = 0x11;

export interface Conversation {
  client: string;
  server: string;
  sport: number;
  dport: number;
  request: string;
  response: string;
}

/** A whole TCP connection as Ethernet frames: handshake, one request, one response, FIN both ways. */
export function conversationFrames(c: Conversation): Uint8Array[] {
  const req = Buffer.from(c.request, 'latin1');
  const res = Buffer.from(c.response, 'latin1');
  const cs = 1000;
  const ss = 5000;
  const up = (o: { seq: number; ack: number; flags: number }, payload?: Uint8Array) =>
    ethernet(0x0800, ipv4({ src: c.client, dst: c.server, protocol: 6 }, tcp({ sport: c.sport, dport: c.dport, ...o }, payload)));
  const down = (o: { seq: number; ack: number; flags: number }, payload?: Uint8Array) =>
    ethernet(0x0800, ipv4({ src: c.server, dst: c.client, protocol: 6 }, tcp({ sport: c.dport, dport: c.sport, ...o }, payload)));
  return [
    up({ seq: cs, ack: 0, flags: SYN }),
    down({ seq: ss, ack: cs + 1, flags: SYN | ACK }),
    up({ seq: cs + 1, ack: ss + 1, flags: ACK }),
    up({ seq: cs + 1, ack: ss + 1, flags: PSH_ACK }, req),
    down({ seq: ss + 1, ack: cs + 1 + req.length, flags: PSH_ACK }, res),
    up({ seq: cs + 1 + req.length, ack: ss + 1 + res.length, flags: FIN_ACK }),
    down({ seq: ss + 1 + res.length, ack: cs + 2 + req.length, flags: FIN_ACK }),
    up({ seq: cs + 2 + req.length, ack: ss + 2 + res.length, flags: ACK }),
  ];
}

/** A classic pcap (Ethernet) of the frames, one millisecond apart. */
export function pcapOf(frames: Uint8Array[], t0 = 1_700_000_000): Uint8Array {
  return pcapFile({}, frames.map((data, i) => ({ sec: t0, frac: i * 1000, data })));
}

/** A kubelet read-only-port request whose user agent carries terminal escape sequences. */
export const HOSTILE_UA = 'kube\u001b[31mEVIL\u001b]0;pwned\u0007';
export function readOnlyPortRequest(client: string, server: string, sport: number): Conversation {
  return {
    client, server, sport, dport: 10255,
    request: `GET /pods HTTP/1.1\r\nHost: ${server}:10255\r\nUser-Agent: ${HOSTILE_UA}\r\n\r\n`,
    response: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  };
}

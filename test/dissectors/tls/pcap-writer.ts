/**
 * Writes recorded TLS conversations as a classic pcap (Ethernet/IPv4/TCP with a three-way
 * handshake) so that tshark can dissect the very bytes our dissector saw. Checksums are left zero:
 * tshark does not validate them by default.
 */
import type { Chunk } from './record-handshake';

const MSS = 1400;

function tcpFrame(fromClient: boolean, seq: number, ack: number, flags: number, payload: Uint8Array, port: number): Uint8Array {
  const ipLen = 20 + 20 + payload.length;
  const f = new Uint8Array(14 + ipLen);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, fromClient ? 2 : 1, 2, 0, 0, 0, 0, fromClient ? 1 : 2, 0x08, 0x00], 0);
  f[14] = 0x45;
  v.setUint16(16, ipLen);
  f[22] = 64;
  f[23] = 6;
  f.set(fromClient ? [127, 0, 0, 1, 127, 0, 0, 2] : [127, 0, 0, 2, 127, 0, 0, 1], 26);
  v.setUint16(34, fromClient ? 40000 : port);
  v.setUint16(36, fromClient ? port : 40000);
  v.setUint32(38, seq >>> 0);
  v.setUint32(42, ack >>> 0);
  f[46] = 0x50;
  f[47] = flags;
  v.setUint16(48, 65535);
  f.set(payload, 54);
  return f;
}

export function conversationToPcap(chunks: readonly Chunk[], port = 443): Buffer {
  const frames: Uint8Array[] = [];
  let cseq = 1000;
  let sseq = 5000;
  frames.push(tcpFrame(true, cseq, 0, 0x02, new Uint8Array(0), port));
  frames.push(tcpFrame(false, sseq, cseq + 1, 0x12, new Uint8Array(0), port));
  cseq++;
  sseq++;
  frames.push(tcpFrame(true, cseq, sseq, 0x10, new Uint8Array(0), port));
  for (const c of chunks) {
    for (let o = 0; o < c.bytes.length; o += MSS) {
      const seg = c.bytes.subarray(o, Math.min(c.bytes.length, o + MSS));
      if (c.dir === 0) {
        frames.push(tcpFrame(true, cseq, sseq, 0x18, seg, port));
        cseq += seg.length;
      } else {
        frames.push(tcpFrame(false, sseq, cseq, 0x18, seg, port));
        sseq += seg.length;
      }
    }
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const parts: Buffer[] = [header];
  frames.forEach((f, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1700000000 + i, 0);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

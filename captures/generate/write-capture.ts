/** Writes a recorded packet list as pcap or pcapng in a chosen link-layer variant. */
import { FdSink } from '../../src/export/byte-sink.js';
import { PcapWriter } from '../../src/export/pcap-writer.js';
import { PcapngWriter } from '../../src/export/pcapng-writer.js';
import type { CapturedPacket } from './capture.js';
import { encapsulate, linkTypeOf, LINKTYPE_ETHERNET, LINKTYPE_RAW, type EncapOptions, type LinkVariant } from './link-encap.js';

const split = (tsUs: number) => [Math.floor(tsUs / 1e6), tsUs % 1e6] as const;

export function writePcap(path: string, packets: CapturedPacket[], variant: LinkVariant = 'ethernet', opts: EncapOptions = {}): void {
  const w = new PcapWriter(FdSink.open(path), linkTypeOf(variant));
  let outerId = 0x1000;
  for (const p of packets) {
    const [s, us] = split(p.tsUs);
    w.writePacket(s, us, encapsulate(p.ip, variant, { ...opts, outgoing: p.fromClient }, outerId++));
  }
  w.close();
}

/**
 * pcapng. `twoInterfaces` puts client→server packets on an Ethernet interface (µs) and server→client
 * packets on a raw-IP interface (ns), as a capture merged from two taps would. `keyLog` adds a
 * Decryption Secrets Block before the first packet.
 */
export function writePcapng(path: string, packets: CapturedPacket[], o: { twoInterfaces?: boolean; keyLog?: string } = {}): void {
  const w = new PcapngWriter(FdSink.open(path));
  const eth = w.addInterface(LINKTYPE_ETHERNET, { name: 'eth0', tsresolDigits: 6 });
  const raw = o.twoInterfaces ? w.addInterface(LINKTYPE_RAW, { name: 'tun0', tsresolDigits: 9 }) : eth;
  if (o.keyLog) w.writeTlsKeyLog(o.keyLog);
  for (const p of packets) {
    const [s, us] = split(p.tsUs);
    const onRaw = o.twoInterfaces && !p.fromClient;
    w.writePacket(onRaw ? raw : eth, s, us * 1000, onRaw ? p.ip : encapsulate(p.ip, 'ethernet'));
  }
  w.close();
}

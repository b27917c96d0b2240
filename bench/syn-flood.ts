/**
 * A SYN flood for the memory benchmark: connection attempts to an API server from as many distinct
 * addresses (a spoofed flood, or the probes of a scan), 50,000 a second. One in two is refused with a
 * RST; the others go unanswered. Each attempt is a flow of its own: what it costs in memory while it
 * lasts, and the addresses the topology learns, are what this capture measures. Written once under
 * bench/data/ (git-ignored) and reused.
 */
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildTcp, TCP_ACK, TCP_RST, TCP_SYN } from '../captures/generate/ip-packet';
import { FdSink } from '../src/export/byte-sink';
import { PcapWriter } from '../src/export/pcap-writer';
import { DATA_DIR } from './capture-cache';

const LINKTYPE_RAW = 101;
const API_SERVER = '10.0.0.10';
const ATTEMPTS_PER_SECOND = 50_000;
const START = 1_772_445_600;

/** Path of the cached flood of `attempts` connection attempts, generating it when missing. */
export function ensureSynFlood(attempts: number, log: (line: string) => void): string {
  mkdirSync(DATA_DIR, { recursive: true });
  const file = join(DATA_DIR, `syn-flood-${attempts}.pcap`);
  if (existsSync(file)) return file;
  log(`generating ${file} (${attempts} connection attempts)…`);
  const partial = `${file}.partial`;
  const w = new PcapWriter(FdSink.open(partial), LINKTYPE_RAW);
  for (let i = 0; i < attempts; i++) {
    // Addresses from 100.64.0.0/10 up, one per attempt; client ports cycling through the ephemeral range.
    const a = 0x64400000 + i;
    const src = `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
    const sport = 32768 + (i % 28000);
    const isn = (Math.imul(i, 2654435761) >>> 0) || 1;
    const us = Math.round((i * 1e6) / ATTEMPTS_PER_SECOND);
    const sec = START + Math.floor(us / 1e6);
    w.writePacket(sec, us % 1e6, buildTcp({ src, dst: API_SERVER, sport, dport: 6443, seq: isn, ack: 0, flags: TCP_SYN, window: 64240, ipId: i & 0xffff }));
    if (i % 2 === 0) {
      const rst = buildTcp({ src: API_SERVER, dst: src, sport: 6443, dport: sport, seq: 0, ack: isn + 1, flags: TCP_RST | TCP_ACK, window: 0, ipId: 0 });
      w.writePacket(sec, Math.min((us % 1e6) + 1, 999_999), rst);
    }
  }
  w.close();
  renameSync(partial, file);
  log(`  ${(statSync(file).size / 1e6).toFixed(0)} MB, ${w.packets} packets`);
  return file;
}

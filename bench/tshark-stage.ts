/**
 * The reference point: tshark extracting the same kind of TLS/HTTP/SSH fields from the same file.
 * tshark runs at tens of thousands of packets per second, so it reads only the first `packets`
 * packets of the file (`-c`), and the comparison is per packet.
 */
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { nowSeconds, type StageRun } from './measure';

/** The fields asked for: what the dissectors' records hold for TLS, HTTP and SSH. */
export const TSHARK_FIELDS = [
  'tls.handshake.extensions_server_name',
  'tls.handshake.version',
  'tls.handshake.ciphersuite',
  'http.request.method',
  'http.request.uri',
  'http.host',
  'http.user_agent',
  'ssh.protocol',
];
/** The synthetic cluster's TLS ports that are not TLS ports to tshark by default. */
const TLS_PORTS = [6443, 10250, 2379, 2380, 8132];

export function hasTshark(): boolean {
  return spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
}

export async function runTshark(file: string, packets: number, filePackets: number): Promise<StageRun> {
  const args = ['-n', '-r', file, '-c', String(packets)];
  for (const p of TLS_PORTS) args.push('-d', `tcp.port==${p},tls`);
  args.push('-T', 'fields', '-e', 'frame.number');
  for (const f of TSHARK_FIELDS) args.push('-e', f);
  const t0 = nowSeconds();
  const r = await new Promise<{ code: number | null; lines: number; withField: number; err: string }>((resolve, reject) => {
    const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let withField = 0;
    let tail = '';
    let err = '';
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (d: string) => {
      // Count output lines and lines that carry at least one extracted field (work actually done).
      const text = tail + d;
      const parts = text.split('\n');
      tail = parts.pop()!;
      for (const line of parts) {
        lines++;
        if (/\t[^\t]/.test(line)) withField++;
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < 4000) err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, lines, withField, err }));
  });
  const seconds = nowSeconds() - t0;
  if (r.code !== 0) throw new Error(`tshark exited with ${r.code}: ${r.err.trim()}`);
  const fileBytes = statSync(file).size;
  const share = Math.min(1, r.lines / Math.max(1, filePackets));
  return {
    packets: r.lines,
    bytes: Math.round(fileBytes * share),
    seconds,
    cpuSeconds: null,
    peakRss: null,
    note:
      `tshark: first ${r.lines} packets of the file (-c ${packets}; ~${(share * 100).toFixed(0)}% of it, bytes pro rata), ` +
      `${r.withField} packets with a TLS/HTTP/SSH field; decode-as TLS on ${TLS_PORTS.join(', ')}`,
  };
}

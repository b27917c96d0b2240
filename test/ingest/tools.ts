/**
 * Helpers for tests that use real capture tools: record loopback traffic with tcpdump and ask tshark
 * what it sees in a file. Only 127.0.0.1 is used.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { untilCaptureFilesSettle } from '../capture-settle';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export interface CaptureJob {
  iface: string;
  file: string;
  snaplen?: number;
}

/**
 * Records the given captures at once while a client and a server on 127.0.0.1 exchange a few
 * messages, one of them large enough to give big loopback segments.
 */
export async function recordLoopback(jobs: CaptureJob[]): Promise<void> {
  const server = createServer((sock) => {
    sock.on('data', (d) => sock.write(`ack ${d.length}\n`));
    sock.on('end', () => sock.end());
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  // --immediate-mode: otherwise packets wait in the kernel ring until a block times out and a quick
  // SIGINT finds them "received by filter" but never written.
  const dumps = jobs.map((j) => {
    const args = ['-i', j.iface, '--immediate-mode', '-U', '-n', '-w', j.file, '-s', String(j.snaplen ?? 0), 'tcp', 'port', String(port)];
    const p = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ready = new Promise<void>((res, rej) => {
      let err = '';
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) res();
      });
      p.on('exit', (code) => rej(new Error(`tcpdump exited ${code}: ${err}`)));
    });
    const done = new Promise<void>((res) => p.on('exit', () => res()));
    return { p, ready, done };
  });
  await Promise.all(dumps.map((d) => d.ready));
  await new Promise<void>((res, rej) => {
    const c = connect(port, '127.0.0.1', () => {
      c.write('hello');
      c.write(Buffer.alloc(150_000, 0x61));
      c.end('bye');
    });
    c.on('data', () => {});
    c.on('close', () => res());
    c.on('error', rej);
  });
  server.close();
  // Let the kernel hand the last packets to tcpdump before stopping it (SIGINT flushes the file).
  await untilCaptureFilesSettle(jobs.map((j) => j.file));
  for (const d of dumps) d.p.kill('SIGINT');
  await Promise.all(dumps.map((d) => d.done));
}

export interface TsharkFrame {
  len: number;
  capLen: number;
  sec: number;
  nsec: number;
  interfaceId: number;
}

/** What tshark reads from a file: per frame the lengths, exact timestamp and interface. */
export function tsharkFrames(file: string): TsharkFrame[] {
  const out = execFileSync(
    'tshark',
    ['-n', '-r', file, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch', '-e', 'frame.interface_id'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [len, capLen, epoch, ifId] = l.split(',');
      const [s, frac = ''] = epoch!.split('.');
      return {
        len: Number(len),
        capLen: Number(capLen),
        sec: Number(s),
        nsec: Number(frac.padEnd(9, '0').slice(0, 9)),
        interfaceId: ifId ? Number(ifId) : 0,
      };
    });
}

/**
 * Real tools on loopback for the cross-checks: tcpdump records, openssl / curl / ssh talk to
 * throw-away servers on 127.0.0.x. Only processes started here are ever stopped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { untilCaptureFilesSettle } from '../capture-settle';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** A port free on `host` right now (servers below bind it at once). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `child` writes `marker` on stdout or stderr; rejects if it exits first or after `ms`. */
export function waitForOutput(child: ChildProcess, marker: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within ${ms} ms: ${seen}`)), ms);
    const onData = (b: Buffer): void => {
      seen += b.toString();
      if (seen.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before "${marker}": ${seen}`));
    });
  });
}

/** Waits until something accepts TCP connections on host:port (used before tcpdump starts). */
export function waitForPort(host: string, port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const c = net.connect(port, host);
      let connected = false;
      c.once('connect', () => {
        connected = true;
        // Closed from both ends before resolving: a server that answers the probe late (sshd's banner
        // from a forked child, on a loaded machine) would otherwise put a stray connection's
        // teardown into a capture started right after.
        c.resume();
        c.end();
        const timer = setTimeout(() => {
          c.destroy();
          resolve();
        }, 2000);
        c.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      c.on('error', () => {
        if (connected) return; // a reset while closing: the probe's work is done
        if (Date.now() > deadline) reject(new Error(`${host}:${port} never opened`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion (killed after `ms`), feeding `input` on stdin then closing it. */
export function run(cmd: string, args: string[], input = '', ms = 8000): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Capture {
  /** Stops tcpdump and returns its closing report ("N packets dropped by kernel"). */
  stop: () => Promise<string>;
  /** The tcpdump process (to be killed if the recording is abandoned). */
  child: ChildProcess;
}

/** tcpdump on `iface` (lo by default) into `file`; resolves once it says "listening on", so no packet is lost. */
export async function startCapture(file: string, filter: string[], iface = 'lo'): Promise<Capture> {
  // --immediate-mode and -U: packets reach the file at once, so a quick SIGINT loses none; a large
  // buffer (-B, KiB) keeps a busy machine from dropping packets while tcpdump waits for the CPU.
  const dump = spawn('tcpdump', ['-i', iface, '--immediate-mode', '-U', '-n', '-s', '0', '-B', '16384', '-w', file, ...filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let report = '';
  dump.stderr.on('data', (b: Buffer) => (report += b.toString()));
  await waitForOutput(dump, 'listening on');
  // The kernel filter can take a moment to go live after the message.
  await new Promise((r) => setTimeout(r, 150));
  return {
    child: dump,
    stop: async () => {
      // Let the last packets (FIN/ACK) reach tcpdump, then stop our own child only.
      await untilCaptureFilesSettle([file]);
      const exited = new Promise((r) => dump.once('exit', r));
      dump.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      return report;
    },
  };
}

/** Packets tcpdump says the kernel dropped (its closing report); -1 when it did not say. */
export function droppedByKernel(report: string): number {
  const m = /(\d+) packets? dropped by kernel/.exec(report);
  return m === null ? -1 : Number(m[1]);
}

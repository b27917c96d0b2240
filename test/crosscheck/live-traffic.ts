/**
 * Records one capture of real stacks talking on 127.0.0.40/29: openssl s_server (TLS 1.2 asking for a
 * client certificate, TLS 1.3) with openssl s_client and curl, a node:http server with curl
 * (HTTP/1.1), a node:http2 h2c server with curl (prior knowledge), and ssh against a throw-away sshd.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { join } from 'node:path';
import { openssl } from './lab-pki';
import { freePort, run, startCapture, waitForOutput, waitForPort, type RunResult } from './loopback-capture';

export const HOSTS = { tls12: '127.0.0.41', tls13: '127.0.0.42', http: '127.0.0.43', h2c: '127.0.0.44', ssh: '127.0.0.45' } as const;
export type Scenario = keyof typeof HOSTS;

export const USER_AGENT = 'crosscheck-agent/1.0 (x86_64; a, b)';

export interface LiveCapture {
  pcap: string;
  ports: Record<Scenario, number>;
  /** `-d` rules so tshark decodes each server port as what runs there. */
  decodeAs: string[];
  /** What each client run printed, for messages when a tool misbehaved. */
  runs: Record<string, RunResult>;
  sshAvailable: boolean;
  /** tcpdump's closing lines: packets captured, dropped by kernel. */
  tcpdumpReport: string;
}

function makeCertificates(dir: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt'), '-days', '2',
    '-subj', '/CN=crosscheck-server', '-addext', `subjectAltName=DNS:one.crosscheck.test,IP:${HOSTS.tls12}`]);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.crt'),
    '-days', '2', '-subj', '/O=system:nodes/CN=system:node:crosscheck']);
}

function sServer(dir: string, host: string, port: number, extra: string[]): ChildProcess {
  return spawn('openssl', ['s_server', '-accept', `${host}:${port}`, '-cert', join(dir, 'server.crt'), '-key', join(dir, 'server.key'), '-alpn', 'h2,http/1.1', '-www', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function startSshd(dir: string, port: number): ChildProcess | null {
  if (!existsSync('/usr/sbin/sshd')) return null;
  // sshd refuses to start without its privilege-separation directory.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const key = join(dir, 'host_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [`Port ${port}`, `ListenAddress ${HOSTS.ssh}`, `HostKey ${key}`, `PidFile ${join(dir, 'sshd.pid')}`,
    'UsePAM no', 'StrictModes no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', ''].join('\n'));
  return spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: 'ignore' });
}

function twoStreams(base: string): Promise<void> {
  return new Promise((resolve) => {
    const session = http2.connect(base);
    session.on('error', () => resolve());
    let open = 2;
    for (const path of ['/h2/second', '/missing']) {
      const req = session.request({ ':path': path, 'user-agent': USER_AGENT });
      req.on('error', () => {});
      req.resume();
      req.on('close', () => {
        if (--open === 0) session.close(() => resolve());
      });
      req.end();
    }
  });
}

export async function recordLiveTraffic(dir: string): Promise<LiveCapture> {
  makeCertificates(dir);
  const ports = {} as Record<Scenario, number>;
  for (const s of Object.keys(HOSTS) as Scenario[]) ports[s] = await freePort(HOSTS[s]);
  const children: ChildProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    // Servers first, and their readiness probes before tcpdump starts, so the capture holds only the clients.
    const s12 = sServer(dir, HOSTS.tls12, ports.tls12, ['-tls1_2', '-verify', '1', '-CAfile', join(dir, 'client.crt')]);
    const s13 = sServer(dir, HOSTS.tls13, ports.tls13, ['-tls1_3']);
    children.push(s12, s13);
    await Promise.all([waitForOutput(s12, 'ACCEPT'), waitForOutput(s13, 'ACCEPT')]);

    const h1 = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
        res.end(`seen ${req.method} ${req.url}\n`);
      });
    });
    await new Promise<void>((r) => h1.listen(ports.http, HOSTS.http, r));
    closers.push(() => new Promise<void>((r) => { h1.closeAllConnections(); h1.close(() => r()); }));

    const h2 = http2.createServer();
    h2.on('stream', (stream, headers) => {
      stream.respond({ ':status': headers[':path'] === '/missing' ? 404 : 200, 'content-type': 'text/plain' });
      stream.end(`seen ${String(headers[':path'])}\n`);
    });
    await new Promise<void>((r) => h2.listen(ports.h2c, HOSTS.h2c, r));
    closers.push(() => new Promise<void>((r) => h2.close(() => r())));

    const sshd = startSshd(dir, ports.ssh);
    let sshAvailable = false;
    if (sshd !== null) {
      children.push(sshd);
      sshAvailable = await waitForPort(HOSTS.ssh, ports.ssh).then(() => true, () => false);
    }

    const pcap = join(dir, 'live.pcap');
    const capture = await startCapture(pcap, ['tcp', 'and', 'net', '127.0.0.40/29']);
    const runs: Record<string, RunResult> = {};
    const cert = ['-cert', join(dir, 'client.crt'), '-key', join(dir, 'client.key')];
    // openssl s_server serves one connection at a time: each server's clients run one after the other.
    await Promise.all([
      (async () => {
        runs['s_client tls1.2'] = await run('openssl', ['s_client', '-connect', `${HOSTS.tls12}:${ports.tls12}`, '-servername', 'one.crosscheck.test', '-alpn', 'h2,http/1.1', ...cert]);
        runs['curl tls1.2'] = await run('curl', ['-sk', '--http1.1', '--tls-max', '1.2', '--resolve', `one.crosscheck.test:${ports.tls12}:${HOSTS.tls12}`,
          `https://one.crosscheck.test:${ports.tls12}/tls12/path?q=1`, '-o', '/dev/null']);
      })(),
      (async () => {
        runs['s_client tls1.3'] = await run('openssl', ['s_client', '-connect', `${HOSTS.tls13}:${ports.tls13}`, '-servername', 'two.crosscheck.test', '-alpn', 'http/1.1']);
        runs['curl tls1.3'] = await run('curl', ['-sk', '--http1.1', `https://${HOSTS.tls13}:${ports.tls13}/tls13`, '-o', '/dev/null']);
      })(),
      (async () => {
        // Two requests on one connection, then a POST with a body on another.
        const base = `http://${HOSTS.http}:${ports.http}`;
        runs['curl http'] = await run('curl', ['-s', '--http1.1', '-A', USER_AGENT, `${base}/x?y=1`, `${base}/missing`, '-o', '/dev/null', '-o', '/dev/null']);
        runs['curl http post'] = await run('curl', ['-s', '--http1.1', '-H', 'Host: api.crosscheck.test', '-d', 'a=1&b=2', `${base}/post/path`, '-o', '/dev/null']);
      })(),
      (async () => {
        const base = `http://${HOSTS.h2c}:${ports.h2c}`;
        runs['curl h2c'] = await run('curl', ['-s', '--http2-prior-knowledge', '-A', USER_AGENT, `${base}/h2/first`, '-o', '/dev/null']);
        // curl 7.88 does not send a second prior-knowledge request on a reused connection; node's
        // client puts two streams on one connection (the second one uses HPACK's dynamic table).
        await twoStreams(base);
      })(),
      (async () => {
        if (!sshAvailable) return;
        // Authentication fails (no key), which is fine: banners and KEXINIT come before it.
        runs.ssh = await run('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
          '-o', 'ConnectTimeout=5', '-p', String(ports.ssh), `nobody@${HOSTS.ssh}`, 'true']);
      })(),
    ]);
    const tcpdumpReport = await capture.stop();
    const decodeAs = [`tcp.port==${ports.tls12},tls`, `tcp.port==${ports.tls13},tls`, `tcp.port==${ports.http},http`, `tcp.port==${ports.h2c},http2`, `tcp.port==${ports.ssh},ssh`];
    return { pcap, ports, decodeAs, runs, sshAvailable, tcpdumpReport };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const close of closers) await close();
  }
}

/**
 * A real OpenSSH session on loopback: sshd with a throw-away host key, `ssh -o BatchMode=yes`
 * through a recording TCP proxy (authentication fails, which is fine: banners and KEXINIT are
 * exchanged before it). Our banners and HASSH / HASSHServer are compared with tshark's on a
 * tcpdump capture of the same connection.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppSession } from '../../../dissectors/app-session';
import { sshFactory } from '../../../dissectors/ssh/ssh-dissector';
import type { Direction } from '../../../src/flow/direction';
import type { SshInfo } from '../../../src/model/records';
import { recordingProxy, type Chunk } from '../loopback-recorder';
import { stampOf } from '../../../src/flow/packet-stamp';
import { waitForPort } from '../../crosscheck/loopback-capture';

const SSHD = '/usr/sbin/sshd';
function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}
// sshd needs its privilege-separation directory, which only root can create.
const hasSsh =
  existsSync(SSHD) && which('ssh') && which('ssh-keygen') && (process.getuid?.() === 0 || existsSync('/run/sshd'));
const hasCapture = which('tcpdump') && which('tshark') && process.getuid?.() === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function runSsh(port: number): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(
      'ssh',
      [
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=5',
        '-F', '/dev/null',
        '-p', String(port),
        'nobody@127.0.0.1', 'true',
      ],
      { stdio: 'ignore' },
    );
    const timer = setTimeout(() => p.kill('SIGKILL'), 8000);
    p.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe.skipIf(!hasSsh)('SSH dissector on a real ssh → sshd session', () => {
  let dir = '';
  let sshd: ChildProcess | null = null;
  let chunks: Chunk[] = [];
  let proxyPort = 0;
  let pcap = '';
  let tcpdumpOk = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-sshd-'));
    // sshd refuses to start without its privilege-separation directory.
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const key = join(dir, 'host_ed25519');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const sshdPort = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${sshdPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${key}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        '',
      ].join('\n'),
    );
    sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: 'ignore' });
    await waitForPort('127.0.0.1', sshdPort, 5000);
    const proxy = await recordingProxy(sshdPort);
    proxyPort = proxy.port;

    let dump: ChildProcess | null = null;
    if (hasCapture) {
      pcap = join(dir, 'ssh.pcap');
      dump = spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-n', '-w', pcap, 'tcp', 'port', String(proxyPort)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      // tcpdump says "listening on lo" once the capture is armed.
      tcpdumpOk = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 5000);
        dump!.stderr!.on('data', (b: Buffer) => {
          if (b.toString().includes('listening on')) {
            clearTimeout(t);
            resolve(true);
          }
        });
        dump!.once('exit', () => resolve(false));
      });
    }
    // The filter can take a moment to go live after the banner; packets before it would be lost.
    if (tcpdumpOk) await new Promise((r) => setTimeout(r, 150));
    await runSsh(proxyPort);
    await new Promise((r) => setTimeout(r, 200));
    chunks = proxy.chunks;
    await proxy.close();
    if (dump !== null) {
      const exited = new Promise((r) => dump!.once('exit', r));
      dump.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
  }, 30_000);

  afterAll(() => {
    sshd?.kill('SIGTERM');
    if (dir !== '' && !process.env.PLANEWATCH_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  function dissect(): { r: SshInfo; anomalies: string[] } {
    const anomalies: string[] = [];
    const d = sshFactory.create((c) => anomalies.push(c));
    chunks.forEach((c, i) => d.feed(c.dir, c.bytes, 0, c.bytes.length, stampOf(0, i + 1)));
    return { r: d.result(), anomalies };
  }

  it('reads both banners, both KEXINITs and where encryption starts', () => {
    expect(chunks.length).toBeGreaterThan(3);
    const { r, anomalies } = dissect();
    expect(anomalies).toEqual([]);
    expect(r.clientBanner).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(r.serverBanner).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(r.clientProtocol).toBe('2.0');
    expect(r.serverProtocol).toBe('2.0');
    expect(r.hassh).toMatch(/^[0-9a-f]{32}$/);
    expect(r.hasshServer).toMatch(/^[0-9a-f]{32}$/);
    expect(r.clientKex?.hostKey.length).toBeGreaterThan(0);
    expect(r.serverKex?.hostKey).toContain('ssh-ed25519');
    // OpenSSH marks its client list with ext-info-c (RFC 8308)
    expect(r.clientKex?.kex).toContain('ext-info-c');
    expect(r.encryptedFromFrame[0]).toBeGreaterThan(0);
    expect(r.encryptedFromFrame[1]).toBeGreaterThan(0);
    const total = (dir: Direction): number =>
      chunks.filter((c) => c.dir === dir).reduce((n, c) => n + c.bytes.length, 0);
    expect(r.bytes).toEqual([total(0), total(1)]);
  });

  it('is recognised by probing on an unexpected port', () => {
    const s = createAppSession({
      client: { ip: '127.0.0.1', port: 40000 },
      server: { ip: '127.0.0.1', port: proxyPort },
      transport: 'tcp',
    });
    chunks.forEach((c, i) => s.onData(c.dir, c.bytes, 0, c.bytes.length, stampOf(0, i + 1)));
    const e = s.describe();
    expect(e.app).toBe('ssh');
    expect(e.ssh).toEqual(dissect().r);
  });

  it.skipIf(!hasCapture)('agrees with tshark on banners, HASSH and HASSHServer', () => {
    expect(tcpdumpOk).toBe(true);
    const out = spawnSync(
      'tshark',
      [
        '-r', pcap, '-n', '-d', `tcp.port==${proxyPort},ssh`,
        '-Y', 'ssh', '-T', 'fields', '-E', 'separator=|',
        '-e', 'ssh.protocol', '-e', 'ssh.kex.hassh', '-e', 'ssh.kex.hasshserver',
      ],
      { encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    const values = { protocol: [] as string[], hassh: new Set<string>(), hasshServer: new Set<string>() };
    for (const line of out.stdout.split('\n')) {
      const [p, h, hs] = line.split('|');
      if (p) values.protocol.push(p);
      if (h) values.hassh.add(h);
      if (hs) values.hasshServer.add(hs);
    }
    const { r } = dissect();
    expect([...values.protocol].sort()).toEqual([r.clientBanner, r.serverBanner].sort());
    expect([...values.hassh]).toEqual([r.hassh]);
    expect([...values.hasshServer]).toEqual([r.hasshServer]);
  });
});

/**
 * A small network of Linux network namespaces joined by one bridge, for recording real tools with
 * realistic addressing: every host has its own address, so a capture on the bridge shows who dialled
 * whom as it would on a cluster's network (on loopback every client would be 127.0.0.1). Needs root
 * and iproute2. Everything is named after this process, and `destroy` removes it all.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { startCapture, type Capture, type RunResult } from './loopback-capture';

const NETNS_DIR = '/run/netns';
/** Namespaces of this kind are named `${NAME_PREFIX}${pid}-${lab}-${host}`. */
const NAME_PREFIX = 'pwlab';

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

function quietIp(args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when this machine lets us make namespaces, veth pairs and a bridge (root with iproute2). */
export function canBuildLab(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('sh', ['-c', 'command -v ip']).status === 0;
}

/** Removes namespaces left by labs whose process died before cleaning up. */
function sweepStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  for (const n of names) {
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(n);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) quietIp(['netns', 'del', n]);
  }
}

export interface LabHost {
  name: string;
  address: string;
  netns: string;
}

export class NetnsLab {
  readonly hosts = new Map<string, LabHost>();
  private readonly children: ChildProcess[] = [];
  private readonly bridge: string;
  private destroyed = false;

  /**
   * `lab` is a short tag (letters, digits; at most 3 characters, interface names are 15 at most);
   * `subnet` the first three octets of the lab's /24; `hosts` maps host names to their last octet.
   */
  private constructor(
    private readonly lab: string,
    private readonly subnet: string,
  ) {
    this.bridge = `pw${lab}${process.pid % 100000}`;
  }

  static create(lab: string, subnet: string, hosts: Record<string, number>): NetnsLab {
    sweepStale();
    const l = new NetnsLab(lab, subnet);
    try {
      ip(['link', 'add', l.bridge, 'type', 'bridge']);
      ip(['link', 'set', l.bridge, 'up']);
      let i = 0;
      for (const [name, octet] of Object.entries(hosts)) l.addHost(name, octet, i++);
    } catch (e) {
      l.destroy();
      throw e;
    }
    return l;
  }

  private addHost(name: string, octet: number, index: number): void {
    const netns = `${NAME_PREFIX}${process.pid}-${this.lab}-${name}`;
    const hostSide = `${this.bridge}v${index}`;
    const address = `${this.subnet}.${octet}`;
    ip(['netns', 'add', netns]);
    this.hosts.set(name, { name, address, netns });
    ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    ip(['link', 'set', hostSide, 'master', this.bridge, 'up']);
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  }

  /** The bridge every host is attached to: capture here to see the whole network. */
  get interfaceName(): string {
    return this.bridge;
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name} in lab ${this.lab}`);
    return h;
  }

  address(name: string): string {
    return this.host(name).address;
  }

  /** Starts a long-running program on a host; it is killed by `destroy`. */
  start(host: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.host(host).netns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.push(child);
    return child;
  }

  /** Runs a client on a host to completion (killed after `ms`), with extra environment variables. */
  run(host: string, cmd: string, args: string[], env: Record<string, string> = {}, ms = 15000): Promise<RunResult> {
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', this.host(host).netns, cmd, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      p.stdin.on('error', () => {});
      p.stdin.end();
      const timer = setTimeout(() => p.kill('SIGKILL'), ms);
      p.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /**
   * Records the bridge into `file` until the returned stop is called (tcpdump's report is returned).
   * With `anyInterface`, records as `tcpdump -i any` on a node does instead: every interface of the
   * host, so a packet is recorded once on each one it crosses (the sender's veth, the bridge, the
   * receiver's veth).
   */
  async capture(file: string, opts: { anyInterface?: boolean } = {}): Promise<Capture> {
    const cap = opts.anyInterface
      ? await startCapture(file, ['tcp', 'and', 'net', `${this.subnet}.0/24`], 'any')
      : await startCapture(file, ['tcp'], this.bridge);
    this.children.push(cap.child);
    return cap;
  }

  /** Stops every program started here, then removes the namespaces, their links and the bridge. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              c.kill('SIGKILL');
              resolve();
            }, 3000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    // Deleting a namespace removes its end of each veth pair, and with it the bridge's end.
    for (const h of this.hosts.values()) quietIp(['netns', 'del', h.netns]);
    quietIp(['link', 'del', this.bridge]);
  }
}

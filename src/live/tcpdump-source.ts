import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

/** Bytes of tcpdump's stderr kept for its messages and drop summaries (it says little). */
export const MAX_TCPDUMP_STDERR = 64 * 1024;
/** tcpdump's kernel capture buffer (-B, KiB). */
export const KERNEL_BUFFER_KIB = 16384;
/** How often tcpdump is asked (SIGUSR1) for its packet counts while it runs. */
export const TCPDUMP_STATS_INTERVAL_MS = 2000;

export interface TcpdumpOptions {
  iface: string;
  bpf?: string;
  /** Program to run (tests point it elsewhere; default 'tcpdump'). */
  command?: string;
}

/**
 * tcpdump writing a pcap stream to its stdout (`-w - -U -s 0`), with the kernel drop count taken from
 * the summaries it prints on stderr (on SIGUSR1 while running, and when it exits).
 */
export class TcpdumpSource {
  readonly stdout: Readable;
  /** Packets dropped by the kernel, as tcpdump last reported. */
  kernelDrops = 0;
  /** A clear one-line reason when tcpdump could not start or capture; null while all is well. */
  failure: string | null = null;
  private readonly child: ChildProcessByStdio<null, Readable, Readable>;
  private stderrText = '';
  private listening = false;
  private exited = false;
  private readonly exitPromise: Promise<void>;
  private statsTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TcpdumpOptions) {
    // --immediate-mode: packets come as they arrive. Without it the kernel hands them over in blocks
    // (up to a second late), and the block being filled when tcpdump is stopped is never read: the
    // last moments before Ctrl-C would be lost. -B: a 16 MiB kernel buffer rides out bursts.
    const args = ['-i', opts.iface, '--immediate-mode', '-B', String(KERNEL_BUFFER_KIB), '-w', '-', '-U', '-s', '0', '-n'];
    if (opts.bpf !== undefined && opts.bpf.trim() !== '') args.push(opts.bpf);
    this.child = spawn(opts.command ?? 'tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.stdout = this.child.stdout;
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (e: NodeJS.ErrnoException) => {
        this.failure =
          e.code === 'ENOENT'
            ? 'tcpdump is not installed: install it (apt-get install tcpdump) or pipe a capture in with --stdin'
            : `tcpdump could not be started: ${e.message}`;
        this.exited = true;
        this.stdout.destroy();
        resolve();
      });
      this.child.once('close', () => {
        this.exited = true;
        this.stopStats();
        this.parseStats();
        resolve();
      });
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => this.onStderr(s));
  }

  /** Ends the capture (tcpdump prints its final counts and closes the stream); resolves when it exited. */
  async stop(): Promise<void> {
    if (!this.exited) this.child.kill('SIGTERM');
    await this.exitPromise;
  }

  /** Resolves when tcpdump has exited (by itself or by stop()). */
  get exited$(): Promise<void> {
    return this.exitPromise;
  }

  /** After exit: the reason tcpdump failed, inferred from its stderr when it did not say it cleanly. */
  finalFailure(exitedEarly: boolean): string | null {
    if (this.failure !== null) return this.failure;
    if (!exitedEarly) return null;
    const t = this.stderrText;
    if (/permission|not permitted|EPERM/i.test(t)) {
      return `tcpdump may not capture on ${this.opts.iface}: run as root, or grant it the capability ` +
        `(setcap cap_net_raw,cap_net_admin=eip "$(command -v tcpdump)")`;
    }
    const lines = t.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^\d+ packets? |listening on|verbose output/.test(l));
    // tcpdump's own error line ("tcpdump: eth9: No such device exists") names the cause best.
    const line = lines.find((l) => l.startsWith('tcpdump: ')) ?? lines.pop();
    return line ? `tcpdump failed: ${line.replace(/^tcpdump: /, '')}` : null;
  }

  private onStderr(s: string): void {
    if (this.stderrText.length < MAX_TCPDUMP_STDERR) this.stderrText += s.slice(0, MAX_TCPDUMP_STDERR - this.stderrText.length);
    else this.stderrText = this.stderrText.slice(s.length) + s; // keep the latest: the summaries come last
    this.parseStats();
    // tcpdump installs its SIGUSR1 handler before it says it is listening: only then is the signal safe.
    if (!this.listening && /listening on/.test(this.stderrText)) {
      this.listening = true;
      this.statsTimer = setInterval(() => {
        if (!this.exited) this.child.kill('SIGUSR1');
      }, TCPDUMP_STATS_INTERVAL_MS);
      this.statsTimer.unref();
    }
  }

  private parseStats(): void {
    const re = /(\d+) packets? dropped by kernel/g;
    let m: RegExpExecArray | null;
    let last = -1;
    while ((m = re.exec(this.stderrText)) !== null) last = Number(m[1]);
    if (last >= 0) this.kernelDrops = last;
  }

  private stopStats(): void {
    if (this.statsTimer !== null) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }
}

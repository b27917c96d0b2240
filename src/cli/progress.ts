import { statSync } from 'node:fs';

/**
 * A one-line progress display on a terminal (stderr): percent, packets/s and ETA. Silent when stderr
 * is not a terminal (pipes, CI) or when asked to be quiet. Redraws at most 5 times a second.
 */
export class Progress {
  private last = 0;
  private readonly start = Date.now();
  private size = 0;
  private file = '';
  readonly enabled: boolean;

  constructor(quiet: boolean) {
    this.enabled = !quiet && process.stderr.isTTY === true;
  }

  private begin(file: string): void {
    this.file = file;
    try {
      this.size = file === '-' ? 0 : statSync(file).size;
    } catch {
      this.size = 0;
    }
  }

  update(file: string, bytesRead: number, packets: number): void {
    if (!this.enabled) return;
    if (file !== this.file) this.begin(file);
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = (now - this.start) / 1000;
    const pps = secs > 0 ? packets / secs : 0;
    let line = `${this.file}: ${(bytesRead / 1048576).toFixed(0)} MB, ${formatRate(pps)} packets/s`;
    if (this.size > 0 && bytesRead <= this.size) {
      const frac = bytesRead / this.size;
      const eta = frac > 0 ? (secs / frac) * (1 - frac) : 0;
      const width = 20;
      const filled = Math.round(frac * width);
      line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${line}, ETA ${eta.toFixed(0)} s`;
    }
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(0);
}

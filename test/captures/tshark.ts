/** Helpers for running tshark against the samples (present in CI; optional on dev machines). */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** Decode-as rules for ports tshark does not know as HTTP, and the HTTP/2 preface heuristic for h2c (a port rule would hide TLS on 2379). */
export const DECODE_AS = ['-d', 'tcp.port==10255,http', '-d', 'tcp.port==9100,http', '--enable-heuristic', 'http2_tcp'];

/** Rows of tab-separated fields for the packets matching `filter`. */
export function tsharkFields(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const out = execFileSync('tshark', ['-r', file, ...DECODE_AS, ...extra, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

/** Same as tsharkFields, without blocking: lets several tshark processes run at once. */
export async function tsharkFieldsAsync(file: string, filter: string, fields: string[], extra: string[] = []): Promise<string[][]> {
  const { stdout } = await execFileAsync('tshark', ['-r', file, ...DECODE_AS, ...extra, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

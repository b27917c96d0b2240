/** Certificates for the recordings, made with the openssl command line as an operator would. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

/** `key` as `openssl req -newkey` takes it: an RSA size or an EC curve. */
export type KeySpec = { rsa: number } | { ec: string };

function newKeyArgs(key: KeySpec): string[] {
  return 'rsa' in key ? ['-newkey', `rsa:${key.rsa}`] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key.ec}`];
}

/** A self-signed CA in `dir`/ca.crt and ca.key. */
export function makeCa(dir: string, subject: string, key: KeySpec): void {
  openssl(['req', '-x509', ...newKeyArgs(key), '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '2', '-subj', subject]);
}

/** `dir`/NAME.key and NAME.crt, signed by the CA in `dir`, with `ext` (openssl extension lines). */
export function issue(dir: string, name: string, subject: string, ext: string, key: KeySpec): void {
  const file = (suffix: string) => join(dir, `${name}.${suffix}`);
  writeFileSync(file('ext'), ext);
  openssl(['req', ...newKeyArgs(key), '-nodes', '-keyout', file('key'), '-out', file('csr'), '-subj', subject]);
  openssl(['x509', '-req', '-in', file('csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', file('crt'),
    '-days', '2', '-extfile', file('ext')]);
}

/** planewatch as a user runs it: `planewatch analyze FILE… --json`, the flows it prints. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');

export interface JsonCertificate {
  subject: string;
  issuer: string;
  sha256: string;
}

export interface JsonFlow {
  id: string;
  capture: string;
  transport: string;
  firstTs: number;
  lastTs: number;
  communityId: string;
  /** Packets from the client and from the server, and the TCP/UDP payload bytes they carried. */
  packets: [number, number];
  payloadBytes: [number, number];
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  app: string;
  tls: {
    version: string | null;
    clientVersion: string | null;
    sni: string | null;
    alpn: string[];
    alpnSelected: string | null;
    cipher: string | null;
    cipherId: number | null;
    ja3: string | null;
    ja3Full: string | null;
    ja3s: string | null;
    ja3sFull: string | null;
    ja4: string | null;
    clientCertRequested: boolean | null;
    serverCertificates: JsonCertificate[];
    clientCertificates: JsonCertificate[];
    alerts: { level: string; code: number; description: string; from: 'client' | 'server'; plaintext: boolean }[];
  } | null;
  http: { method: string; path: string; version: string; host: string | null; userAgent: string | null; status: number | null }[] | null;
  ssh: { clientBanner: string | null; serverBanner: string | null; hassh: string | null; hasshAlgorithms: string | null; hasshServer: string | null; hasshServerAlgorithms: string | null } | null;
}

/** Flows of every file, analysed in one run. Exit 3 (a damaged capture) still prints the document. */
export function analyzeJson(files: string[]): Promise<JsonFlow[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'analyze', ...files, '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (stdout.trim().startsWith('{')) resolve((JSON.parse(stdout) as { flows: JsonFlow[] }).flows);
      else reject(new Error(`planewatch analyze failed: ${err?.message ?? ''} ${stderr}`));
    });
  });
}

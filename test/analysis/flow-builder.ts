import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../../src/model/flow-record';
import type { CertificateInfo, HttpRequestRecord, TlsInfo } from '../../src/model/records';
import { emptyTlsInfo } from '../../dissectors/tls/tls-dissector';
import { newHttpRecord } from '../../dissectors/http/http-record';
import { parseK8sPath } from '../../dissectors/http/k8s-path';
import { parseCertificate } from '../../dissectors/x509/parse-certificate';

/** Builds flow records for analysis tests, with real certificates from the TLS fixtures. */

const FIXTURES = join(__dirname, '../dissectors/tls/fixtures');

export function fixtureCert(name: string): CertificateInfo {
  const pem = readFileSync(join(FIXTURES, `${name}.pem`), 'utf8');
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const c = parseCertificate(Buffer.from(b64, 'base64'));
  if (!c) throw new Error(`fixture ${name} did not parse`);
  return c;
}

export function fixturePem(name: string): string {
  return readFileSync(join(FIXTURES, `${name}.pem`), 'utf8');
}

/** A capture time inside every fixture certificate's validity. */
export const T0 = Date.parse(fixtureCert('ca-rsa').notBefore) / 1000 + 86_400;

let n = 0;
export function flow(client: string, server: string, over: Partial<FlowRecord> = {}): FlowRecord {
  const [cip, cport] = client.split(/:(?=\d+$)/);
  const [sip, sport] = server.split(/:(?=\d+$)/);
  n++;
  return {
    id: over.id ?? `t${n}`,
    communityId: '1:test',
    transport: 'tcp',
    ipVersion: 4,
    client: { ip: cip!, port: Number(cport) },
    server: { ip: sip!, port: Number(sport) },
    firstTs: T0 + n,
    lastTs: T0 + n + 1,
    firstFrame: 1,
    lastFrame: 10,
    packets: [5, 5],
    bytes: [500, 500],
    payloadBytes: [300, 300],
    missingBytes: [0, 0],
    history: 'ShADadFf',
    state: 'SF',
    midstream: false,
    endReason: 'fin',
    tunnel: null,
    vlan: 0,
    anomalies: {},
    captureIndex: 1,
    app: 'unknown',
    tls: null,
    http: [],
    ssh: null,
    ...over,
  };
}

export function tls(version: TlsInfo['version'], over: Partial<TlsInfo> = {}): TlsInfo {
  return {
    ...emptyTlsInfo(),
    version,
    established: true,
    appDataRecords: [3, 3],
    appDataBytes: [100, 100],
    ...over,
  };
}

export function req(method: string, path: string, over: Partial<HttpRequestRecord> = {}, port?: number): HttpRequestRecord {
  const r = newHttpRecord(method, path, '1.1', T0, 4);
  r.k8s = parseK8sPath(method, path, port);
  r.status = 200;
  return Object.assign(r, over);
}

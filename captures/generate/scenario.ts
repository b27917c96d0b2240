/** What a scenario gets to work with, and the helpers that turn one connection into packets + truth. */
import { Capture, TcpConnection, type CloseKind } from './capture.js';
import type { Pki } from './pki.js';
import { Prng } from './prng.js';
import type { SshKeys, TlsPair, TlsSetup } from './stacks.js';
import type { TruthConnection, TruthTls } from './truth.js';
import { Wire } from './wire.js';

export class ScenarioContext {
  readonly cap: Capture;
  readonly truth: TruthConnection[] = [];
  readonly connections: TcpConnection[] = [];

  constructor(
    readonly name: string,
    readonly prng: Prng,
    readonly pki: Pki,
    readonly ssh: SshKeys,
    startUs: number,
  ) {
    this.cap = new Capture(prng, startUs);
  }

  /** An ephemeral client port as Linux picks them (32768–60999). */
  port(): number {
    return this.prng.int(32768, 60999);
  }

  /** Run one TCP connection: handshake, `body` drives the stacks over the wire, then close. */
  async tcp(client: string, server: string, body: (wire: Wire) => Promise<void>, close: CloseKind = 'fin', byClient = true): Promise<{ client: string; server: string }> {
    const [sip, sport] = server.split(':');
    const cport = this.port();
    const conn = new TcpConnection(this.cap, client, cport, sip!, Number(sport));
    this.connections.push(conn);
    conn.open();
    const wire = new Wire(conn);
    await body(wire);
    await wire.settle();
    conn.close(close, byClient);
    wire.client.destroy();
    wire.server.destroy();
    this.cap.advance(5_000, 40_000);
    return { client: `${client}:${cport}`, server };
  }
}

export function tlsTruth(pki: Pki, s: TlsSetup, extra: Partial<TruthTls> = {}): TruthTls {
  const leaf = pki.get(s.serverCert).subject;
  const hidden = s.version === '1.3';
  return {
    version: s.version,
    sni: s.sni ?? null,
    alpn: s.alpn ?? [],
    serverSubject: hidden || extra.alert ? (extra.alert ? leaf : null) : leaf,
    actualServerSubject: leaf,
    clientSubject: !hidden && s.clientCert ? pki.get(s.clientCert).subject : null,
    ...(hidden && s.clientCert ? { actualClientSubject: pki.get(s.clientCert).subject } : {}),
    clientCertRequested: s.requestCert ?? false,
    alert: null,
    ...extra,
  };
}

export type { TlsPair };

/**
 * TLS dissector (SSL 3.0 – TLS 1.3) over a reassembled TCP stream.
 *
 * Per direction a record-layer state machine walks 5-byte headers, which may arrive split across
 * chunks. Only plaintext handshake bodies are copied (into a growable buffer capped per message),
 * because handshake messages may span records. Every other body — application data above all — is
 * skipped with a remaining-length counter and never copied, so an established session costs one
 * header read per record.
 *
 * What is visible depends on the version: up to TLS 1.2 the certificates, CertificateRequest and
 * plaintext alerts are on the wire; in TLS 1.3 everything after ServerHello is encrypted, so the
 * fields that would need it stay empty/null rather than being guessed.
 *
 * With the session's secrets in a key log (FlowContext.keyLog) protected records are buffered one at
 * a time and opened (decrypt/): the TLS 1.3 encrypted handshake goes through the same handshake
 * parser, and application data goes to an inner HTTP/1 or HTTP/2 dissector. Without keys nothing of
 * this runs: one boolean test per record body.
 */
import type { Direction } from '../../src/flow/direction';
import { MutableStamp, type PacketStamp } from '../../src/flow/packet-stamp';
import type { CertificateInfo, HttpRequestRecord, TlsAlert, TlsInfo } from '../../src/model/records';
import { ProbeResult, type AnomalySink, type Dissector, type DissectorFactory, type FlowContext, type PlaintextTap } from '../types';
import { cipherSuiteName } from './cipher-suites';
import {
  alertName,
  CT_ALERT,
  CT_APPLICATION_DATA,
  CT_CHANGE_CIPHER_SPEC,
  CT_HANDSHAKE,
  CT_HEARTBEAT,
  EXT_ALPN,
  EXT_ENCRYPT_THEN_MAC,
  HS_CERTIFICATE,
  HS_CERTIFICATE_REQUEST,
  HS_CLIENT_HELLO,
  HS_ENCRYPTED_EXTENSIONS,
  HS_FINISHED,
  HS_KEY_UPDATE,
  HS_SERVER_HELLO,
  HS_SERVER_HELLO_DONE,
  MAX_RECORD_LENGTH,
  TLS10,
  TLS11,
  TLS12,
  versionName,
} from './constants';
import { parseClientHello, parseServerHello, type ServerHello } from './hello-parser';
import { ja3s } from './ja3';
import { ja4Version } from './ja4';
import { clientFingerprints } from './client-fingerprints';
import { parseCertificate } from '../x509/parse-certificate';
import { aeadSuite } from './decrypt/aead-suites';
import { macSuite } from './decrypt/mac-suites';
import { InnerApp } from './decrypt/inner-app';
import { HeldRecords } from './held-records';
import type { KeyLog, SessionSecrets } from './decrypt/key-log';
import { TlsDecryptor } from './decrypt/tls-decryptor';

/** Largest handshake message buffered, other than Certificate. */
export const MAX_HANDSHAKE_BYTES = 64 * 1024;
/** Largest Certificate message buffered (a chain with several large certificates). */
export const MAX_CERTIFICATE_MESSAGE_BYTES = 256 * 1024;
/** Most certificates kept from one Certificate message. */
export const MAX_CHAIN_CERTS = 10;
/** Most alerts kept per connection. */
export const MAX_ALERTS = 32;
/** First size of the handshake buffer; it doubles up to the message cap when a message needs it. */
const INITIAL_HANDSHAKE_BUFFER = 4096;

const EMPTY = new Uint8Array(0);

/**
 * Handshake buffers of the first size, given back when a direction's handshake ends (encryption,
 * a gap, the end) for the next connections: each connection needs one per direction for a moment,
 * and allocating and collecting them cost more than parsing the hellos.
 */
const handshakeBufferPool: Uint8Array[] = [];
const MAX_POOLED_HANDSHAKE_BUFFERS = 64;

function takeHandshakeBuffer(): Uint8Array {
  return handshakeBufferPool.pop() ?? new Uint8Array(INITIAL_HANDSHAKE_BUFFER);
}

const NO_HTTP: HttpRequestRecord[] = [];
/** Bytes of a hello's random (after the 2-byte legacy version). */
const RANDOM_LENGTH = 32;

/** The record-layer and handshake state of one direction. */
class DirectionState {
  /**
   * Header bytes collected so far when a header is split across chunks; made the first time one is
   * (seldom: most connections never split one, and every open connection would carry it).
   */
  header: Uint8Array | null;
  headerLen: number;
  inBody: boolean;
  recordType: number;
  recordLeft: number;
  /** Plaintext handshake bytes not yet parsed into messages. */
  hs: Uint8Array;
  hsLen: number;
  /** Handshake messages of this direction are still parsed (false after encryption, a gap, or a cap). */
  hsActive: boolean;
  encrypted: boolean;
  /** Encryption starts with the next record (after ChangeCipherSpec or a TLS 1.3 ServerHello). */
  encryptPending: boolean;
  /** An encrypted handshake record (Finished, ≤ 1.2) was seen. */
  finished: boolean;
  /** Not parsing this direction any more (not TLS, or lost sync). */
  idle: boolean;
  /** Byte offset inside the current alert record (each alert is two bytes). */
  alertPos: number;
  alertLevel: number;
  /** This direction's protected records are being decrypted (keys found in the key log). */
  decrypting: boolean;
  /** The current record's body goes to the decryptor instead of being skipped. */
  decryptRecord: boolean;

  constructor() {
    this.header = null;
    this.headerLen = 0;
    this.inBody = false;
    this.recordType = 0;
    this.recordLeft = 0;
    this.hs = EMPTY;
    this.hsLen = 0;
    this.hsActive = true;
    this.encrypted = false;
    this.encryptPending = false;
    this.finished = false;
    this.idle = false;
    this.alertPos = 0;
    this.alertLevel = 0;
    this.decrypting = false;
    this.decryptRecord = false;
  }

  releaseHandshake(): void {
    this.hsActive = false;
    // Nothing keeps a view of it: messages are parsed into strings, numbers and copies.
    if (this.hs.length === INITIAL_HANDSHAKE_BUFFER && handshakeBufferPool.length < MAX_POOLED_HANDSHAKE_BUFFERS) {
      handshakeBufferPool.push(this.hs);
    }
    this.hs = EMPTY;
    this.hsLen = 0;
  }
}

export function emptyTlsInfo(): TlsInfo {
  return {
    version: null,
    clientVersion: null,
    sni: null,
    alpn: [],
    alpnSelected: null,
    cipher: null,
    cipherId: null,
    clientCiphers: [],
    clientExtensions: [],
    serverExtensions: [],
    supportedGroups: [],
    signatureAlgorithms: [],
    supportedVersions: [],
    ecPointFormats: [],
    sessionTicket: false,
    psk: false,
    ech: false,
    helloRetryRequest: false,
    resumed: false,
    ja3: null,
    ja3Full: null,
    ja3s: null,
    ja3sFull: null,
    ja4: null,
    serverCertificates: [],
    clientCertificates: [],
    clientCertRequested: null,
    alerts: [],
    established: false,
    encryptedFromFrame: [0, 0],
    appDataRecords: [0, 0],
    appDataBytes: [0, 0],
    clientHelloFrame: 0,
    serverHelloFrame: 0,
    certificateFrame: 0,
    decrypted: false,
  };
}

export class TlsDissector implements Dissector<TlsInfo> {
  readonly id = 'tls' as const;
  private readonly anomaly: AnomalySink;
  private readonly dirs: [DirectionState, DirectionState];
  private readonly info: TlsInfo;
  /** A ClientHello was read (the first one names the client). */
  private clientHelloSeen: boolean;
  /** Its session id (≤ 1.2: a server echoing it resumes the session). */
  private clientSessionId: Uint8Array | null;
  private serverHello: ServerHello | null;
  /** TLS 1.3 negotiated (or a HelloRetryRequest seen): ChangeCipherSpec is then only a compatibility no-op. */
  private tls13: boolean;
  private serverCertificateSeen: boolean;
  /** TLS 1.3: the server sent a record after the client's first encrypted record (its Finished). */
  private serverAfterClient: boolean;
  // Capture time and frame of the bytes being fed, initialised here rather than in the constructor:
  // a number field declared without a value starts undefined and would box every time stored after.
  private frame = 0;
  private ts = 0;
  private readonly keyLog: KeyLog | null;
  private readonly onPlaintext: PlaintextTap | null;
  private readonly serverPort: number;
  /** Kept only when a key log is present: the key log is indexed by it. */
  private clientRandom: Uint8Array | null;
  private decryptor: TlsDecryptor | null;
  /**
   * A key log being followed (live capture) that did not hold the session's secrets at ServerHello:
   * what setting up decryption needs, kept until each side's first protected record, when the key
   * log is read again. Whoever logs has done so by then: in TLS ≤ 1.2 a client before its
   * ChangeCipherSpec and a server before its own; in TLS 1.3 a server before its encrypted
   * handshake and a client before its Finished. A live capture can see the ServerHello first.
   */
  private lateKeys: { cipher: number; serverRandom: Uint8Array } | null;
  /** Protected records per direction that went by before decryption could start. */
  private readonly undecrypted: [number, number];
  /**
   * TLS 1.3, a followed key log: the side's application secret was not logged yet at its Finished
   * (a client logs the server's as it reads that Finished, and its own after sending its own). Its
   * next protected record looks again.
   */
  private readonly appSecretLate: [boolean, boolean];
  /**
   * TLS 1.3 with late secrets: the server's protected records (its encrypted handshake) kept until
   * the client's first protected record, when the client has logged the keys to them. Null when
   * not kept (or no longer: over the cap, or let go).
   */
  private heldServer: HeldRecords | null;
  /** The server's current record is being held. */
  private holding: boolean;
  private inner: InnerApp | null;
  /** Stamp of the decrypted bytes handed to `inner` (made when a connection is first decrypted). */
  private innerStamp: MutableStamp | null;

  constructor(anomaly: AnomalySink, flow?: FlowContext) {
    this.anomaly = anomaly;
    this.dirs = [new DirectionState(), new DirectionState()];
    this.info = emptyTlsInfo();
    this.clientHelloSeen = false;
    this.clientSessionId = null;
    this.serverHello = null;
    this.tls13 = false;
    this.serverCertificateSeen = false;
    this.serverAfterClient = false;
    this.keyLog = flow?.keyLog ?? null;
    this.onPlaintext = flow?.onPlaintext ?? null;
    this.serverPort = flow?.serverPort ?? 0;
    this.clientRandom = null;
    this.decryptor = null;
    this.lateKeys = null;
    this.undecrypted = [0, 0];
    this.appSecretLate = [false, false];
    this.heldServer = null;
    this.holding = false;
    this.inner = null;
    this.innerStamp = null;
  }

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const s = this.dirs[dir];
    if (s.idle) return;
    this.frame = at.frame;
    this.ts = at.ts;
    try {
      this.walk(dir, s, data, start, end);
    } catch {
      // Defensive only: parsing checks every length. Stop this direction rather than throw.
      this.anomaly('dissector.exception');
      s.idle = true;
      s.releaseHandshake();
    }
  }

  private walk(dir: Direction, s: DirectionState, data: Uint8Array, start: number, end: number): void {
    let p = start;
    while (p < end && !s.idle) {
      if (!s.inBody) {
        let type: number;
        let major: number;
        let minor: number;
        let len: number;
        if (s.headerLen === 0 && end - p >= 5) {
          type = data[p];
          major = data[p + 1];
          minor = data[p + 2];
          len = (data[p + 3] << 8) | data[p + 4];
          p += 5;
        } else {
          const h = (s.header ??= new Uint8Array(5));
          while (s.headerLen < 5 && p < end) h[s.headerLen++] = data[p++];
          if (s.headerLen < 5) return;
          type = h[0];
          major = h[1];
          minor = h[2];
          len = (h[3] << 8) | h[4];
          s.headerLen = 0;
        }
        if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT || major !== 3) {
          this.anomaly('tls.bad_record_type');
          this.goIdle(s);
          return;
        }
        if (len > MAX_RECORD_LENGTH) {
          this.anomaly('tls.record_too_long');
          this.goIdle(s);
          return;
        }
        s.recordType = type;
        s.recordLeft = len;
        s.inBody = len > 0;
        s.alertPos = 0;
        this.recordStart(dir, s, type, len);
        if (s.encrypted && !s.decrypting && len > 0) {
          // The first protected record of a side whose secret came late: look again (once per side).
          if (this.lateKeys !== null && this.undecrypted[dir] === 0) this.retryLateKeys(dir);
          if (this.appSecretLate[dir]) this.retryAppSecret(dir);
          if (!s.decrypting) {
            this.undecrypted[dir]++;
            if (dir === 1 && this.heldServer !== null) this.holdServerRecord(type, major, minor, len);
          }
        }
        if (s.decrypting) this.beginProtected(dir, s, type, major, minor, len);
        continue;
      }
      const stop = end - p < s.recordLeft ? end : p + s.recordLeft;
      if (s.decryptRecord) {
        this.decryptor!.append(dir, data, p, stop);
      } else if (s.recordType === CT_HANDSHAKE) {
        if (s.hsActive && !s.encrypted) this.appendHandshake(dir, s, data, p, stop);
      } else if (s.recordType === CT_ALERT && !s.encrypted) {
        for (let i = p; i < stop; i++) this.alertByte(dir, s, data[i]);
      } else if (dir === 1 && this.holding) {
        this.heldServer!.append(data, p, stop);
      }
      s.recordLeft -= stop - p;
      p = stop;
      if (s.recordLeft === 0) {
        s.inBody = false;
        if (dir === 1) this.holding = false;
        if (s.decryptRecord) {
          s.decryptRecord = false;
          this.openProtected(dir, s);
        }
      }
    }
  }

  /**
   * Decides whether a record of a decrypted direction is protected: every record after encryption
   * started in TLS ≤ 1.2; only application_data records in TLS 1.3 (ChangeCipherSpec stays plain).
   */
  private beginProtected(dir: Direction, s: DirectionState, type: number, major: number, minor: number, len: number): void {
    s.decryptRecord = s.encrypted && len > 0 && (type === CT_APPLICATION_DATA || !this.tls13);
    if (s.decryptRecord) this.decryptor!.begin(dir, type, major, minor, len);
  }

  /** A protected record is complete: open it and hand its plaintext to the handshake parser or the inner dissector. */
  private openProtected(dir: Direction, s: DirectionState): void {
    const dec = this.decryptor!;
    const pt = dec.open(dir);
    if (pt === null) {
      this.anomaly('tls.decrypt_failed');
      this.stopDecrypting();
      return;
    }
    this.info.decrypted = true;
    switch (dec.innerType) {
      case CT_HANDSHAKE:
        if (s.hsActive) this.appendHandshake(dir, s, pt, 0, pt.length);
        break;
      case CT_APPLICATION_DATA:
        this.deliverApplication(dir, pt);
        break;
      case CT_ALERT:
        s.alertPos = 0;
        for (let i = 0; i < pt.length; i++) this.alertByte(dir, s, pt[i]!);
        break;
      default:
        break;
    }
  }

  private goIdle(s: DirectionState): void {
    s.idle = true;
    s.inBody = false;
    s.releaseHandshake();
  }

  /** Called once per record header: the whole cost of an application-data record. */
  private recordStart(dir: Direction, s: DirectionState, type: number, len: number): void {
    if (s.encryptPending) {
      s.encryptPending = false;
      this.startEncryption(dir, s);
    }
    const info = this.info;
    switch (type) {
      case CT_APPLICATION_DATA:
        if (!s.encrypted) this.startEncryption(dir, s);
        info.appDataRecords[dir]++;
        info.appDataBytes[dir] += len;
        if (dir === 1 && info.appDataRecords[0] > 0) this.serverAfterClient = true;
        break;
      case CT_HANDSHAKE:
        if (s.encrypted) s.finished = true;
        break;
      case CT_CHANGE_CIPHER_SPEC:
        // In TLS 1.3 ChangeCipherSpec is a middlebox-compatibility no-op (RFC 8446 §5): it can
        // even precede the second ClientHello after a HelloRetryRequest.
        if (!this.tls13 && !s.encrypted) {
          s.encryptPending = true;
          // ≤ 1.2: a server that switches to encryption without sending a Certificate resumed a
          // session (abbreviated handshake, RFC 5246 §7.3).
          if (dir === 1 && this.serverHello !== null && !this.serverCertificateSeen) info.resumed = true;
        }
        break;
      case CT_ALERT:
        // A decrypted alert is reported with its content once opened.
        if (s.encrypted && !s.decrypting && info.alerts.length < MAX_ALERTS) {
          // The record type is visible but its content is not: say so, without a description.
          info.alerts.push({
            level: 'unknown',
            description: 'encrypted',
            code: -1,
            from: dir === 0 ? 'client' : 'server',
            plaintext: false,
            frame: this.frame,
            ts: this.ts,
          });
        }
        break;
      default:
        break;
    }
  }

  private startEncryption(dir: Direction, s: DirectionState): void {
    s.encrypted = true;
    this.info.encryptedFromFrame[dir] = this.frame;
    s.releaseHandshake();
    // Decrypted handshake messages are parsed again from a fresh buffer.
    if (s.decrypting) s.hsActive = true;
  }

  /** Decrypted application data: to the inner HTTP dissector (chosen by ALPN or the first bytes). */
  private deliverApplication(dir: Direction, pt: Uint8Array): void {
    if (pt.length === 0) return;
    if (this.onPlaintext !== null) this.onPlaintext(dir, pt, this.ts, this.frame);
    this.inner ??= new InnerApp(this.anomaly, this.info.alpnSelected, this.serverPort);
    this.inner.feed(dir, pt, 0, pt.length, (this.innerStamp ??= new MutableStamp()).set(this.ts, this.frame));
  }

  /** No more decryption on this connection (a record failed, or keys for the next phase are missing). */
  private stopDecrypting(): void {
    for (let d = 0; d < 2; d++) this.stopDirection(d as Direction);
  }

  private stopDirection(dir: Direction): void {
    const s = this.dirs[dir];
    if (!s.decrypting) return;
    s.decrypting = false;
    s.decryptRecord = false;
    if (s.encrypted) s.releaseHandshake();
    this.decryptor?.release(dir);
  }

  /**
   * At ServerHello: if the key log holds this session's secrets and the suite is an AEAD one (or a
   * CBC or NULL one of TLS 1.0 to 1.2), protected records of both directions will be decrypted.
   */
  private setupDecryption(tls13: boolean, cipher: number, b: Uint8Array, start: number, end: number): void {
    if (this.keyLog === null || this.clientRandom === null || end - start < 2 + RANDOM_LENGTH) return;
    const secrets = this.keyLog.lookup(this.clientRandom);
    const serverRandom = b.slice(start + 2, start + 2 + RANDOM_LENGTH);
    if (secrets !== null) this.startDecryption(tls13, cipher, secrets, serverRandom);
    // Missing, or only some of them so far (OpenSSL logs a TLS 1.3 client's handshake secret after
    // the server's): a followed key log is asked again later.
    if (this.decryptor === null && this.keyLog.follow !== null && this.decryptable(tls13, cipher)) {
      this.lateKeys = { cipher, serverRandom };
      if (tls13) this.heldServer = new HeldRecords(this.keyLog.holdBudget);
    }
  }

  /** Keeps the server's protected record that starts now (or lets every held one go, past the cap). */
  private holdServerRecord(type: number, major: number, minor: number, len: number): void {
    this.holding = this.heldServer!.begin(type, major, minor, len, this.frame, this.ts);
    if (!this.holding) this.dropHeld();
  }

  /** Lets the held server records go (no longer needed, or no longer complete). */
  private dropHeld(): void {
    this.heldServer?.release();
    this.heldServer = null;
    this.holding = false;
  }

  /** A suite this dissector decrypts: AEAD, or CBC/NULL with an HMAC in TLS 1.0 to 1.2. */
  private decryptable(tls13: boolean, cipher: number): boolean {
    if (aeadSuite(cipher, tls13) !== null) return true;
    return !tls13 && this.macSuiteVersion() && macSuite(cipher) !== null;
  }

  /** The ServerHello chose TLS 1.0, 1.1 or 1.2 (whose HMAC suites are decrypted; SSL 3.0's MAC differs). */
  private macSuiteVersion(): boolean {
    const v = this.serverHello?.legacyVersion ?? 0;
    return v === TLS10 || v === TLS11 || v === TLS12;
  }

  /** Looks for late secrets again at the first protected record of `dir`, reading the followed key log now. */
  private retryLateKeys(dir: Direction): void {
    const late = this.lateKeys!;
    const keyLog = this.keyLog!;
    keyLog.refresh(true);
    const secrets = keyLog.lookup(this.clientRandom!);
    if (secrets !== null) {
      if (this.tls13) this.lateTls13(dir, late, secrets);
      else this.lateTls12(late, secrets);
    }
    // Found, or both sides protect their records already: the secrets were not logged in time.
    if (this.decryptor !== null || (this.dirs[0].encrypted && this.dirs[1].encrypted)) {
      this.lateKeys = null;
      this.dropHeld();
    }
  }

  /** TLS ≤ 1.2: decryption starts here; records that went by unopened still counted in their side's sequence numbers. */
  private lateTls12(late: { cipher: number; serverRandom: Uint8Array }, secrets: SessionSecrets): void {
    this.startDecryption(false, late.cipher, secrets, late.serverRandom);
    const dec = this.decryptor;
    if (dec === null) return;
    for (let d = 0; d < 2; d++) {
      if (!dec.skipRecords(d as Direction, this.undecrypted[d]!)) {
        this.stopDirection(d as Direction);
        continue;
      }
      const s = this.dirs[d]!;
      if (s.encrypted) s.hsActive = true;
    }
  }

  /**
   * TLS 1.3 secrets found at the first protected record of `dir`. Before the server's: decrypted
   * from the start. Before the client's (its Finished): the server's encrypted handshake went by
   * unopened. Its records were held: they are opened now, in order, from the server's handshake
   * secret, and its certificate is read. Not held (over the cap, or a record still arriving): the
   * server side starts at its application secret and its certificate stays unseen. The client side
   * starts at its handshake secret, as this record needs.
   */
  private lateTls13(dir: Direction, late: { cipher: number; serverRandom: Uint8Array }, secrets: SessionSecrets): void {
    this.startDecryption(true, late.cipher, secrets, late.serverRandom);
    const dec = this.decryptor;
    if (dec === null) return;
    // The side whose record this is began protecting it before it could be decrypted: its
    // handshake messages are parsed from here on.
    this.dirs[dir].hsActive = true;
    if (dir === 1 || this.undecrypted[1] === 0) return;
    const client = this.dirs[0];
    client.decrypting = true;
    const held = this.heldServer;
    if (held !== null && !this.holding && held.complete && held.records.length === this.undecrypted[1]) {
      this.openHeldServerRecords(held);
      return;
    }
    if (!dec.toApplication(1)) this.stopDirection(1);
    else this.dirs[1].hsActive = true;
  }

  /** Opens the server's held records as if they arrived now, each with its own frame and time. */
  private openHeldServerRecords(held: HeldRecords): void {
    const dec = this.decryptor!;
    const server = this.dirs[1];
    server.decrypting = true;
    server.hsActive = true;
    const frame = this.frame;
    const ts = this.ts;
    for (const r of held.records) {
      if (!server.decrypting) break; // a record failed to open: decryption stopped
      if (r.type !== CT_APPLICATION_DATA) continue; // TLS 1.3 protects application_data records only
      this.frame = r.frame;
      this.ts = r.ts;
      dec.begin(1, r.type, r.major, r.minor, r.length);
      dec.append(1, held.bytes, r.start, r.start + r.length);
      this.openProtected(1, server);
    }
    this.frame = frame;
    this.ts = ts;
  }

  private startDecryption(tls13: boolean, cipher: number, secrets: SessionSecrets, serverRandom: Uint8Array): void {
    const clientRandom = this.clientRandom!;
    const suite = aeadSuite(cipher, tls13);
    let dec: TlsDecryptor | null = null;
    if (suite !== null) dec = TlsDecryptor.create(suite, secrets, clientRandom, serverRandom);
    else if (!tls13 && this.serverHello !== null && this.macSuiteVersion()) {
      // CBC and NULL suites of TLS 1.0 to 1.2 (RC4 is not decrypted: node's OpenSSL lacks it).
      const mac = macSuite(cipher);
      const etm = this.serverHello.extensions.includes(EXT_ENCRYPT_THEN_MAC);
      if (mac !== null) dec = TlsDecryptor.createMac(mac, this.serverHello.legacyVersion, secrets, clientRandom, serverRandom, etm);
    }
    if (dec === null) return;
    this.decryptor = dec;
    this.dirs[1].decrypting = true;
    // TLS 1.3 0-RTT data already went by under the early traffic secret, which is not used: the
    // client side is left alone rather than opened with the wrong keys.
    this.dirs[0].decrypting = !(tls13 && this.dirs[0].encrypted);
  }

  /** TLS 1.3 decrypted: Finished ends a side's handshake keys; KeyUpdate advances its application keys. */
  private tls13KeyChange(dir: Direction, type: number): void {
    const dec = this.decryptor;
    if (dec === null || !this.tls13 || !this.dirs[dir].decrypting) return;
    // A key log followed during a live capture may receive the secret only now.
    if (type === HS_FINISHED && !dec.hasApplicationSecret(dir)) this.keyLog?.refresh(true);
    const ok = type === HS_FINISHED ? dec.toApplication(dir) : dec.keyUpdate(dir);
    if (ok) return;
    if (type === HS_FINISHED && this.keyLog?.follow != null) {
      // Not logged yet: the side's next record asks again (nothing of it is opened meanwhile).
      this.appSecretLate[dir] = true;
      const s = this.dirs[dir];
      s.decrypting = false;
      s.decryptRecord = false;
      return;
    }
    // Secrets of the next phase not logged: quietly stop this side (not a wrong key).
    this.stopDirection(dir);
  }

  /** The application secret a side lacked at its Finished, looked for again at its next record. */
  private retryAppSecret(dir: Direction): void {
    this.appSecretLate[dir] = false;
    const dec = this.decryptor;
    this.keyLog?.refresh(true);
    const s = this.dirs[dir];
    if (dec !== null && dec.toApplication(dir)) {
      s.decrypting = true;
      return;
    }
    // Still not logged: this side stays unread (as stopDirection leaves it).
    if (s.encrypted) s.releaseHandshake();
    dec?.release(dir);
  }

  private alertByte(dir: Direction, s: DirectionState, v: number): void {
    if ((s.alertPos++ & 1) === 0) {
      s.alertLevel = v;
      return;
    }
    const alerts = this.info.alerts;
    if (alerts.length >= MAX_ALERTS) return;
    const alert: TlsAlert = {
      level: s.alertLevel === 1 ? 'warning' : s.alertLevel === 2 ? 'fatal' : 'unknown',
      description: alertName(v),
      code: v,
      from: dir === 0 ? 'client' : 'server',
      plaintext: true,
      frame: this.frame,
      ts: this.ts,
    };
    alerts.push(alert);
  }

  private appendHandshake(dir: Direction, s: DirectionState, data: Uint8Array, p: number, stop: number): void {
    while (p < stop && s.hsActive) {
      const need = this.bufferLimit(s);
      if (need < 0) return;
      if (s.hs.length < need) {
        const size = Math.min(need, Math.max(INITIAL_HANDSHAKE_BUFFER, s.hs.length * 2, s.hsLen + (stop - p)));
        // Up to the first size, always that size, from the pool; beyond, exactly what is needed.
        const grown = size <= INITIAL_HANDSHAKE_BUFFER ? takeHandshakeBuffer() : new Uint8Array(size);
        grown.set(s.hs.subarray(0, s.hsLen));
        s.hs = grown;
      }
      const n = Math.min(stop - p, s.hs.length - s.hsLen);
      s.hs.set(data.subarray(p, p + n), s.hsLen);
      s.hsLen += n;
      p += n;
      this.parseMessages(dir, s);
    }
  }

  /**
   * How large the buffer may grow for the message at its front: the message cap (by type, once the
   * type byte is known). -1 when the message is over the cap (already reported; parsing stopped).
   */
  private bufferLimit(s: DirectionState): number {
    if (s.hsLen < 4) return s.hs.length > 0 ? s.hs.length : INITIAL_HANDSHAKE_BUFFER;
    const len = (s.hs[1] << 16) | (s.hs[2] << 8) | s.hs[3];
    const cap = s.hs[0] === HS_CERTIFICATE ? MAX_CERTIFICATE_MESSAGE_BYTES : MAX_HANDSHAKE_BYTES;
    if (len > cap) {
      this.anomaly('tls.handshake_too_long');
      s.releaseHandshake();
      return -1;
    }
    return 4 + len;
  }

  private parseMessages(dir: Direction, s: DirectionState): void {
    let off = 0;
    while (s.hsActive && s.hsLen - off >= 4) {
      const hs = s.hs;
      const type = hs[off];
      const len = (hs[off + 1] << 16) | (hs[off + 2] << 8) | hs[off + 3];
      if (s.hsLen - off < 4 + len) break;
      this.handshakeMessage(dir, s, type, hs, off + 4, off + 4 + len);
      off += 4 + len;
    }
    if (!s.hsActive) return;
    if (off > 0) {
      s.hs.copyWithin(0, off, s.hsLen);
      s.hsLen -= off;
    }
    // The next message's header may now be complete: check its size against the cap.
    if (s.hsLen >= 4) this.bufferLimit(s);
  }

  private handshakeMessage(dir: Direction, s: DirectionState, type: number, b: Uint8Array, start: number, end: number): void {
    const info = this.info;
    if (dir === 0) {
      if (type === HS_CLIENT_HELLO) this.onClientHello(b, start, end);
      else if (type === HS_CERTIFICATE) this.readCertificates(b, start, end, info.clientCertificates);
      else if (type === HS_FINISHED || type === HS_KEY_UPDATE) this.tls13KeyChange(dir, type);
      return;
    }
    switch (type) {
      case HS_SERVER_HELLO:
        this.onServerHello(s, b, start, end);
        break;
      case HS_CERTIFICATE:
        this.serverCertificateSeen = true;
        info.resumed = false;
        info.certificateFrame = this.frame;
        this.readCertificates(b, start, end, info.serverCertificates);
        break;
      case HS_CERTIFICATE_REQUEST:
        info.clientCertRequested = true;
        break;
      case HS_SERVER_HELLO_DONE:
        if (info.clientCertRequested !== true) info.clientCertRequested = false;
        break;
      case HS_FINISHED:
        // TLS 1.3 decrypted: a CertificateRequest would have come before the server's Finished.
        if (this.tls13 && s.decrypting && info.clientCertRequested !== true) info.clientCertRequested = false;
        this.tls13KeyChange(dir, type);
        break;
      case HS_KEY_UPDATE:
        this.tls13KeyChange(dir, type);
        break;
      case HS_ENCRYPTED_EXTENSIONS:
        this.onEncryptedExtensions(b, start, end);
        break;
      default:
        break;
    }
  }

  private onClientHello(b: Uint8Array, start: number, end: number): void {
    // After a HelloRetryRequest the client sends a second ClientHello: the first one names the
    // client (fingerprints and offers); the second only adjusts key shares.
    if (this.clientHelloSeen) return;
    const ch = parseClientHello(b, start, end);
    if (ch === null) {
      this.anomaly('tls.malformed_client_hello');
      return;
    }
    this.clientHelloSeen = true;
    this.clientSessionId = ch.sessionId;
    if (this.keyLog !== null && end - start >= 2 + RANDOM_LENGTH) this.clientRandom = b.slice(start + 2, start + 2 + RANDOM_LENGTH);
    const info = this.info;
    info.clientHelloFrame = this.frame;
    info.clientVersion = versionName(ja4Version(ch));
    if (info.version === null) info.version = info.clientVersion;
    info.sni = ch.sni;
    info.alpn = ch.alpn;
    info.sessionTicket = ch.ticketPresented;
    info.psk = ch.psk;
    info.ech = ch.ech;
    // The lists come from the fingerprint memo (equal to the hello's): the parsed hello dies young.
    const fp = clientFingerprints(ch);
    info.clientCiphers = fp.ciphers;
    info.clientExtensions = fp.extensions;
    info.supportedGroups = fp.groups;
    info.signatureAlgorithms = fp.sigAlgs;
    info.supportedVersions = fp.versions;
    info.ecPointFormats = fp.pointFormats;
    info.ja3 = fp.ja3;
    info.ja3Full = fp.ja3Full;
    info.ja4 = fp.ja4;
  }

  private onServerHello(s: DirectionState, b: Uint8Array, start: number, end: number): void {
    const sh = parseServerHello(b, start, end);
    if (sh === null) {
      this.anomaly('tls.malformed_server_hello');
      return;
    }
    this.serverHello = sh;
    const info = this.info;
    info.serverHelloFrame = this.frame;
    const negotiated = sh.selectedVersion !== 0 ? sh.selectedVersion : sh.legacyVersion;
    info.version = versionName(negotiated) ?? info.version;
    info.cipherId = sh.cipher;
    info.cipher = cipherSuiteName(sh.cipher);
    info.serverExtensions = sh.extensions;
    info.alpnSelected = sh.alpn;
    const j3s = ja3s(sh);
    info.ja3s = j3s.hash;
    info.ja3sFull = j3s.full;
    if (sh.helloRetryRequest) {
      info.helloRetryRequest = true;
      this.tls13 = true;
      return;
    }
    if (negotiated === 0x0304) {
      this.tls13 = true;
      // Everything the server sends after ServerHello is encrypted (RFC 8446 §2): CertificateRequest
      // and Certificate cannot be seen, so "requested" is unknown, not false.
      info.clientCertRequested = null;
      info.resumed = sh.pskSelected;
      s.encryptPending = true;
      s.releaseHandshake();
      this.setupDecryption(true, sh.cipher, b, start, end);
      return;
    }
    this.setupDecryption(false, sh.cipher, b, start, end);
    // ≤ 1.2: an echoed non-empty session id means resumption (confirmed by the missing Certificate).
    const sid = this.clientSessionId;
    info.resumed = sid !== null && sh.sessionId.length > 0 && sameBytes(sh.sessionId, sid);
  }

  /** TLS 1.3 (decrypted): the server's ALPN choice travels in EncryptedExtensions (RFC 8446 §4.3.1). */
  private onEncryptedExtensions(b: Uint8Array, start: number, end: number): void {
    if (end - start < 2) return;
    const stop = Math.min(end, start + 2 + ((b[start] << 8) | b[start + 1]));
    for (let p = start + 2; p + 4 <= stop; ) {
      const type = (b[p] << 8) | b[p + 1];
      const len = (b[p + 2] << 8) | b[p + 3];
      p += 4;
      if (p + len > stop) return;
      // protocol_name_list<2..2^16-1> holding exactly one ProtocolName<1..255>.
      if (type === EXT_ALPN && len >= 3 && b[p + 2] > 0 && 3 + b[p + 2] <= len) {
        this.info.alpnSelected = String.fromCharCode(...b.subarray(p + 3, p + 3 + b[p + 2]));
      }
      p += len;
    }
  }

  /**
   * Certificate message → certificates. TLS 1.3 (RFC 8446 §4.4.2) prefixes a request context and
   * follows each certificate with its extensions.
   */
  private readCertificates(b: Uint8Array, start: number, end: number, out: CertificateInfo[]): void {
    const tls13 = this.tls13;
    if (tls13 && end > start) start += 1 + b[start];
    if (end - start < 3) {
      this.anomaly('tls.malformed_certificate');
      return;
    }
    const listEnd = start + 3 + ((b[start] << 16) | (b[start + 1] << 8) | b[start + 2]);
    if (listEnd > end) {
      this.anomaly('tls.malformed_certificate');
      return;
    }
    out.length = 0;
    for (let p = start + 3; p < listEnd; ) {
      if (p + 3 > listEnd) {
        this.anomaly('tls.malformed_certificate');
        return;
      }
      const len = (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
      p += 3;
      if (p + len > listEnd) {
        this.anomaly('tls.malformed_certificate');
        return;
      }
      if (out.length < MAX_CHAIN_CERTS) {
        const cert = parseCertificate(b.subarray(p, p + len));
        if (cert === null) this.anomaly('tls.malformed_certificate');
        else out.push(cert);
      }
      p += len;
      if (tls13) {
        if (p + 2 > listEnd) {
          this.anomaly('tls.malformed_certificate');
          return;
        }
        p += 2 + ((b[p] << 8) | b[p + 1]);
      }
    }
  }

  gap(dir: Direction, bytes: number): void {
    const s = this.dirs[dir];
    // A held record with a hole could not be opened.
    if (dir === 1) this.dropHeld();
    if (s.idle) return;
    if (s.decrypting) {
      // A record with a hole cannot be authenticated; stop decrypting this side.
      this.stopDirection(dir);
      this.inner?.gap(dir, bytes);
    }
    if (s.hsActive && !s.encrypted) {
      this.anomaly('tls.gap_in_handshake');
      s.releaseHandshake();
    }
    // The one trivial resync: the hole lies inside the current record's body, so the next header
    // is still where the length says.
    if (s.inBody && bytes < s.recordLeft) {
      s.recordLeft -= bytes;
      return;
    }
    if (s.inBody && bytes === s.recordLeft) {
      s.recordLeft = 0;
      s.inBody = false;
      return;
    }
    this.goIdle(s);
  }

  end(dir: Direction): void {
    // Nothing is pending: records are counted when their header is read. Free the buffers.
    this.dropHeld();
    this.dirs[dir].releaseHandshake();
    this.stopDirection(dir);
    this.inner?.end(dir);
  }

  /** HTTP requests recovered from decrypted application data (empty without a key log). */
  decryptedHttp(): HttpRequestRecord[] {
    return this.inner === null ? NO_HTTP : this.inner.result();
  }

  result(): TlsInfo {
    const info = this.info;
    const c = this.dirs[0];
    const sv = this.dirs[1];
    info.established = this.tls13
      ? this.serverAfterClient
      : (c.finished && sv.finished) || (info.appDataRecords[0] > 0 && info.appDataRecords[1] > 0);
    return info;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Record type handshake (0x16), version 3.0–3.4, a plausible length and, when visible, a hello
 * message type. Bounded to the first six bytes.
 */
export function probeTls(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
  const n = end - start;
  if (n < 1) return ProbeResult.NEED_MORE;
  if (data[start] !== CT_HANDSHAKE) return ProbeResult.NO_MATCH;
  if (n >= 2 && data[start + 1] !== 3) return ProbeResult.NO_MATCH;
  if (n >= 3 && data[start + 2] > 4) return ProbeResult.NO_MATCH;
  if (n < 5) return ProbeResult.NEED_MORE;
  const len = (data[start + 3] << 8) | data[start + 4];
  if (len < 4 || len > MAX_RECORD_LENGTH) return ProbeResult.NO_MATCH;
  if (n >= 6) {
    const t = data[start + 5];
    // A client opens with ClientHello; a server's first flight starts with ServerHello. Either is
    // accepted in both directions because midstream pickup may have guessed the roles wrong.
    if (t !== HS_CLIENT_HELLO && t !== HS_SERVER_HELLO) return ProbeResult.NO_MATCH;
  }
  void dir;
  return ProbeResult.MATCH;
}

export const tlsFactory: DissectorFactory<TlsInfo> = {
  id: 'tls',
  probe: probeTls,
  create: (anomaly: AnomalySink, flow?: FlowContext) => new TlsDissector(anomaly, flow),
};

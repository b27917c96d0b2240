// bench/capture-cache.ts
import { existsSync as existsSync2, mkdirSync as mkdirSync2, statSync } from "node:fs";
import { dirname, join as join2 } from "node:path";
import { fileURLToPath } from "node:url";

// src/export/byte-sink.ts
import { writeSync, openSync, closeSync } from "node:fs";
var FdSink = class _FdSink {
  fd;
  ownsFd;
  constructor(fd, ownsFd = false) {
    this.fd = fd;
    this.ownsFd = ownsFd;
  }
  static open(path) {
    return new _FdSink(openSync(path, "w"), true);
  }
  write(bytes) {
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }
  close() {
    if (this.ownsFd) closeSync(this.fd);
  }
};

// src/export/chunk-buffer.ts
var MAX_CHUNK_BYTES = 4 * 1024 * 1024;
var ChunkBuffer = class {
  buf;
  view;
  pos = 0;
  /** Total bytes written through this buffer (flushed or pending). */
  written = 0;
  sink;
  constructor(sink, size2 = MAX_CHUNK_BYTES) {
    this.sink = sink;
    this.buf = Buffer.allocUnsafe(size2);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  /** Make sure `n` contiguous bytes are free; flushes first when needed. Returns false if n > capacity. */
  reserve(n) {
    if (this.pos + n <= this.buf.length) return true;
    this.flush();
    return n <= this.buf.length;
  }
  /** Append bytes that may be larger than the buffer (written straight through). */
  put(bytes) {
    if (this.reserve(bytes.length)) {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    } else {
      this.sink.write(bytes);
    }
    this.written += bytes.length;
  }
  /** Account for `n` bytes written directly into `buf` at `pos` by the caller. */
  advance(n) {
    this.pos += n;
    this.written += n;
  }
  flush() {
    if (this.pos > 0) {
      this.sink.write(this.buf.subarray(0, this.pos));
      this.pos = 0;
    }
  }
  close() {
    this.flush();
    this.sink.close();
  }
};

// src/export/pcap-writer.ts
var MAX_PCAP_SNAPLEN = 262144;
var PCAP_RECORD_HEADER = 16;
var PcapWriter = class {
  out;
  snaplen;
  /** Number of records written. */
  packets = 0;
  constructor(sink, linkType, snaplen = MAX_PCAP_SNAPLEN) {
    this.out = new ChunkBuffer(sink);
    this.snaplen = Math.min(snaplen, MAX_PCAP_SNAPLEN);
    const o = this.out;
    o.reserve(24);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, 2712847316, true);
    v.setUint16(p + 4, 2, true);
    v.setUint16(p + 6, 4, true);
    v.setInt32(p + 8, 0, true);
    v.setUint32(p + 12, 0, true);
    v.setUint32(p + 16, this.snaplen, true);
    v.setUint32(p + 20, linkType >>> 0, true);
    o.advance(24);
  }
  /** Total bytes produced so far (header included). */
  get bytesWritten() {
    return this.out.written;
  }
  /**
   * Append one record. `data` is copied at once; `origLen` defaults to data.length.
   * `tsUsec` must be 0..999999.
   */
  writePacket(tsSec, tsUsec, data, origLen = data.length) {
    const cap = data.length > this.snaplen ? this.snaplen : data.length;
    const o = this.out;
    this.writeRecordHeader(tsSec, tsUsec, cap, origLen);
    if (o.reserve(cap)) {
      o.buf.set(cap === data.length ? data : data.subarray(0, cap), o.pos);
      o.advance(cap);
    } else {
      o.put(data.subarray(0, cap));
    }
    this.packets++;
  }
  /**
   * Reserve room for a record of `len` bytes and return the offset in `buffer` where the caller
   * writes the frame itself (zero-copy path for generators). Call `commitPacket()` afterwards.
   */
  beginPacket(tsSec, tsUsec, len) {
    const o = this.out;
    o.reserve(PCAP_RECORD_HEADER + len);
    this.writeRecordHeader(tsSec, tsUsec, len, len);
    return o.pos;
  }
  commitPacket(len) {
    this.out.advance(len);
    this.packets++;
  }
  /** The chunk buffer `beginPacket` offsets point into. */
  get buffer() {
    return this.out.buf;
  }
  flush() {
    this.out.flush();
  }
  close() {
    this.out.close();
  }
  writeRecordHeader(tsSec, tsUsec, capLen, origLen) {
    const o = this.out;
    o.reserve(PCAP_RECORD_HEADER);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, tsSec >>> 0, true);
    v.setUint32(p + 4, tsUsec >>> 0, true);
    v.setUint32(p + 8, capLen, true);
    v.setUint32(p + 12, origLen, true);
    o.advance(PCAP_RECORD_HEADER);
  }
};

// captures/generate/ip-packet.ts
var TCP_FIN = 1;
var TCP_SYN = 2;
var TCP_RST = 4;
var TCP_PSH = 8;
var TCP_ACK = 16;
function ipv4ToBytes(ip) {
  const parts = ip.split(".").map((p) => Number(p));
  return Buffer.from(parts);
}
function onesSum(buf, start, end, initial = 0) {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += buf[i] << 8 | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  return sum;
}
function foldChecksum(sum) {
  while (sum > 65535) sum = (sum & 65535) + Math.floor(sum / 65536);
  return ~sum & 65535;
}
function buildIpv4(src, dst, protocol, ipId, ttl, l4) {
  const ip = Buffer.alloc(20 + l4.length);
  ip[0] = 69;
  ip.writeUInt16BE(ip.length, 2);
  ip.writeUInt16BE(ipId & 65535, 4);
  ip.writeUInt16BE(16384, 6);
  ip[8] = ttl;
  ip[9] = protocol;
  ipv4ToBytes(src).copy(ip, 12);
  ipv4ToBytes(dst).copy(ip, 16);
  ip.writeUInt16BE(foldChecksum(onesSum(ip, 0, 20)), 10);
  l4.copy(ip, 20);
  const pseudo = onesSum(ip, 12, 20) + protocol + l4.length;
  const ckOff = protocol === 6 ? 16 : 6;
  let ck = foldChecksum(onesSum(ip, 20, ip.length, pseudo));
  if (protocol === 17 && ck === 0) ck = 65535;
  ip.writeUInt16BE(ck, 20 + ckOff);
  return ip;
}
function buildTcp(f) {
  const opts = f.options ?? Buffer.alloc(0);
  const payload = f.payload ?? new Uint8Array(0);
  const tcp = Buffer.alloc(20 + opts.length + payload.length);
  tcp.writeUInt16BE(f.sport, 0);
  tcp.writeUInt16BE(f.dport, 2);
  tcp.writeUInt32BE(f.seq >>> 0, 4);
  tcp.writeUInt32BE(f.flags & TCP_ACK ? f.ack >>> 0 : 0, 8);
  tcp[12] = (20 + opts.length) / 4 << 4;
  tcp[13] = f.flags;
  tcp.writeUInt16BE(f.window, 14);
  opts.copy(tcp, 20);
  tcp.set(payload, 20 + opts.length);
  return buildIpv4(f.src, f.dst, 6, f.ipId, f.ttl ?? 64, tcp);
}
function buildUdp(src, dst, sport, dport, ipId, payload) {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  udp.set(payload, 8);
  return buildIpv4(src, dst, 17, ipId, 64, udp);
}
function synOptions(mss, tsVal, tsEcr) {
  const o = Buffer.alloc(20);
  o[0] = 2;
  o[1] = 4;
  o.writeUInt16BE(mss, 2);
  o[4] = 4;
  o[5] = 2;
  o[6] = 8;
  o[7] = 10;
  o.writeUInt32BE(tsVal >>> 0, 8);
  o.writeUInt32BE(tsEcr >>> 0, 12);
  o[16] = 1;
  o[17] = 3;
  o[18] = 3;
  o[19] = 7;
  return o;
}
function tsOptions(tsVal, tsEcr) {
  const o = Buffer.alloc(12);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  o.writeUInt32BE(tsVal >>> 0, 4);
  o.writeUInt32BE(tsEcr >>> 0, 8);
  return o;
}

// captures/generate/link-encap.ts
var LINKTYPE_ETHERNET = 1;
var GATEWAY_MAC = Buffer.from([2, 66, 10, 0, 0, 1]);

// captures/generate/pki.ts
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import forge from "node-forge";

// captures/generate/cluster.ts
var CLUSTER = {
  cp: { name: "cp-1", ip: "10.0.0.10" },
  workers: [
    { name: "worker-1", ip: "10.0.0.21" },
    { name: "worker-2", ip: "10.0.0.22" },
    { name: "worker-3", ip: "10.0.0.23" }
  ],
  /** etcd members: stacked on cp-1 plus two etcd-only nodes (registered, as RKE-style clusters do). */
  etcd: [
    { name: "cp-1", ip: "10.0.0.10" },
    { name: "etcd-2", ip: "10.0.0.11" },
    { name: "etcd-3", ip: "10.0.0.12" }
  ],
  apiServerVip: "10.96.0.1",
  coreDns: "10.96.0.10",
  podCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  nodeCidr: "10.0.0.0/24",
  /** Outside every cluster network: a node client dialling in from the internet. */
  outsider: "203.0.113.7",
  internetHost: "93.184.215.14",
  k8sVersion: "v1.31.2",
  gitCommit: "5864a4677267e6adeae276ad85882a8714d69d9d"
};
var kubeletUA = `kubelet/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;
var apiserverUA = `kube-apiserver/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;
var componentUA = (c) => `${c}/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;

// captures/generate/pki.ts
var { asn1 } = forge;
var CAPTURE_START_MS = Date.UTC(2026, 2, 2, 10, 0, 0);
var KUBELET_SELF_SIGNED_AT = 1756684800;
var day = 864e5;
var ISSUED = new Date(Date.UTC(2025, 8, 1));
var ONE_YEAR = new Date(Date.UTC(2026, 8, 1));
var TEN_YEARS = new Date(Date.UTC(2035, 7, 30));
var K = KUBELET_SELF_SIGNED_AT;
var apiSans = ["cp-1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];
var CERT_SPECS = [
  { name: "ca", subject: [["CN", "kubernetes"]], issuer: "self", key: "rsa2048", usage: "ca", notAfter: TEN_YEARS },
  {
    name: "apiserver",
    subject: [["CN", "kube-apiserver"]],
    issuer: "ca",
    key: "rsa2048",
    usage: "server",
    dns: apiSans,
    ips: ["10.96.0.1", CLUSTER.cp.ip]
  },
  { name: "apiserver-kubelet-client", subject: [["O", "kubeadm:cluster-admins"], ["CN", "kube-apiserver-kubelet-client"]], issuer: "ca", key: "rsa2048", usage: "client" },
  { name: "scheduler", subject: [["CN", "system:kube-scheduler"]], issuer: "ca", key: "rsa2048", usage: "client" },
  { name: "controller-manager", subject: [["CN", "system:kube-controller-manager"]], issuer: "ca", key: "rsa2048", usage: "client" },
  { name: "konnectivity-server", subject: [["CN", "konnectivity-server"]], issuer: "ca", key: "rsa2048", usage: "server", dns: ["cp-1", "konnectivity-server"], ips: [CLUSTER.cp.ip] },
  { name: "konnectivity-agent", subject: [["CN", "system:konnectivity-agent"]], issuer: "ca", key: "rsa2048", usage: "client" },
  // Node client certificates (kubelet → API server).
  ...[1, 2, 3].map((i) => ({ name: `node-worker-${i}`, subject: [["O", "system:nodes"], ["CN", `system:node:worker-${i}`]], issuer: "ca", key: i === 3 ? "ec256" : "rsa2048", usage: "client" })),
  { name: "node-edge-1", subject: [["O", "system:nodes"], ["CN", "system:node:edge-1"]], issuer: "ca", key: "rsa2048", usage: "client" },
  // Kubelet serving certificates.
  { name: "kubelet-worker-1-ca", subject: [["CN", `worker-1-ca@${K}`]], issuer: "self", key: "rsa2048", usage: "ca", notBefore: new Date(K * 1e3), notAfter: new Date((K + 365 * 86400) * 1e3) },
  { name: "kubelet-worker-1", subject: [["CN", `worker-1@${K}`]], issuer: "kubelet-worker-1-ca", key: "rsa2048", usage: "server", dns: ["worker-1"], notBefore: new Date(K * 1e3), notAfter: new Date((K + 365 * 86400) * 1e3) },
  { name: "kubelet-worker-2", subject: [["O", "system:nodes"], ["CN", "system:node:worker-2"]], issuer: "ca", key: "ec256", usage: "server", dns: ["worker-2"], ips: [CLUSTER.workers[1].ip] },
  { name: "kubelet-worker-2-expired", subject: [["O", "system:nodes"], ["CN", "system:node:worker-2"]], issuer: "ca", key: "rsa2048", usage: "server", dns: ["worker-2"], ips: [CLUSTER.workers[1].ip], notBefore: new Date(Date.UTC(2025, 0, 10)), notAfter: new Date(Date.UTC(2026, 0, 10)) },
  { name: "kubelet-worker-3", subject: [["CN", `worker-3@${K}`]], issuer: "self", key: "rsa2048", usage: "server", dns: ["worker-3"], notBefore: new Date(K * 1e3), notAfter: new Date((K + 365 * 86400) * 1e3) },
  { name: "kubelet-worker-3-rotated", subject: [["O", "system:nodes"], ["CN", "system:node:worker-3"]], issuer: "ca", key: "rsa2048", usage: "server", dns: ["worker-3"], ips: [CLUSTER.workers[2].ip], notBefore: new Date(CAPTURE_START_MS - day) },
  // etcd: its own CA, ECDSA P-256 throughout (kubeadm --encryption-algorithm=ECDSA-P256).
  { name: "etcd-ca", subject: [["CN", "etcd-ca"]], issuer: "self", key: "ec256", usage: "ca", notAfter: TEN_YEARS },
  ...CLUSTER.etcd.map((e) => ({ name: `etcd-server-${e.name}`, subject: [["CN", e.name]], issuer: "etcd-ca", key: "ec256", usage: "both", dns: [e.name, "localhost"], ips: [e.ip, "127.0.0.1"] })),
  ...CLUSTER.etcd.map((e) => ({ name: `etcd-peer-${e.name}`, subject: [["CN", e.name]], issuer: "etcd-ca", key: "ec256", usage: "both", dns: [e.name, "localhost"], ips: [e.ip, "127.0.0.1"] })),
  { name: "apiserver-etcd-client", subject: [["CN", "kube-apiserver-etcd-client"]], issuer: "etcd-ca", key: "ec256", usage: "client" },
  // Workloads: a dashboard behind the service proxy, a legacy app with a weak certificate.
  { name: "dashboard", subject: [["CN", "kubernetes-dashboard"]], issuer: "self", key: "rsa2048", usage: "server", dns: ["kubernetes-dashboard", "kubernetes-dashboard.kubernetes-dashboard.svc"] },
  { name: "legacy-app", subject: [["O", "Legacy Inc"], ["CN", "legacy-app"]], issuer: "self", key: "rsa1024", hash: "sha1", usage: "server", dns: ["legacy-app.default.svc"] },
  { name: "wrong-ca", subject: [["CN", "kubernetes"]], issuer: "self", key: "rsa2048", usage: "ca", notAfter: TEN_YEARS },
  { name: "example-com", subject: [["CN", "example.com"]], issuer: "self", key: "ec256", usage: "server", dns: ["example.com", "www.example.com"] }
];
var OID = {
  sha256WithRSA: "1.2.840.113549.1.1.11",
  sha1WithRSA: "1.2.840.113549.1.1.5",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
  ecdsaWithSHA1: "1.2.840.10045.4.1"
};
function newKey(type) {
  if (type === "ec256") return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
  return generateKeyPairSync("rsa", { modulusLength: type === "rsa1024" ? 1024 : 2048 }).privateKey;
}
function algorithmIdentifier(issuerKey, hash2) {
  const ec = issuerKey.asymmetricKeyType === "ec";
  const oid = ec ? hash2 === "sha1" ? OID.ecdsaWithSHA1 : OID.ecdsaWithSHA256 : hash2 === "sha1" ? OID.sha1WithRSA : OID.sha256WithRSA;
  const parts = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())];
  if (!ec) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ""));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}
function keyIdentifier(key) {
  const pub = createPublicKey(key);
  const bits = pub.asymmetricKeyType === "rsa" ? pub.export({ type: "pkcs1", format: "der" }) : pub.export({ type: "spki", format: "der" }).subarray(-65);
  return createHash("sha1").update(bits).digest().toString("binary");
}
function serialFor(name) {
  return "4" + createHash("sha256").update(name).digest("hex").slice(0, 31);
}
function issue(spec, key, issuerSpec, issuerKey) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger("3"), new forge.jsbn.BigInteger("65537"));
  cert.serialNumber = serialFor(spec.name);
  cert.validity.notBefore = spec.notBefore ?? ISSUED;
  cert.validity.notAfter = spec.notAfter ?? ONE_YEAR;
  const attrs = (a) => a.map(([shortName, value]) => ({ shortName, value }));
  cert.setSubject(attrs(spec.subject));
  cert.setIssuer(attrs(issuerSpec.subject));
  const spkiDer = createPublicKey(key).export({ type: "spki", format: "der" });
  const ext = [];
  if (spec.usage === "ca") {
    ext.push({ name: "basicConstraints", cA: true, critical: true });
    ext.push({ name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: true });
  } else {
    ext.push({ name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: key.asymmetricKeyType === "rsa" });
    ext.push({ name: "extKeyUsage", serverAuth: spec.usage !== "client", clientAuth: spec.usage !== "server" });
    ext.push({ name: "basicConstraints", cA: false, critical: true });
  }
  ext.push({ id: "2.5.29.14", value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyIdentifier(key)) });
  if (spec.issuer !== "self" || spec.usage !== "ca") ext.push({ name: "authorityKeyIdentifier", keyIdentifier: keyIdentifier(issuerKey) });
  const alt = [...(spec.dns ?? []).map((value) => ({ type: 2, value })), ...(spec.ips ?? []).map((ip) => ({ type: 7, ip }))];
  if (alt.length) ext.push({ name: "subjectAltName", altNames: alt });
  cert.setExtensions(ext);
  cert.siginfo.algorithmOid = OID.sha256WithRSA;
  const tbs = forge.pki.getTBSCertificate(cert);
  const algId = algorithmIdentifier(issuerKey, spec.hash ?? "sha256");
  const tbsParts = tbs.value;
  tbsParts[2] = algId;
  tbsParts[6] = asn1.fromDer(forge.util.createBuffer(spkiDer.toString("binary")));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), "binary");
  const sig = sign(spec.hash ?? "sha256", tbsDer, issuerKey);
  const certAsn1 = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(issuerKey, spec.hash ?? "sha256"),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, "\0" + sig.toString("binary"))
  ]);
  const der = Buffer.from(asn1.toDer(certAsn1).getBytes(), "binary");
  return `-----BEGIN CERTIFICATE-----
${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}
-----END CERTIFICATE-----
`;
}
function formatSubject(attrs) {
  return attrs.map(([k, v]) => `${k}=${v}`).join(", ");
}
var Pki = class {
  /** Loads keys/certificates from `dir`, creating what is missing. */
  constructor(dir) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    const byName = new Map(CERT_SPECS.map((s) => [s.name, s]));
    const keys = /* @__PURE__ */ new Map();
    const keyOf = (s) => {
      let k = keys.get(s.name);
      if (k) return k;
      const path = join(dir, `${s.name}.key`);
      if (existsSync(path)) k = createPrivateKey(readFileSync(path, "utf8"));
      else {
        k = newKey(s.key);
        writeFileSync(path, k.export({ type: "pkcs8", format: "pem" }));
      }
      keys.set(s.name, k);
      return k;
    };
    for (const spec of CERT_SPECS) {
      const issuerSpec = spec.issuer === "self" ? spec : byName.get(spec.issuer);
      const key = keyOf(spec);
      const crtPath = join(dir, `${spec.name}.crt`);
      let certPem;
      if (existsSync(crtPath)) certPem = readFileSync(crtPath, "utf8");
      else {
        certPem = issue(spec, key, issuerSpec, keyOf(issuerSpec));
        writeFileSync(crtPath, certPem);
      }
      const x = new X509Certificate(certPem);
      this.issued.set(spec.name, {
        name: spec.name,
        certPem,
        keyPem: key.export({ type: "pkcs8", format: "pem" }),
        subject: formatSubject(spec.subject),
        issuer: formatSubject(issuerSpec.subject),
        sha256: x.fingerprint256.replace(/:/g, "").toLowerCase()
      });
    }
  }
  dir;
  issued = /* @__PURE__ */ new Map();
  get(name) {
    const i = this.issued.get(name);
    if (!i) throw new Error(`no certificate named ${name}`);
    return i;
  }
  /** Leaf followed by its issuer (what servers send), unless `leafOnly`. */
  chain(name, leafOnly = false) {
    const spec = CERT_SPECS.find((s) => s.name === name);
    if (leafOnly || spec.issuer === "self") return this.get(name).certPem;
    return this.get(name).certPem + this.get(spec.issuer).certPem;
  }
};

// captures/generate/prng.ts
var Prng = class _Prng {
  state;
  constructor(seed) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next() {
    let t = this.state = this.state + 1831565813 >>> 0;
    t = Math.imul(t ^ t >>> 15, t | 1);
    t ^= t + Math.imul(t ^ t >>> 7, t | 61);
    return ((t ^ t >>> 14) >>> 0) / 4294967296;
  }
  /** Integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** A 32-bit unsigned value (initial sequence numbers, ids). */
  u32() {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  /** Derive an independent generator, so adding draws in one place does not shift another. */
  fork(label) {
    let h = this.state ^ 2654435769;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619) >>> 0;
    return new _Prng(h);
  }
};

// captures/generate/capture.ts
var MSS_PAYLOAD = 1448;
var MSS_OPTION = 1460;
var WINDOW = 502;
var SYN_WINDOW = 64240;
var Capture = class {
  packets = [];
  keyLog = [];
  prng;
  nowUs;
  ipId;
  constructor(prng, startUs) {
    this.prng = prng;
    this.nowUs = startUs;
    this.ipId = prng.int(1, 6e4);
  }
  advance(minUs, maxUs) {
    this.nowUs += this.prng.int(minUs, maxUs);
  }
  nextIpId() {
    this.ipId = this.ipId + this.prng.int(1, 3) & 65535;
    return this.ipId;
  }
  push(ip, fromClient) {
    this.packets.push({ tsUs: this.nowUs, ip, fromClient });
  }
  /** A UDP datagram (DNS) between two endpoints. */
  udp(src, sport, dst, dport, payload, fromClient) {
    this.push(buildUdp(src, dst, sport, dport, this.nextIpId(), payload), fromClient);
  }
};
var Side = class {
  constructor(ip, port, isn, tsBase) {
    this.ip = ip;
    this.port = port;
    this.seq = isn;
    this.tsBaseMs = tsBase;
  }
  ip;
  port;
  seq;
  /** Next byte expected from the peer (what this side acknowledges). */
  rcvNxt = 0;
  /** Highest ack this side has sent. */
  ackSent = 0;
  tsBaseMs;
};
var TcpConnection = class {
  constructor(cap, clientIp, clientPort, serverIp, serverPort) {
    this.cap = cap;
    const p = cap.prng;
    this.client = new Side(clientIp, clientPort, p.u32(), p.u32());
    this.server = new Side(serverIp, serverPort, p.u32(), p.u32());
  }
  cap;
  client;
  server;
  /** Bytes each side sent as application data (for truth files and determinism checks). */
  plaintextSizes = [];
  closed = false;
  first = [null, null];
  unackedSegments = [0, 0];
  pendingAck = [false, false];
  lastFromClient = null;
  get isClosed() {
    return this.closed;
  }
  /** The first line a side sent (SSH identification strings). */
  firstLine(fromClient) {
    const b = this.first[fromClient ? 0 : 1];
    if (!b) return "";
    const s = b.toString("latin1");
    const end = s.indexOf("\r\n");
    return end >= 0 ? s.slice(0, end) : s;
  }
  /** SYN, SYN-ACK, ACK. */
  open() {
    const c = this.client;
    const s = this.server;
    this.cap.advance(2e3, 2e4);
    this.emit(true, TCP_SYN, synOptions(MSS_OPTION, this.ts(c), 0), void 0, SYN_WINDOW);
    c.seq = c.seq + 1 >>> 0;
    s.rcvNxt = c.seq;
    this.cap.advance(80, 400);
    this.emit(false, TCP_SYN | TCP_ACK, synOptions(MSS_OPTION, this.ts(s), this.ts(c)), void 0, 65160);
    s.seq = s.seq + 1 >>> 0;
    c.rcvNxt = s.seq;
    this.cap.advance(30, 120);
    this.emit(true, TCP_ACK);
  }
  /** Application bytes written by one side; split into MSS segments. */
  data(fromClient, bytes) {
    if (this.closed || bytes.length === 0) return;
    this.flushAck(!fromClient);
    this.plaintextSizes.push(fromClient ? bytes.length : -bytes.length);
    const i = fromClient ? 0 : 1;
    if (!this.first[i]) this.first[i] = Buffer.from(bytes.subarray(0, 256));
    if (this.lastFromClient === fromClient) this.cap.advance(15, 120);
    else this.cap.advance(120, 1500);
    this.lastFromClient = fromClient;
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const receiver = fromClient ? 1 : 0;
    for (let off = 0; off < bytes.length; off += MSS_PAYLOAD) {
      const end = Math.min(bytes.length, off + MSS_PAYLOAD);
      if (off > 0) this.cap.advance(4, 25);
      this.emit(fromClient, TCP_ACK | (end === bytes.length ? TCP_PSH : 0), void 0, bytes.subarray(off, end));
      from.seq = from.seq + (end - off) >>> 0;
      to.rcvNxt = from.seq;
      if (++this.unackedSegments[receiver] >= 2) {
        this.cap.advance(10, 60);
        this.emit(!fromClient, TCP_ACK);
        this.unackedSegments[receiver] = 0;
      }
    }
    this.pendingAck[receiver] = to.ackSent !== to.rcvNxt;
    this.pendingAck[fromClient ? 0 : 1] = false;
  }
  /** Orderly close (FIN from `byClient`, FIN back, last ACK) or an abort with RST. */
  close(kind, byClient = true) {
    if (this.closed) return;
    this.flushAck(true);
    this.flushAck(false);
    this.cap.advance(200, 3e3);
    const a = byClient ? this.client : this.server;
    const b = byClient ? this.server : this.client;
    if (kind === "rst") {
      this.emit(byClient, TCP_RST | TCP_ACK);
    } else {
      this.emit(byClient, TCP_FIN | TCP_ACK);
      a.seq = a.seq + 1 >>> 0;
      b.rcvNxt = a.seq;
      this.cap.advance(60, 400);
      this.emit(!byClient, TCP_FIN | TCP_ACK);
      b.seq = b.seq + 1 >>> 0;
      a.rcvNxt = b.seq;
      this.cap.advance(30, 120);
      this.emit(byClient, TCP_ACK);
    }
    this.closed = true;
  }
  flushAck(fromClient) {
    const i = fromClient ? 0 : 1;
    if (!this.pendingAck[i]) return;
    this.cap.advance(40, 400);
    this.emit(fromClient, TCP_ACK);
    this.pendingAck[i] = false;
    this.unackedSegments[i] = 0;
  }
  ts(side) {
    return side.tsBaseMs + Math.floor(this.cap.nowUs / 1e3) >>> 0;
  }
  emit(fromClient, flags, options, payload, window = WINDOW) {
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const opts = options ?? tsOptions(this.ts(from), this.ts(to));
    const ack = flags & TCP_ACK ? from.rcvNxt : 0;
    if (flags & TCP_ACK) from.ackSent = from.rcvNxt;
    this.cap.push(
      buildTcp({
        src: from.ip,
        dst: to.ip,
        sport: from.port,
        dport: to.port,
        seq: from.seq,
        ack,
        flags,
        window,
        ipId: this.cap.nextIpId(),
        options: opts,
        payload
      }),
      fromClient
    );
  }
};

// captures/generate/wire.ts
import { Duplex } from "node:stream";
var WireEnd = class extends Duplex {
  constructor(wire, isClient) {
    super({ allowHalfOpen: true });
    this.wire = wire;
    this.isClient = isClient;
  }
  wire;
  isClient;
  peer = null;
  writes = 0;
  pending = [];
  _read() {
  }
  // Socket methods node:http and node:http2 call on their transports; meaningless on a memory wire.
  setKeepAlive() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setTimeout() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  /**
   * Writes made in the same turn of the event loop leave as one burst, as a kernel socket buffer
   * would send them (node:http2 writes every frame separately).
   */
  _write(chunk, _enc, cb) {
    this.pending.push(chunk);
    if (this.pending.length === 1) setImmediate(() => this.flushPending());
    cb();
  }
  _final(cb) {
    setImmediate(() => {
      this.flushPending();
      this.peer?.push(null);
      cb();
    });
  }
  flushPending() {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending.length = 0;
    const out = this.wire.record(this.isClient, chunk, this.writes++);
    if (out && this.peer && !this.wire.conn.isClosed) this.peer.push(out);
  }
};
var Wire = class {
  constructor(conn) {
    this.conn = conn;
    this.client = new WireEnd(this, true);
    this.server = new WireEnd(this, false);
    this.client.peer = this.server;
    this.server.peer = this.client;
  }
  conn;
  client;
  server;
  clientFilter = null;
  /** Count of writes from either side; `settle()` waits until it stops moving. */
  activity = 0;
  record(fromClient, chunk, index) {
    this.activity++;
    let out = chunk;
    if (fromClient && this.clientFilter) out = this.clientFilter(chunk, index);
    if (out) this.conn.data(fromClient, out);
    return out;
  }
  /** Wait until neither side has written anything for a while (handshakes, tickets, GOAWAY…). */
  async settle() {
    let last = -1;
    while (last !== this.activity) {
      last = this.activity;
      for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 2));
    }
  }
};
var Bridge = class extends Duplex {
  constructor(inner) {
    super({ allowHalfOpen: true });
    this.inner = inner;
    inner.on("data", (c) => this.push(c));
    inner.on("end", () => this.push(null));
  }
  inner;
  _read() {
  }
  _write(chunk, _enc, cb) {
    this.inner.write(chunk, () => cb());
  }
  _final(cb) {
    cb();
  }
  setKeepAlive() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setTimeout() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
};

// captures/generate/scenario.ts
var ScenarioContext = class {
  constructor(name, prng, pki, ssh, startUs) {
    this.name = name;
    this.prng = prng;
    this.pki = pki;
    this.ssh = ssh;
    this.cap = new Capture(prng, startUs);
  }
  name;
  prng;
  pki;
  ssh;
  cap;
  truth = [];
  connections = [];
  /** An ephemeral client port as Linux picks them (32768–60999). */
  port() {
    return this.prng.int(32768, 60999);
  }
  /** Run one TCP connection: handshake, `body` drives the stacks over the wire, then close. */
  async tcp(client, server, body, close = "fin", byClient = true) {
    const [sip, sport] = server.split(":");
    const cport = this.port();
    const conn = new TcpConnection(this.cap, client, cport, sip, Number(sport));
    this.connections.push(conn);
    conn.open();
    const wire = new Wire(conn);
    await body(wire);
    await wire.settle();
    conn.close(close, byClient);
    wire.client.destroy();
    wire.server.destroy();
    this.cap.advance(5e3, 4e4);
    return { client: `${client}:${cport}`, server };
  }
};
function tlsTruth(pki, s, extra = {}) {
  const leaf = pki.get(s.serverCert).subject;
  const hidden = s.version === "1.3";
  return {
    version: s.version,
    sni: s.sni ?? null,
    alpn: s.alpn ?? [],
    serverSubject: hidden || extra.alert ? extra.alert ? leaf : null : leaf,
    actualServerSubject: leaf,
    clientSubject: !hidden && s.clientCert ? pki.get(s.clientCert).subject : null,
    clientCertRequested: s.requestCert ?? false,
    alert: null,
    ...extra
  };
}

// captures/generate/stacks.ts
import http from "node:http";
import http2 from "node:http2";
import tls from "node:tls";
import ssh2 from "ssh2";
var PROTO = { "1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3" };
async function tlsHandshake(wire, cap, pki, s, expectFailure = false) {
  const v = PROTO[s.version];
  const ciphers = s.legacy ? "DEFAULT:@SECLEVEL=0" : void 0;
  const server = new tls.TLSSocket(wire.server, {
    isServer: true,
    secureContext: tls.createSecureContext({
      key: pki.get(s.serverCert).keyPem,
      cert: pki.chain(s.serverCert, s.leafOnly),
      minVersion: v,
      maxVersion: v,
      ciphers
    }),
    requestCert: s.requestCert ?? false,
    rejectUnauthorized: false,
    ALPNProtocols: s.alpn
  });
  const client = tls.connect({
    socket: wire.client,
    servername: s.sni,
    ALPNProtocols: s.alpn,
    key: s.clientCert ? pki.get(s.clientCert).keyPem : void 0,
    cert: s.clientCert ? pki.chain(s.clientCert) : void 0,
    minVersion: v,
    maxVersion: v,
    ciphers,
    rejectUnauthorized: false,
    // Stop Node from sending "localhost" as SNI when none is wanted.
    checkServerIdentity: () => void 0
  });
  client.on("keylog", (line) => cap.keyLog.push(line.toString("latin1").trimEnd()));
  client.on("error", () => {
  });
  server.on("error", () => {
  });
  if (expectFailure) {
    await wire.settle();
    return { client, server };
  }
  await Promise.all([
    new Promise((r) => client.once("secureConnect", () => r())),
    new Promise((r) => server.once("secure", () => r()))
  ]);
  return { client, server };
}
async function tlsClose(wire, pair) {
  pair.client.end();
  await wire.settle();
}
function httpDate(cap) {
  return new Date(Math.floor(cap.nowUs / 1e3)).toUTCString();
}
async function http1Exchange(wire, cap, clientSock, serverSock, calls) {
  let current = null;
  const server = http.createServer((req, res) => {
    const c = current;
    res.sendDate = false;
    req.resume();
    req.on("end", () => {
      res.writeHead(c.status ?? 200, { Date: httpDate(cap), ...c.responseHeaders ?? { "Content-Type": "application/json" } });
      res.end(c.responseBody ?? "");
    });
  });
  server.on("upgrade", (_req, socket) => {
    const c = current;
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r
Connection: Upgrade\r
Upgrade: ${c.upgrade}\r
X-Stream-Protocol-Version: v4.channel.k8s.io\r
Date: ${httpDate(cap)}\r
\r
`
    );
  });
  server.emit("connection", serverSock);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = () => clientSock;
  for (const c of calls) {
    current = c;
    await new Promise((resolve) => {
      const req = http.request({ agent, method: c.method, path: c.path, headers: c.headers, setHost: false });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve());
      });
      req.on("upgrade", () => resolve());
      req.on("error", () => resolve());
      req.end(c.body);
    });
    await wire.settle();
  }
}
async function http2Exchange(wire, authority, clientTransport, serverTransport, calls) {
  const overTls = clientTransport instanceof tls.TLSSocket;
  const clientSock = overTls ? new Bridge(clientTransport) : clientTransport;
  const serverSock = overTls ? new Bridge(serverTransport) : serverTransport;
  let index = 0;
  const server = http2.createServer();
  server.on("stream", (stream) => {
    const c = calls[index++];
    stream.on("data", () => {
    });
    stream.on("end", () => {
      stream.respond(c.responseHeaders, { waitForTrailers: Boolean(c.trailers) });
      if (c.trailers) stream.on("wantTrailers", () => stream.sendTrailers(c.trailers));
      stream.end(c.responseBody);
    });
  });
  server.emit("connection", serverSock);
  const session = http2.connect(authority, { createConnection: () => clientSock });
  session.on("error", () => {
  });
  for (const c of calls) {
    await new Promise((resolve) => {
      const req = session.request(c.headers);
      req.on("data", () => {
      });
      req.on("end", () => resolve());
      req.on("error", () => resolve());
      req.end(c.body);
    });
    await wire.settle();
  }
  session.close();
  await wire.settle();
}
async function sshTunnel(wire, cap, keys, target, call) {
  const server = new ssh2.Server({ hostKeys: [keys.hostKey] }, (conn) => {
    conn.on("authentication", (ctx) => ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"]));
    conn.on("error", () => {
    });
    conn.on("tcpip", (accept) => {
      const ch = accept();
      const httpServer = http.createServer((req, res) => {
        res.sendDate = false;
        req.resume();
        req.on("end", () => {
          res.writeHead(call.status ?? 200, { Date: httpDate(cap), ...call.responseHeaders ?? {} });
          res.end(call.responseBody ?? "");
        });
      });
      httpServer.emit("connection", ch);
    });
  });
  server.injectSocket(wire.server);
  const client = new ssh2.Client();
  client.on("error", () => {
  });
  await new Promise((resolve) => {
    client.on("ready", () => resolve());
    client.connect({ sock: wire.client, username: "root", privateKey: keys.clientKey, hostVerifier: () => true, algorithms: { cipher: ["chacha20-poly1305@openssh.com"] } });
  });
  await wire.settle();
  const channel = await new Promise(
    (resolve, reject) => client.forwardOut("127.0.0.1", 0, target.host, target.port, (err, stream) => err ? reject(err) : resolve(stream))
  );
  await new Promise((resolve) => {
    const agent = new http.Agent({ keepAlive: false });
    agent.createConnection = () => channel;
    const req = http.request({ agent, method: call.method, path: call.path, headers: call.headers, setHost: false });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve());
    });
    req.on("error", () => resolve());
    req.end();
  });
  await wire.settle();
  client.end();
  await wire.settle();
}

// captures/generate/payloads.ts
function varint(n) {
  const out = [];
  while (n > 127) {
    out.push(n & 127 | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
function field(no, value) {
  if (typeof value === "number") return Buffer.from([...varint(no << 3), ...varint(value)]);
  return Buffer.concat([Buffer.from([...varint(no << 3 | 2), ...varint(value.length)]), value]);
}
function grpcFrame(msg) {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
}
function rangeRequest(key) {
  return field(1, Buffer.from(key));
}
function rangeResponse(key, value) {
  const header = Buffer.concat([field(1, 1312459826), field(2, 105853545), field(3, 1204), field(4, 3)]);
  const kv = Buffer.concat([field(1, Buffer.from(key)), field(2, 1100), field(3, 1204), field(4, 2), field(5, Buffer.from(value, "latin1"))]);
  return Buffer.concat([field(1, header), field(2, kv), field(4, 1)]);
}
function konnectivityDial(type) {
  const inner = type === 1 ? Buffer.concat([field(1, Buffer.from("tcp")), field(2, Buffer.from("10.0.0.21:10250")), field(3, 7211)]) : Buffer.concat([field(2, 7211), field(3, 1)]);
  return Buffer.concat([field(1, type), field(type === 1 ? 2 : 3, inner)]);
}
function dnsName(name) {
  const parts = name.split(".").map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.of(0)]);
}
function dnsQuery(id, name) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(256, 2);
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, dnsName(name), Buffer.from([0, 1, 0, 1])]);
}
function dnsResponse(id, name, ip) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(33152, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(1, 6);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(49164, 0);
  answer.writeUInt16BE(1, 2);
  answer.writeUInt16BE(1, 4);
  answer.writeUInt32BE(30, 6);
  answer.writeUInt16BE(4, 10);
  Buffer.from(ip.split(".").map(Number)).copy(answer, 12);
  return Buffer.concat([h, dnsName(name), Buffer.from([0, 1, 0, 1]), answer]);
}

// captures/generate/scenarios.ts
var CP = CLUSTER.cp.ip;
var W1 = CLUSTER.workers[0].ip;
var W2 = CLUSTER.workers[1].ip;
var W3 = CLUSTER.workers[2].ip;
var API = `${CP}:6443`;
var toTruth = (calls, host) => calls.map((c) => ({ method: c.method, path: c.path, host: c.headers["Host"] ?? host, status: c.upgrade ? 101 : c.status ?? 200 }));
var json = (o) => JSON.stringify(o);
function kubeletCall(op, pod = "web-0", host = `${CLUSTER.workers[0].ip}:10250`, container = "web") {
  const base = { Host: host, "User-Agent": apiserverUA, "Accept-Encoding": "gzip" };
  const spdy = { ...base, Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io", "Content-Length": "0" };
  switch (op) {
    case "logs":
      return {
        method: "GET",
        path: `/containerLogs/default/${pod}/${container}?follow=true`,
        headers: base,
        responseHeaders: { "Content-Type": "text/plain" },
        responseBody: "2026-03-02T09:59:58.123Z GET /healthz 200\n2026-03-02T09:59:59.456Z GET / 200\n"
      };
    case "exec":
      return { method: "POST", path: `/exec/default/${pod}/${container}?command=sh&input=1&output=1&tty=1`, headers: spdy, upgrade: "SPDY/3.1" };
    case "attach":
      return { method: "POST", path: `/attach/default/${pod}/${container}?input=1&output=1&tty=1`, headers: spdy, upgrade: "SPDY/3.1" };
    case "portforward":
      return { method: "POST", path: `/portForward/default/${pod}`, headers: { ...spdy, "X-Stream-Protocol-Version": "portforward.k8s.io" }, upgrade: "SPDY/3.1" };
    case "run":
      return {
        method: "POST",
        path: `/run/default/${pod}/${container}?cmd=ls`,
        headers: { ...base, "Content-Length": "0" },
        responseHeaders: { "Content-Type": "text/plain" },
        responseBody: "bin\netc\nusr\n"
      };
  }
}
async function kubeletSession(ctx, node, setup, op, findings, pod = "web-0") {
  const call = kubeletCall(op, pod, `${node}:10250`);
  const ends = await ctx.tcp(CP, `${node}:10250`, async (wire) => {
    const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
    await http1Exchange(wire, ctx.cap, pair.client, pair.server, [call]);
    await tlsClose(wire, pair);
  });
  ctx.truth.push({
    ...ends,
    transport: "tcp",
    app: "tls",
    path: "apiserver-to-kubelet",
    pathDetail: { operation: "unknown" },
    findings,
    tls: tlsTruth(ctx.pki, setup),
    http: [],
    ssh: null,
    actualOperation: op,
    actualHttp: toTruth([call], null)
  });
}
var kubeletTls = (serverCert, version = "1.2", leafOnly = false) => ({
  version,
  serverCert,
  leafOnly,
  clientCert: "apiserver-kubelet-client",
  requestCert: true,
  alpn: ["http/1.1"]
});
var SCENARIOS = [
  {
    name: "node-to-apiserver",
    sentence: "Kubelets on worker-1 (TLS 1.2, node client certificate, HTTP/2) and worker-2 (TLS 1.3) talk to the API server: node status, lease renewal, watches.",
    async run(ctx) {
      const s1 = { version: "1.2", serverCert: "apiserver", clientCert: "node-worker-1", requestCert: true, alpn: ["h2", "http/1.1"] };
      const calls = [
        { m: "GET", p: "/api/v1/nodes/worker-1?timeout=10s", body: json({ kind: "Node", apiVersion: "v1", metadata: { name: "worker-1" } }) },
        { m: "PUT", p: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s", body: json({ kind: "Lease", metadata: { name: "worker-1" } }) },
        { m: "GET", p: "/api/v1/pods?fieldSelector=spec.nodeName%3Dworker-1&resourceVersion=1204&timeoutSeconds=425&watch=true", body: json({ type: "ADDED", object: { kind: "Pod", metadata: { name: "web-0" } } }) }
      ];
      for (const [node, setup] of [["worker-1", s1], ["worker-2", { ...s1, version: "1.3", clientCert: "node-worker-2" }]]) {
        const ip = node === "worker-1" ? W1 : W2;
        const ends = await ctx.tcp(ip, API, async (wire) => {
          const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
          await http2Exchange(wire, `https://${API}`, pair.client, pair.server, calls.map((c) => ({
            headers: { ":method": c.m, ":path": c.p.replace(/worker-1/g, node), "user-agent": kubeletUA, accept: "application/vnd.kubernetes.protobuf,application/json" },
            body: c.m === "PUT" ? Buffer.from(json({ spec: { holderIdentity: node, renewTime: "2026-03-02T10:00:00.000000Z" } })) : void 0,
            responseHeaders: { ":status": "200", "content-type": "application/json", "audit-id": "8a7cbb94-1d4e-4c2e-9e41-0d2a3b6a1f11" },
            responseBody: Buffer.from(c.body.replace(/worker-1/g, node))
          })));
          await tlsClose(wire, pair);
        });
        ctx.truth.push({
          ...ends,
          transport: "tcp",
          app: "tls",
          path: "node-to-apiserver",
          pathDetail: {},
          findings: [],
          tls: tlsTruth(ctx.pki, setup),
          http: [],
          ssh: null,
          actualHttp: calls.map((c) => ({ method: c.m, path: c.p.replace(/worker-1/g, node), host: API, status: 200 }))
        });
      }
    }
  },
  {
    name: "pod-to-apiserver",
    sentence: "A pod on worker-1 calls the API server through the kubernetes Service address 10.96.0.1:443 over TLS 1.3 with its service-account bearer token.",
    async run(ctx) {
      const setup = { version: "1.3", sni: "kubernetes.default.svc", serverCert: "apiserver", alpn: ["http/1.1"] };
      const calls = [{ method: "GET", path: "/api/v1/namespaces/default/pods?limit=500", headers: {
        Host: "kubernetes.default.svc",
        "User-Agent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        Authorization: "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InNhLWtleSJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJl",
        Accept: "application/json"
      }, responseBody: json({ kind: "PodList", items: [] }) }];
      const ends = await ctx.tcp("10.244.1.5", `${CLUSTER.apiServerVip}:443`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "pod-to-apiserver",
        pathDetail: {},
        findings: [],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: toTruth(calls, null)
      });
    }
  },
  {
    name: "controlplane-to-apiserver",
    sentence: "kube-scheduler and kube-controller-manager on cp-1 open watches on the API server with their client certificates (TLS 1.2).",
    async run(ctx) {
      for (const comp of ["scheduler", "controller-manager"]) {
        const setup = { version: "1.2", serverCert: "apiserver", clientCert: comp, requestCert: true, alpn: ["http/1.1"] };
        const ua = componentUA(comp === "scheduler" ? "kube-scheduler" : "kube-controller-manager");
        const calls = [
          { method: "GET", path: "/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded&limit=500&resourceVersion=0", headers: { Host: API, "User-Agent": ua }, responseBody: json({ kind: "PodList", items: [] }) },
          { method: "PUT", path: `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-${comp}?timeout=5s`, headers: { Host: API, "User-Agent": ua, "Content-Type": "application/json" }, body: json({ spec: { holderIdentity: `cp-1_${comp}` } }), responseBody: "{}" }
        ];
        const ends = await ctx.tcp(CP, API, async (wire) => {
          const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
          await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
          await tlsClose(wire, pair);
        });
        ctx.truth.push({
          ...ends,
          transport: "tcp",
          app: "tls",
          path: "controlplane-to-apiserver",
          pathDetail: {},
          findings: [],
          tls: tlsTruth(ctx.pki, setup),
          http: [],
          ssh: null,
          actualHttp: toTruth(calls, null)
        });
      }
    }
  },
  {
    name: "kubelet-logs-exec-self-signed",
    sentence: "The API server runs kubectl logs, exec, attach and port-forward against worker-1, whose kubelet serves its own self-signed worker-1@1756684800 certificate (TLS 1.2).",
    async run(ctx) {
      for (const op of ["logs", "exec", "attach", "portforward"]) {
        await kubeletSession(ctx, W1, kubeletTls("kubelet-worker-1", "1.2", true), op, ["kubelet-tls-unverified"]);
      }
    }
  },
  {
    name: "kubelet-exec-ca-signed",
    sentence: "The API server execs into and runs a command in a pod on worker-2, whose kubelet serves a valid cluster-CA-signed ECDSA certificate naming the node (TLS 1.2).",
    async run(ctx) {
      await kubeletSession(ctx, W2, kubeletTls("kubelet-worker-2"), "exec", [], "web-1");
      await kubeletSession(ctx, W2, kubeletTls("kubelet-worker-2"), "run", [], "web-1");
    }
  },
  {
    name: "kubelet-logs-tls13",
    sentence: "The API server fetches logs from worker-3 over TLS 1.3: the kubelet certificate is encrypted, so without keys its validity cannot be told.",
    async run(ctx) {
      await kubeletSession(ctx, W3, kubeletTls("kubelet-worker-3", "1.3"), "logs", ["kubelet-tls-indeterminate"], "db-0");
    }
  },
  {
    name: "kubelet-readonly-port",
    sentence: "A metrics scraper pod reads /pods and /stats/summary from the kubelet read-only port 10255 on worker-1 in plain HTTP, without credentials.",
    async run(ctx) {
      const ua = "metrics-scraper/v1.0.8";
      const calls = [
        { method: "GET", path: "/pods", headers: { Host: `${W1}:10255`, "User-Agent": ua, Accept: "application/json" }, responseBody: json({ kind: "PodList", items: [{ metadata: { name: "web-0" } }] }) },
        { method: "GET", path: "/stats/summary", headers: { Host: `${W1}:10255`, "User-Agent": ua, Accept: "application/json" }, responseBody: json({ node: { nodeName: "worker-1", cpu: { usageNanoCores: 123456789 } } }) }
      ];
      const ends = await ctx.tcp("10.244.2.8", `${W1}:10255`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "http",
        path: "apiserver-to-kubelet",
        pathDetail: { operation: "other" },
        findings: ["kubelet-readonly-port", "kubelet-direct-access", "anonymous-request"],
        tls: null,
        http: toTruth(calls, null),
        ssh: null
      });
    }
  },
  {
    name: "kubelet-direct-access",
    sentence: "A pod on worker-3 talks straight to the kubelet API of worker-2 (10250, TLS 1.2) with a bearer token, bypassing the API server.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "kubelet-worker-2", alpn: ["http/1.1"] };
      const calls = [{ method: "GET", path: "/runningpods/", headers: { Host: `${W2}:10250`, "User-Agent": "curl/8.5.0", Authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWJ1ZyJ9.c2ln" }, responseBody: json({ kind: "PodList", items: [] }) }];
      const ends = await ctx.tcp("10.244.3.4", `${W2}:10250`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "apiserver-to-kubelet",
        pathDetail: { operation: "unknown" },
        findings: ["kubelet-direct-access"],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualOperation: "other",
        actualHttp: toTruth(calls, null)
      });
    }
  },
  {
    name: "apiserver-proxy-http",
    sentence: "kubectl proxies through the API server to a pod (web-0:8080) and to a node port (worker-1:9100); the API server forwards in plain HTTP with X-Forwarded-* headers.",
    async run(ctx) {
      const targets = [
        { ip: "10.244.1.7", port: 8080, uri: "/api/v1/namespaces/default/pods/web-0:8080/proxy/", path: "/", target: "pod" },
        { ip: W1, port: 9100, uri: "/api/v1/nodes/worker-1:9100/proxy/metrics", path: "/metrics", target: "node" }
      ];
      for (const t of targets) {
        const calls = [{ method: "GET", path: t.path, headers: {
          Host: `${t.ip}:${t.port}`,
          "User-Agent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
          Accept: "*/*",
          "X-Forwarded-For": "192.168.10.15",
          "X-Forwarded-Host": "cp-1:6443",
          "X-Forwarded-Proto": "https",
          "X-Forwarded-Uri": t.uri,
          "Accept-Encoding": "gzip"
        }, responseHeaders: { "Content-Type": "text/plain; charset=utf-8" }, responseBody: t.target === "pod" ? "hello from web-0\n" : "node_load1 0.42\n" }];
        const ends = await ctx.tcp(CP, `${t.ip}:${t.port}`, async (wire) => {
          await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
        });
        ctx.truth.push({
          ...ends,
          transport: "tcp",
          app: "http",
          path: "apiserver-proxy",
          pathDetail: { target: t.target, scheme: "http" },
          findings: ["plaintext-proxy"],
          tls: null,
          http: toTruth(calls, null),
          ssh: null
        });
      }
    }
  },
  {
    name: "apiserver-proxy-https-service",
    sentence: "The API server proxies to the kubernetes-dashboard Service address over HTTPS (TLS 1.2) without verifying its self-signed certificate.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "dashboard", alpn: ["http/1.1"] };
      const calls = [{ method: "GET", path: "/", headers: {
        Host: "10.96.120.15:443",
        "User-Agent": "Mozilla/5.0",
        "X-Forwarded-For": "192.168.10.15",
        "X-Forwarded-Uri": "/api/v1/namespaces/kubernetes-dashboard/services/https:kubernetes-dashboard:/proxy/"
      }, responseHeaders: { "Content-Type": "text/html" }, responseBody: "<!doctype html><title>Kubernetes Dashboard</title>" }];
      const ends = await ctx.tcp(CP, "10.96.120.15:443", async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "apiserver-proxy",
        pathDetail: { target: "service", scheme: "https" },
        findings: ["proxy-tls-unverified"],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: toTruth(calls, null)
      });
    }
  },
  {
    name: "ssh-tunnel",
    sentence: "The API server reaches worker-1 through the deprecated SSH tunnel (port 22) and sends a kubelet log request through a direct-tcpip channel.",
    async run(ctx) {
      const call = kubeletCall("logs", "web-0", "127.0.0.1:10250");
      let banners = { clientBanner: "", serverBanner: "" };
      const ends = await ctx.tcp(CP, `${W1}:22`, async (wire) => {
        await sshTunnel(wire, ctx.cap, ctx.ssh, { host: "127.0.0.1", port: 10250 }, call);
      });
      banners = sshBanners(ctx);
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "ssh",
        path: "ssh-tunnel",
        pathDetail: {},
        findings: ["ssh-tunnel-deprecated"],
        tls: null,
        http: [],
        ssh: banners,
        actualHttp: toTruth([call], "127.0.0.1:10250")
      });
    }
  },
  {
    name: "konnectivity",
    sentence: "The Konnectivity agent on worker-1 connects to the Konnectivity server on cp-1:8132 with gRPC AgentService/Connect over h2 on TLS 1.2.",
    async run(ctx) {
      const setup = { version: "1.2", sni: "cp-1", serverCert: "konnectivity-server", clientCert: "konnectivity-agent", requestCert: true, alpn: ["h2"] };
      const ends = await ctx.tcp(W1, `${CP}:8132`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, "https://cp-1:8132", pair.client, pair.server, [{
          headers: {
            ":method": "POST",
            ":path": "/agent.AgentService/Connect",
            "content-type": "application/grpc",
            te: "trailers",
            "user-agent": "grpc-go/1.65.0",
            agentid: "worker-1",
            agentidentifiers: "ipv4=10.0.0.21&host=worker-1"
          },
          body: grpcFrame(konnectivityDial(1)),
          responseHeaders: { ":status": "200", "content-type": "application/grpc", serverid: "cp-1-konnectivity", serverCount: "1" },
          responseBody: grpcFrame(konnectivityDial(2)),
          trailers: { "grpc-status": "0" }
        }]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "konnectivity",
        pathDetail: {},
        findings: [],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: [{ method: "POST", path: "/agent.AgentService/Connect", host: "cp-1:8132", status: 200 }]
      });
    }
  },
  {
    name: "apiserver-to-etcd",
    sentence: "The API server reads from etcd on cp-1:2379 with gRPC KV/Range over h2 and TLS 1.2, authenticated by the ECDSA kube-apiserver-etcd-client certificate.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "etcd-server-cp-1", clientCert: "apiserver-etcd-client", requestCert: true, alpn: ["h2"] };
      const ends = await ctx.tcp(CP, `${CP}:2379`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, "https://127.0.0.1:2379", pair.client, pair.server, [etcdRange()]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "apiserver-to-etcd",
        pathDetail: {},
        findings: [],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: [{ method: "POST", path: "/etcdserverpb.KV/Range", host: "127.0.0.1:2379", status: 200 }]
      });
    }
  },
  {
    name: "etcd-plaintext",
    sentence: "The API server talks to etcd-2 (10.0.0.11:2379) over plaintext h2c: gRPC KV/Range with no TLS at all.",
    async run(ctx) {
      const ends = await ctx.tcp(CP, "10.0.0.11:2379", async (wire) => {
        await http2Exchange(wire, "http://10.0.0.11:2379", wire.client, wire.server, [etcdRange("10.0.0.11:2379")]);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "http2",
        path: "apiserver-to-etcd",
        pathDetail: {},
        findings: ["etcd-plaintext"],
        tls: null,
        http: [{ method: "POST", path: "/etcdserverpb.KV/Range", host: "10.0.0.11:2379", status: 200 }],
        ssh: null
      });
    }
  },
  {
    name: "etcd-no-client-auth",
    sentence: "The API server connects to etcd-3 (10.0.0.12:2379) over TLS 1.2, but etcd never asks for a client certificate.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "etcd-server-etcd-3", requestCert: false, alpn: ["h2"] };
      const ends = await ctx.tcp(CP, "10.0.0.12:2379", async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, "https://10.0.0.12:2379", pair.client, pair.server, [etcdRange("10.0.0.12:2379")]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "apiserver-to-etcd",
        pathDetail: {},
        findings: ["etcd-no-client-auth"],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: [{ method: "POST", path: "/etcdserverpb.KV/Range", host: "10.0.0.12:2379", status: 200 }]
      });
    }
  },
  {
    name: "etcd-peer",
    sentence: "etcd-2 opens the raft message stream to etcd-3 on the peer port 2380 (mutual TLS 1.2, ECDSA peer certificates).",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "etcd-peer-etcd-3", clientCert: "etcd-peer-etcd-2", requestCert: true, alpn: ["http/1.1"] };
      const calls = [{ method: "GET", path: "/raft/stream/msgappv2/6e3bd23ae5f1eae0", headers: { Host: "10.0.0.12:2380", "User-Agent": "etcdserver/3.5.15 (linux/amd64)", "X-Server-From": "8211f1d0f64f3269", "X-Raft-To": "6e3bd23ae5f1eae0", "X-Etcd-Cluster-ID": "cdf818194e3a8c32" }, responseHeaders: { "Content-Type": "application/octet-stream" }, responseBody: "raft" }];
      const ends = await ctx.tcp("10.0.0.11", "10.0.0.12:2380", async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "etcd-peer",
        pathDetail: {},
        findings: [],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: toTruth(calls, null)
      });
    }
  },
  {
    name: "apiserver-insecure-port",
    sentence: "kube-controller-manager on cp-1 still uses the legacy insecure port 8080: plain HTTP list requests with no credentials.",
    async run(ctx) {
      const ua = componentUA("kube-controller-manager");
      const calls = [
        { method: "GET", path: "/api/v1/pods", headers: { Host: `${CP}:8080`, "User-Agent": ua, Accept: "application/json" }, responseBody: json({ kind: "PodList", apiVersion: "v1", items: [] }) },
        { method: "GET", path: "/api/v1/namespaces/kube-system/secrets?limit=500", headers: { Host: `${CP}:8080`, "User-Agent": ua, Accept: "application/json" }, responseBody: json({ kind: "SecretList", apiVersion: "v1", items: [] }) }
      ];
      const ends = await ctx.tcp(CP, `${CP}:8080`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "http",
        path: "controlplane-to-apiserver",
        pathDetail: {},
        findings: ["apiserver-insecure-port", "anonymous-request"],
        tls: null,
        http: toTruth(calls, null),
        ssh: null
      });
    }
  },
  {
    name: "bearer-token-cleartext",
    sentence: "A CI pod sends its service-account bearer token to the API server in plain HTTP (insecure port 8080).",
    async run(ctx) {
      const calls = [{
        method: "GET",
        path: "/api/v1/namespaces/default/secrets",
        headers: {
          Host: `${CP}:8080`,
          "User-Agent": "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
          Authorization: "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImNpIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6cnVubmVyIn0.dG9rZW4",
          Accept: "application/json"
        },
        responseBody: json({ kind: "SecretList", items: [] })
      }];
      const ends = await ctx.tcp("10.244.1.6", `${CP}:8080`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "http",
        path: "pod-to-apiserver",
        pathDetail: {},
        findings: ["bearer-token-cleartext", "apiserver-insecure-port"],
        tls: null,
        http: toTruth(calls, null),
        ssh: null
      });
    }
  },
  {
    name: "tls-handshake-failure",
    sentence: "The kubelet on worker-3, bootstrapped with the wrong CA, rejects the API server certificate: TLS 1.2 fatal alert unknown_ca.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "apiserver", clientCert: "node-worker-3", requestCert: true, alpn: ["h2", "http/1.1"] };
      const ends = await ctx.tcp(W3, API, async (wire) => {
        wire.clientFilter = (chunk, index) => index === 0 ? chunk : index === 1 ? Buffer.from([21, 3, 3, 0, 2, 2, 48]) : null;
        await tlsHandshake(wire, ctx.cap, ctx.pki, setup, true);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "node-to-apiserver",
        pathDetail: {},
        findings: ["tls-handshake-failure"],
        tls: { ...tlsTruth(ctx.pki, setup, { alert: "unknown_ca" }), clientSubject: null },
        http: [],
        ssh: null
      });
    }
  },
  {
    name: "kubelet-cert-changed",
    sentence: "worker-3 serves a self-signed kubelet certificate, then (after switching to serverTLSBootstrap) a CA-signed one: the same endpoint presents two certificates.",
    async run(ctx) {
      await kubeletSession(ctx, W3, kubeletTls("kubelet-worker-3"), "logs", ["kubelet-tls-unverified", "cert-changed"], "db-0");
      await kubeletSession(ctx, W3, kubeletTls("kubelet-worker-3-rotated"), "logs", ["cert-changed"], "db-0");
    }
  },
  {
    name: "weak-tls",
    sentence: "An old client on worker-2 reaches the API server over TLS 1.0, and the API server proxies to a legacy pod serving an RSA-1024/SHA-1 certificate.",
    async run(ctx) {
      const s1 = { version: "1.0", serverCert: "apiserver", clientCert: "node-worker-2", requestCert: true, legacy: true, alpn: ["http/1.1"] };
      const call1 = [{ method: "GET", path: "/api/v1/nodes/worker-2", headers: { Host: API, "User-Agent": "kubelet/v1.11.10 (linux/amd64) kubernetes/637c7e2" }, responseBody: "{}" }];
      const e1 = await ctx.tcp(W2, API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, s1);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, call1);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...e1,
        transport: "tcp",
        app: "tls",
        path: "node-to-apiserver",
        pathDetail: {},
        findings: ["weak-tls"],
        tls: tlsTruth(ctx.pki, s1),
        http: [],
        ssh: null,
        actualHttp: toTruth(call1, null)
      });
      const s2 = { version: "1.2", serverCert: "legacy-app", legacy: true, alpn: ["http/1.1"] };
      const call2 = [{ method: "GET", path: "/status", headers: { Host: "10.244.2.15:8443", "X-Forwarded-For": "192.168.10.15", "X-Forwarded-Uri": "/api/v1/namespaces/default/pods/https:legacy-0:8443/proxy/status" }, responseBody: "ok" }];
      const e2 = await ctx.tcp(CP, "10.244.2.15:8443", async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, s2);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, call2);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...e2,
        transport: "tcp",
        app: "tls",
        path: "apiserver-proxy",
        pathDetail: { target: "pod", scheme: "https" },
        findings: ["proxy-tls-unverified", "weak-tls"],
        tls: tlsTruth(ctx.pki, s2),
        http: [],
        ssh: null,
        actualHttp: toTruth(call2, null)
      });
    }
  },
  {
    name: "kubelet-cert-expired",
    sentence: "The API server streams logs from worker-2 whose CA-signed kubelet certificate expired on 2026-01-10 (TLS 1.2); the handshake completes anyway.",
    async run(ctx) {
      await kubeletSession(ctx, W2, kubeletTls("kubelet-worker-2-expired"), "logs", ["kubelet-tls-unverified", "cert-expired"], "web-1");
    }
  },
  {
    name: "untrusted-network",
    sentence: "A node client certificate (system:node:edge-1) is used from 203.0.113.7, an address outside every cluster network, to reach the API server.",
    async run(ctx) {
      const setup = { version: "1.2", serverCert: "apiserver", clientCert: "node-edge-1", requestCert: true, alpn: ["h2", "http/1.1"] };
      const ends = await ctx.tcp(CLUSTER.outsider, API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, `https://${API}`, pair.client, pair.server, [{
          headers: { ":method": "GET", ":path": "/api/v1/nodes/edge-1?timeout=10s", "user-agent": kubeletUA },
          responseHeaders: { ":status": "404", "content-type": "application/json" },
          responseBody: Buffer.from(json({ kind: "Status", code: 404 }))
        }]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "node-to-apiserver",
        pathDetail: {},
        findings: ["untrusted-network"],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: [{ method: "GET", path: "/api/v1/nodes/edge-1?timeout=10s", host: API, status: 404 }]
      });
    }
  },
  {
    name: "other-traffic",
    sentence: "Unrelated traffic: a pod resolves example.com through CoreDNS over UDP and fetches it over HTTPS (TLS 1.3) from the internet.",
    async run(ctx) {
      const pod = "10.244.1.5";
      const sport = ctx.port();
      const id = ctx.prng.int(1, 65535);
      ctx.cap.advance(1e3, 5e3);
      ctx.cap.udp(pod, sport, CLUSTER.coreDns, 53, dnsQuery(id, "example.com"), true);
      ctx.cap.advance(200, 900);
      ctx.cap.udp(CLUSTER.coreDns, 53, pod, sport, dnsResponse(id, "example.com", CLUSTER.internetHost), false);
      ctx.truth.push({
        client: `${pod}:${sport}`,
        server: `${CLUSTER.coreDns}:53`,
        transport: "udp",
        app: "unknown",
        path: "other",
        pathDetail: {},
        findings: [],
        tls: null,
        http: [],
        ssh: null
      });
      const setup = { version: "1.3", sni: "example.com", serverCert: "example-com", alpn: ["http/1.1"] };
      const calls = [{ method: "GET", path: "/", headers: { Host: "example.com", "User-Agent": "curl/8.5.0", Accept: "*/*" }, responseHeaders: { "Content-Type": "text/html" }, responseBody: "<!doctype html><title>Example Domain</title>" }];
      const ends = await ctx.tcp(pod, `${CLUSTER.internetHost}:443`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({
        ...ends,
        transport: "tcp",
        app: "tls",
        path: "other",
        pathDetail: {},
        findings: [],
        tls: tlsTruth(ctx.pki, setup),
        http: [],
        ssh: null,
        actualHttp: toTruth(calls, null)
      });
    }
  }
];
function etcdRange(authority = "127.0.0.1:2379") {
  void authority;
  return {
    headers: { ":method": "POST", ":path": "/etcdserverpb.KV/Range", "content-type": "application/grpc", te: "trailers", "user-agent": "grpc-go/1.65.0" },
    body: grpcFrame(rangeRequest("/registry/pods/default/web-0")),
    responseHeaders: { ":status": "200", "content-type": "application/grpc" },
    responseBody: grpcFrame(rangeResponse("/registry/pods/default/web-0", "k8s\0\n	\nv1Pod")),
    trailers: { "grpc-status": "0", "grpc-message": "" }
  };
}
function sshBanners(ctx) {
  const conn = ctx.connections[ctx.connections.length - 1];
  return { clientBanner: conn.firstLine(true), serverBanner: conn.firstLine(false) };
}

// captures/generate/scale.ts
import ssh22 from "ssh2";
var MAX_ACTIVE_CONNECTIONS = 512;
var PODS_PER_NODE = 24;
var WATCH_EVENTS = 400;
var TEMPLATE_SCENARIOS = {
  "node-to-apiserver": ["node", "apiserver"],
  "kubelet-logs-exec-self-signed": ["apiserver", "node"],
  "kubelet-exec-ca-signed": ["apiserver", "node"],
  "apiserver-to-etcd": ["apiserver", "etcd"],
  "pod-to-apiserver": ["pod", "vip"],
  konnectivity: ["node", "apiserver"]
};
async function recordTemplates(pkiDir, seed) {
  const pki = new Pki(pkiDir);
  const key = ssh22.utils.generateKeyPairSync("ed25519").private;
  const out = [];
  const root = new Prng(seed);
  for (const sc of SCENARIOS) {
    const roles = TEMPLATE_SCENARIOS[sc.name];
    if (!roles) continue;
    const ctx = new ScenarioContext(sc.name, root.fork(sc.name), pki, { hostKey: key, clientKey: key }, CAPTURE_START_MS * 1e3);
    await sc.run(ctx);
    const byConn = /* @__PURE__ */ new Map();
    for (const p of ctx.cap.packets) {
      if (p.ip[9] !== 6) continue;
      const cport = p.fromClient ? p.ip.readUInt16BE(20) : p.ip.readUInt16BE(22);
      let list = byConn.get(cport);
      if (!list) byConn.set(cport, list = []);
      list.push(p);
    }
    for (const list of byConn.values()) out.push(toTemplate(sc.name, roles, list));
  }
  return out;
}
function toTemplate(name, roles, list) {
  const isnC = list[0].ip.readUInt32BE(24);
  const isnS = list[1].ip.readUInt32BE(24);
  const packets = list.map((p, i) => {
    const ip = Buffer.from(p.ip);
    const ihl = (ip[0] & 15) * 4;
    const seq = ip.readUInt32BE(ihl + 4);
    const ack = ip.readUInt32BE(ihl + 8);
    const tcp = Buffer.from(ip.subarray(ihl));
    tcp.fill(0, 0, 12);
    tcp.writeUInt16BE(0, 16);
    const dataOff = (tcp[12] >> 4) * 4;
    return {
      ip,
      fromClient: p.fromClient,
      relSeq: seq - (p.fromClient ? isnC : isnS) >>> 0,
      relAck: ack - (p.fromClient ? isnS : isnC) >>> 0,
      payloadLen: tcp.length - dataOff,
      baseSum: onesSum(tcp, 0, tcp.length),
      gapUs: i === 0 ? 0 : Math.max(1, p.tsUs - list[i - 1].tsUs)
    };
  });
  let loopStart = 0;
  let loopEnd = 0;
  let loops = 0;
  if (name === "node-to-apiserver") {
    const closeAt = packets.findIndex((p) => (p.ip[(p.ip[0] & 15) * 4 + 13] & (TCP_FIN | TCP_RST)) !== 0);
    for (let i = closeAt - 1; i > 3; i--) {
      if (!packets[i].fromClient && packets[i].payloadLen > 0) {
        loopStart = i;
        loopEnd = i + 1;
        loops = WATCH_EVENTS;
        break;
      }
    }
  }
  let dc = 0;
  let ds = 0;
  for (let i = loopStart; i < loopEnd; i++) {
    if (packets[i].fromClient) dc += packets[i].payloadLen;
    else ds += packets[i].payloadLen;
  }
  const port = list[0].ip.readUInt16BE(22);
  return { name, clientRole: roles[0], serverRole: roles[1], serverPort: port, packets, loopStart, loopEnd, loops, loopDeltaClient: dc, loopDeltaServer: ds };
}
var Active = class {
  template;
  index = 0;
  loop = 0;
  client = 0;
  server = 0;
  cport = 0;
  sport = 0;
  isnC = 0;
  isnS = 0;
  ipId = 0;
};
function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size: ${s}`);
  const mult = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()]);
}
var ip4 = (a, b, c, d) => (a << 24 | b << 16 | c << 8 | d) >>> 0;
var APISERVER = ip4(10, 0, 0, 10);
var VIP = ip4(10, 96, 0, 1);
async function writeScaleCapture(o) {
  const templates = await recordTemplates(o.pkiDir, o.seed);
  const prng = new Prng(o.seed ^ 379422);
  const nodes = Math.max(1, Math.min(o.nodes, 6e4));
  const nodeIp = (i) => ip4(10, 1, i >> 8 & 255, i & 255);
  const podIp = (node) => ip4(10, 244 + (node >> 8), node & 255, 2 + prng.int(0, PODS_PER_NODE - 1));
  const pick = (role, node) => role === "apiserver" || role === "etcd" ? APISERVER : role === "vip" ? VIP : role === "node" ? nodeIp(node) : podIp(node);
  const t0 = process.hrtime.bigint();
  const w = new PcapWriter(FdSink.open(o.out), LINKTYPE_ETHERNET);
  const active = [];
  let connections = 0;
  const kubeletKinds = [...new Set(templates.filter((t) => t.serverRole === "node").map((t) => t.name))].sort();
  const byKind = kubeletKinds.map((k) => templates.filter((t) => t.serverRole === "node" && t.name === k));
  const kubeletTemplates = (node) => byKind[node % byKind.length];
  const start = (a) => {
    a.template = templates[prng.int(0, templates.length - 1)];
    const node = prng.int(0, nodes - 1);
    if (a.template.serverRole === "node") {
      const own = kubeletTemplates(node);
      a.template = own[prng.int(0, own.length - 1)];
    }
    a.client = pick(a.template.clientRole, node);
    a.server = pick(a.template.serverRole, node);
    a.cport = prng.int(32768, 60999);
    a.sport = a.template.serverPort;
    a.isnC = prng.u32();
    a.isnS = prng.u32();
    a.ipId = prng.int(0, 65535);
    a.index = 0;
    a.loop = 0;
    connections++;
  };
  const active0 = Math.min(MAX_ACTIVE_CONNECTIONS, Math.max(16, nodes));
  for (let i = 0; i < active0; i++) {
    const a = new Active();
    start(a);
    active.push(a);
  }
  let nowUs = CAPTURE_START_MS * 1e3;
  while (w.bytesWritten < o.bytes) {
    const a = active[prng.int(0, active.length - 1)];
    const t = a.template;
    const p = t.packets[a.index];
    nowUs += 1 + (p.gapUs > 50 ? prng.int(0, 3) : 0);
    const inLoop = a.index >= t.loopStart && a.index < t.loopEnd;
    const reps2 = inLoop ? a.loop : a.index >= t.loopEnd && t.loops > 0 ? t.loops - 1 : 0;
    const dSelf = p.fromClient ? t.loopDeltaClient * reps2 : t.loopDeltaServer * reps2;
    const dPeer = p.fromClient ? t.loopDeltaServer * reps2 : t.loopDeltaClient * reps2;
    emit(w, p, a, nowUs, dSelf, dPeer);
    a.index++;
    if (a.index === t.loopEnd && t.loops > 0 && a.loop < t.loops - 1) {
      a.loop++;
      a.index = t.loopStart;
    }
    if (a.index >= t.packets.length) start(a);
  }
  w.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { bytes: w.bytesWritten, packets: w.packets, connections, seconds };
}
function emit(w, p, a, nowUs, dSelf, dPeer) {
  const len = 14 + p.ip.length;
  const at = w.beginPacket(Math.floor(nowUs / 1e6), nowUs % 1e6, len);
  const b = w.buffer;
  const src = p.fromClient ? a.client : a.server;
  const dst = p.fromClient ? a.server : a.client;
  b[at] = 2;
  b[at + 1] = 66;
  b.writeUInt32BE(dst, at + 2);
  b[at + 6] = 2;
  b[at + 7] = 66;
  b.writeUInt32BE(src, at + 8);
  b[at + 12] = 8;
  b[at + 13] = 0;
  const ip = at + 14;
  p.ip.copy(b, ip);
  const ihl = (p.ip[0] & 15) * 4;
  a.ipId = a.ipId + 1 & 65535;
  b.writeUInt16BE(a.ipId, ip + 4);
  b.writeUInt32BE(src, ip + 12);
  b.writeUInt32BE(dst, ip + 16);
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  let s = 0;
  for (let i = 0; i < ihl; i += 2) s += b[ip + i] << 8 | b[ip + i + 1];
  b.writeUInt16BE(fold(s), ip + 10);
  const tcp = ip + ihl;
  const sp = p.fromClient ? a.cport : a.sport;
  const dp = p.fromClient ? a.sport : a.cport;
  const seq = (p.fromClient ? a.isnC : a.isnS) + p.relSeq + dSelf >>> 0;
  const flags = p.ip[ihl + 13];
  const ack = flags & TCP_ACK ? (p.fromClient ? a.isnS : a.isnC) + p.relAck + (flags & TCP_SYN ? 0 : dPeer) >>> 0 : 0;
  b.writeUInt16BE(sp, tcp);
  b.writeUInt16BE(dp, tcp + 2);
  b.writeUInt32BE(seq, tcp + 4);
  b.writeUInt32BE(ack, tcp + 8);
  const tcpLen = p.ip.length - ihl;
  let sum = p.baseSum + sp + dp + (seq >>> 16) + (seq & 65535) + (ack >>> 16) + (ack & 65535);
  sum += (src >>> 16) + (src & 65535) + (dst >>> 16) + (dst & 65535) + 6 + tcpLen;
  b.writeUInt16BE(fold(sum), tcp + 16);
  w.commitPacket(len);
}
function fold(sum) {
  while (sum > 65535) sum = (sum & 65535) + Math.floor(sum / 65536);
  return ~sum & 65535;
}

// bench/capture-cache.ts
var BENCH_DIR = dirname(fileURLToPath(import.meta.url));
var DATA_DIR = join2(BENCH_DIR, "data");
var PKI_DIR = join2(BENCH_DIR, "..", "captures", "pki");
var SEED = 1;
var NODES = 300;
async function ensureCapture(size2, log) {
  const bytes = parseSize(size2);
  mkdirSync2(DATA_DIR, { recursive: true });
  const file2 = join2(DATA_DIR, `scale-${size2.toUpperCase()}.pcap`);
  if (existsSync2(file2) && statSync(file2).size >= bytes) return file2;
  log(`generating ${file2} (${size2}, ${NODES} nodes)\u2026`);
  const r = await writeScaleCapture({ out: file2, bytes, nodes: NODES, seed: SEED, pkiDir: PKI_DIR });
  log(`  ${(r.bytes / 1e6).toFixed(0)} MB, ${r.packets} packets, ${r.connections} connections in ${r.seconds.toFixed(1)} s`);
  return file2;
}

// bench/in-process-stages.ts
import { statSync as statSync2 } from "node:fs";

// src/anomalies.ts
var AnomalyCounter = class {
  counts = /* @__PURE__ */ new Map();
  add(code, n = 1) {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
  }
  get(code) {
    return this.counts.get(code) ?? 0;
  }
  get total() {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }
  /** Adds every count of another counter into this one. */
  merge(other) {
    for (const [k, v] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + v);
  }
  /** Plain object sorted by code, for JSON and the database. */
  toJSON() {
    const out = {};
    for (const k of [...this.counts.keys()].sort()) out[k] = this.counts.get(k);
    return out;
  }
};

// src/flow/packet-stamp.ts
var MutableStamp = class {
  ts = 0;
  frame = 0;
  set(ts, frame) {
    this.ts = ts;
    this.frame = frame;
    return this;
  }
};

// dissectors/port-table.ts
var CODE_OF = { tls: 1, http: 2, http2: 3, ssh: 4 };
var ID_OF = [null, "tls", "http", "http2", "ssh"];
var DEFAULT_PORTS = [
  [6443, "tls"],
  // kube-apiserver
  [443, "tls"],
  [10250, "tls"],
  // kubelet API
  [2379, "tls"],
  // etcd client
  [2380, "tls"],
  // etcd peer
  [8132, "tls"],
  // konnectivity agent → server
  [8131, "tls"],
  // konnectivity apiserver → server
  [10257, "tls"],
  // kube-controller-manager
  [10259, "tls"],
  // kube-scheduler
  [4443, "tls"],
  // metrics-server and friends
  [10255, "http"],
  // kubelet read-only port
  [8080, "http"],
  // legacy insecure API server port
  [80, "http"],
  [22, "ssh"]
];
var PortTable = class {
  table = new Uint8Array(65536);
  constructor(entries = DEFAULT_PORTS) {
    for (const [port, id] of entries) this.set(port, id);
  }
  /** Prefers `id` on `port`; null clears the preference. Out-of-range ports are ignored. */
  set(port, id) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return;
    this.table[port] = id === null ? 0 : CODE_OF[id];
  }
  get(port) {
    if (port < 0 || port > 65535) return null;
    return ID_OF[this.table[port | 0]] ?? null;
  }
  clear() {
    this.table.fill(0);
  }
};
var defaultPortTable = new PortTable();

// dissectors/types.ts
var ProbeResult = { NO_MATCH: 0, MATCH: 1, NEED_MORE: 2 };

// dissectors/http/http1-head.ts
var MAX_HEADERS = 100;
var MessageHead = class {
  isRequest;
  /** Start line parsed. */
  ok;
  method;
  target;
  version;
  status;
  reason;
  host;
  userAgent;
  contentType;
  /** The raw Authorization value: hashed by the caller at once and cleared (never kept). */
  authorization;
  xForwardedFor;
  xForwardedUri;
  xForwardedHost;
  xForwardedProto;
  upgrade;
  connectionUpgrade;
  streamProtocol;
  /** -1 when absent or invalid. */
  contentLength;
  chunked;
  /** Transfer-Encoding present with a final coding other than chunked (body runs to close). */
  otherCoding;
  headerCount;
  tooManyHeaders;
  constructor() {
    this.isRequest = true;
    this.ok = false;
    this.method = "";
    this.target = "";
    this.version = "";
    this.status = 0;
    this.reason = "";
    this.host = null;
    this.userAgent = null;
    this.contentType = null;
    this.authorization = null;
    this.xForwardedFor = null;
    this.xForwardedUri = null;
    this.xForwardedHost = null;
    this.xForwardedProto = null;
    this.upgrade = null;
    this.connectionUpgrade = false;
    this.streamProtocol = null;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.headerCount = 0;
    this.tooManyHeaders = false;
  }
  reset(isRequest) {
    this.isRequest = isRequest;
    this.ok = false;
    this.method = "";
    this.target = "";
    this.version = "";
    this.status = 0;
    this.reason = "";
    this.host = null;
    this.userAgent = null;
    this.contentType = null;
    this.authorization = null;
    this.xForwardedFor = null;
    this.xForwardedUri = null;
    this.xForwardedHost = null;
    this.xForwardedProto = null;
    this.upgrade = null;
    this.connectionUpgrade = false;
    this.streamProtocol = null;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.headerCount = 0;
    this.tooManyHeaders = false;
  }
};
function parseHead(buf, s, e, head, isRequest) {
  head.reset(isRequest);
  let pos = s;
  let first = true;
  while (pos < e) {
    const lf = buf.indexOf(10, pos);
    if (lf < 0 || lf >= e) break;
    let lineEnd = lf;
    if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
    if (first) {
      if (lineEnd === pos) {
        pos = lf + 1;
        continue;
      }
      first = false;
      if (!(isRequest ? parseRequestLine(buf, pos, lineEnd, head) : parseStatusLine(buf, pos, lineEnd, head))) return false;
      head.ok = true;
    } else {
      if (lineEnd === pos) break;
      if (buf[pos] !== 32 && buf[pos] !== 9) {
        if (head.headerCount >= MAX_HEADERS) {
          head.tooManyHeaders = true;
          break;
        }
        head.headerCount++;
        parseField(buf, pos, lineEnd, head);
      }
    }
    pos = lf + 1;
  }
  return head.ok;
}
function parseRequestLine(buf, s, e, head) {
  const sp1 = indexOfByte(buf, 32, s, e);
  if (sp1 <= s) return false;
  for (let i = s; i < sp1; i++) if (!isTokenChar(buf[i])) return false;
  let ts = sp1 + 1;
  while (ts < e && buf[ts] === 32) ts++;
  let sp2 = e;
  while (sp2 > ts && buf[sp2 - 1] !== 32) sp2--;
  if (sp2 <= ts) return false;
  const vs = sp2;
  let te = sp2 - 1;
  while (te > ts && buf[te - 1] === 32) te--;
  if (!startsWithHttp(buf, vs, e)) return false;
  head.method = text(buf, s, sp1);
  head.target = text(buf, ts, Math.min(te, ts + 8192));
  head.version = text(buf, vs + 5, e);
  return true;
}
function parseStatusLine(buf, s, e, head) {
  if (!startsWithHttp(buf, s, e)) return false;
  const sp = indexOfByte(buf, 32, s, e);
  if (sp < 0 || sp + 4 > e) return false;
  let status = 0;
  for (let i = sp + 1; i < sp + 4; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return false;
    status = status * 10 + c;
  }
  if (sp + 4 < e && buf[sp + 4] !== 32) return false;
  head.version = text(buf, s + 5, sp);
  head.status = status;
  head.reason = sp + 5 < e ? text(buf, sp + 5, Math.min(e, sp + 5 + 1024)) : "";
  return true;
}
function parseField(buf, s, e, head) {
  const colon = indexOfByte(buf, 58, s, e);
  if (colon <= s) return;
  let ne = colon;
  while (ne > s && (buf[ne - 1] === 32 || buf[ne - 1] === 9)) ne--;
  let vs = colon + 1;
  while (vs < e && (buf[vs] === 32 || buf[vs] === 9)) vs++;
  let ve = e;
  while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
  const vcap = Math.min(ve, vs + 1024);
  switch (ne - s) {
    case 4:
      if (nameIs(buf, s, "host")) head.host = text(buf, vs, vcap);
      break;
    case 7:
      if (nameIs(buf, s, "upgrade")) head.upgrade = text(buf, vs, vcap);
      break;
    case 10:
      if (nameIs(buf, s, "user-agent")) head.userAgent = text(buf, vs, vcap);
      else if (nameIs(buf, s, "connection")) head.connectionUpgrade = head.connectionUpgrade || containsToken(buf, vs, ve, "upgrade");
      break;
    case 12:
      if (nameIs(buf, s, "content-type")) head.contentType = text(buf, vs, vcap);
      break;
    case 13:
      if (nameIs(buf, s, "authorization")) head.authorization = text(buf, vs, ve);
      break;
    case 14:
      if (nameIs(buf, s, "content-length")) head.contentLength = parseLength(buf, vs, ve, head.contentLength);
      break;
    case 15:
      if (nameIs(buf, s, "x-forwarded-for")) head.xForwardedFor = text(buf, vs, vcap);
      else if (nameIs(buf, s, "x-forwarded-uri")) head.xForwardedUri = text(buf, vs, vcap);
      break;
    case 16:
      if (nameIs(buf, s, "x-forwarded-host")) head.xForwardedHost = text(buf, vs, vcap);
      break;
    case 17:
      if (nameIs(buf, s, "x-forwarded-proto")) head.xForwardedProto = text(buf, vs, vcap);
      else if (nameIs(buf, s, "transfer-encoding")) {
        const chunked = endsWithToken(buf, vs, ve, "chunked");
        head.chunked = chunked;
        head.otherCoding = !chunked;
      }
      break;
    case 25:
      if (nameIs(buf, s, "x-stream-protocol-version")) head.streamProtocol = text(buf, vs, vcap);
      break;
    default:
      break;
  }
}
function parseLength(buf, s, e, prev) {
  if (s >= e || e - s > 15) return prev;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) return prev;
    n = n * 10 + c;
  }
  return n;
}
function nameIs(buf, s, lower) {
  for (let i = 0; i < lower.length; i++) {
    let c = buf[s + i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
function containsToken(buf, s, e, lower) {
  const n = lower.length;
  for (let i = s; i + n <= e; i++) {
    if (nameIs(buf, i, lower) && (i === s || !isTokenChar(buf[i - 1])) && (i + n === e || !isTokenChar(buf[i + n]))) return true;
  }
  return false;
}
function endsWithToken(buf, s, e, lower) {
  const n = lower.length;
  if (e - s < n) return false;
  return nameIs(buf, e - n, lower) && (e - n === s || !isTokenChar(buf[e - n - 1]));
}
function startsWithHttp(buf, s, e) {
  return e - s >= 6 && buf[s] === 72 && buf[s + 1] === 84 && buf[s + 2] === 84 && buf[s + 3] === 80 && buf[s + 4] === 47;
}
function indexOfByte(buf, b, s, e) {
  for (let i = s; i < e; i++) if (buf[i] === b) return i;
  return -1;
}
function isTokenChar(c) {
  if (c >= 48 && c <= 57 || c >= 65 && c <= 90 || c >= 97 && c <= 122) return true;
  return c === 33 || c >= 35 && c <= 39 || c === 42 || c === 43 || c === 45 || c === 46 || c === 94 || c === 95 || c === 96 || c === 124 || c === 126;
}
function text(buf, s, e) {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let high = false;
  for (let i = s; i < e; i++) if (buf[i] >= 128) {
    high = true;
    break;
  }
  if (!high) return b.toString("latin1", s, e);
  const u = b.toString("utf8", s, e);
  return u.includes("\uFFFD") ? b.toString("latin1", s, e) : u;
}

// dissectors/http/http-record.ts
import { createHash as createHash2 } from "node:crypto";
var MAX_PATH_CHARS = 2048;
var MAX_HEADER_VALUE_CHARS = 1024;
function newHttpRecord(method, path, version, ts, frame) {
  return {
    method,
    path: path.length > MAX_PATH_CHARS ? path.slice(0, MAX_PATH_CHARS) : path,
    version,
    host: null,
    userAgent: null,
    auth: "none",
    authHash: null,
    contentType: null,
    requestBodyBytes: 0,
    status: null,
    reason: null,
    responseContentType: null,
    responseBodyBytes: 0,
    upgrade: null,
    streamProtocol: null,
    xForwardedFor: null,
    xForwardedUri: null,
    xForwardedHost: null,
    xForwardedProto: null,
    grpcMethod: null,
    streamId: null,
    frame,
    ts,
    k8s: null
  };
}
function boundValue(v) {
  return v.length > MAX_HEADER_VALUE_CHARS ? v.slice(0, MAX_HEADER_VALUE_CHARS) : v;
}
function applyAuthorization(rec, value) {
  const v = value.trim();
  const sp = v.indexOf(" ");
  const scheme = (sp < 0 ? v : v.slice(0, sp)).toLowerCase();
  const credential = sp < 0 ? "" : v.slice(sp + 1).trim();
  let auth = "other";
  if (scheme === "bearer") auth = "bearer";
  else if (scheme === "basic") auth = "basic";
  rec.auth = auth;
  rec.authHash = hashCredential(auth === "other" ? v : credential);
}
function hashCredential(credential) {
  return "sha256:" + createHash2("sha256").update(credential, "latin1").digest("hex").slice(0, 16);
}
function grpcMethodFromPath(path) {
  if (path.length < 4 || path.charCodeAt(0) !== 47) return null;
  const q = path.indexOf("?");
  const p = q < 0 ? path : path.slice(0, q);
  const slash = p.indexOf("/", 1);
  if (slash <= 1 || slash === p.length - 1 || p.indexOf("/", slash + 1) >= 0) return null;
  return p.slice(1);
}

// dissectors/http/k8s-path.ts
var KUBELET_PORTS = /* @__PURE__ */ new Set([10250, 10255]);
var MAX_SEGMENTS = 64;
var SUBRESOURCE_OPS = {
  log: "logs",
  exec: "exec",
  attach: "attach",
  portforward: "portforward",
  proxy: "proxy"
};
var PROXY_TARGETS = { pods: "pod", nodes: "node", services: "service" };
function parseK8sPath(method, path, port) {
  try {
    return parse(method.toUpperCase(), path, port);
  } catch {
    return null;
  }
}
function parse(method, rawPath, port) {
  let path = rawPath;
  const schemeEnd = path.indexOf("://");
  if (schemeEnd > 0 && schemeEnd < 10) {
    const slash = path.indexOf("/", schemeEnd + 3);
    path = slash < 0 ? "/" : path.slice(slash);
  }
  const hash2 = path.indexOf("#");
  if (hash2 >= 0) path = path.slice(0, hash2);
  const q = path.indexOf("?");
  const query = q >= 0 ? path.slice(q + 1) : "";
  if (q >= 0) path = path.slice(0, q);
  if (path.charCodeAt(0) !== 47) return null;
  const segs = splitSegments(path);
  if (segs.length === 0) return null;
  const first = segs[0];
  const watchQuery = queryFlag(query, "watch");
  const kubeletPort = port !== void 0 && KUBELET_PORTS.has(port);
  const kubelet = kubeletPath(segs, kubeletPort);
  if (kubelet) return kubelet;
  if (first === "api" || first === "apis") return apiServerResource(method, segs, watchQuery);
  switch (first) {
    case "healthz":
    case "livez":
    case "readyz":
    case "version":
    case "openapi":
    case "logs":
    case ".well-known":
      return info("apiserver", "other", null, null, null, null);
    case "metrics":
      return info("apiserver", "metrics", null, null, null, null);
    case "debug":
      return info("apiserver", segs[1] === "pprof" ? "pprof" : "other", null, null, null, null);
    default:
      return null;
  }
}
function kubeletPath(segs, kubeletPort) {
  const first = segs[0];
  switch (first) {
    case "containerLogs":
      return info("kubelet", "logs", "pods", segs[1] ?? null, segs[2] ?? null, null);
    case "exec":
    // /exec/NS/POD/[UID/]CONTAINER
    case "attach":
    case "run":
      return info("kubelet", first, "pods", segs[1] ?? null, segs[2] ?? null, null);
    case "portForward":
      return info("kubelet", "portforward", "pods", segs[1] ?? null, segs[2] ?? null, null);
    case "pods":
    case "runningpods":
      return segs.length === 1 ? info("kubelet", "pods", "pods", null, null, null) : null;
    case "stats":
      return info("kubelet", "stats", null, null, null, null);
    case "configz":
      return info("kubelet", "configz", null, null, null, null);
    case "spec":
    case "checkpoint":
      return info("kubelet", "other", null, null, null, null);
    case "metrics":
      return kubeletPort ? info("kubelet", "metrics", null, null, null, null) : null;
    case "healthz":
      return kubeletPort ? info("kubelet", "healthz", null, null, null, null) : null;
    case "logs":
      return kubeletPort ? info("kubelet", "other", null, null, null, null) : null;
    case "debug":
      return kubeletPort && segs[1] === "pprof" ? info("kubelet", "pprof", null, null, null, null) : null;
    default:
      return null;
  }
}
function apiServerResource(method, segs, watchQuery) {
  const versionEnd = segs[0] === "api" ? 2 : 3;
  if (segs.length <= versionEnd) return info("apiserver", "other", null, null, null, null);
  let rest = segs.slice(versionEnd);
  let watch = watchQuery;
  let legacyProxy = false;
  if (rest[0] === "watch") {
    watch = true;
    rest = rest.slice(1);
  } else if (rest[0] === "proxy") {
    legacyProxy = true;
    rest = rest.slice(1);
  }
  let namespace = null;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = rest[0] ?? null;
  const name = rest[1] ?? null;
  const sub = rest[2] ?? null;
  if (resource === null) return info("apiserver", "other", null, namespace, null, null);
  const subOp = legacyProxy ? "proxy" : sub !== null ? SUBRESOURCE_OPS[sub] : void 0;
  if (subOp === "proxy" && name !== null) {
    const target = PROXY_TARGETS[resource] ?? resource;
    const parsed = splitProxyName(name);
    return info("apiserver", "proxy", target, namespace, parsed.name, parsed.scheme);
  }
  if (subOp !== void 0 && name !== null) return info("apiserver", subOp, resource, namespace, name, null);
  return info("apiserver", verb(method, name !== null, watch), resource, namespace, name, null);
}
function verb(method, named, watch) {
  switch (method) {
    case "GET":
    case "HEAD":
      return watch ? "watch" : named ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "other";
  }
}
function splitProxyName(s) {
  let scheme = "http";
  let rest = s;
  if (rest.startsWith("https:")) {
    scheme = "https";
    rest = rest.slice(6);
  } else if (rest.startsWith("http:")) {
    rest = rest.slice(5);
  }
  const colon = rest.indexOf(":");
  return { name: colon >= 0 ? rest.slice(0, colon) : rest, scheme };
}
function splitSegments(path) {
  const out = [];
  for (const raw of path.split("/", MAX_SEGMENTS)) {
    if (raw === "") continue;
    out.push(percentDecode(raw));
  }
  return out;
}
function percentDecode(s) {
  if (s.indexOf("%") < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
function queryFlag(query, key) {
  if (query === "") return false;
  for (const part of query.split("&", MAX_SEGMENTS)) {
    const eq = part.indexOf("=");
    const k = percentDecode(eq < 0 ? part : part.slice(0, eq));
    if (k !== key) continue;
    const v = eq < 0 ? "" : percentDecode(part.slice(eq + 1)).toLowerCase();
    return v === "true" || v === "1";
  }
  return false;
}
function info(api, operation, target, namespace, name, scheme) {
  return { api, operation, target, namespace, name, scheme };
}

// dissectors/http2/hpack-huffman.ts
var CODE_LENGTHS = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  30
];
var EOS = 256;
var SYMBOLS = 257;
var HUFFMAN_CODES = deriveCodes();
function deriveCodes() {
  const codes = new Uint32Array(SYMBOLS);
  let code = 0;
  let prevLen = 0;
  for (let len = 1; len <= 30; len++) {
    for (let sym = 0; sym < SYMBOLS; sym++) {
      if (CODE_LENGTHS[sym] !== len) continue;
      if (prevLen !== 0) code = code << len - prevLen;
      prevLen = len;
      codes[sym] = code;
      code++;
    }
  }
  return codes;
}
var EMIT = 256;
var FAIL = 131072;
var HuffmanMachine = class {
  /** 256 states × 16 nibbles. */
  transitions = new Uint32Array(256 * 16);
  /** 1 when ending in this state is valid padding (a prefix of EOS of at most 7 bits). */
  accepting = new Uint8Array(256);
  constructor() {
    const left = new Int32Array(256).fill(2147483647);
    const right = new Int32Array(256).fill(2147483647);
    let nodes = 1;
    for (let sym = 0; sym < SYMBOLS; sym++) {
      const len = CODE_LENGTHS[sym];
      const code = HUFFMAN_CODES[sym];
      let node2 = 0;
      for (let b = len - 1; b >= 0; b--) {
        const bit = code >>> b & 1;
        const arr = bit === 0 ? left : right;
        if (b === 0) {
          arr[node2] = -(sym + 1);
        } else {
          if (arr[node2] === 2147483647) arr[node2] = nodes++;
          node2 = arr[node2];
        }
      }
    }
    let node = 0;
    this.accepting[0] = 1;
    for (let i = 1; i <= 7; i++) {
      node = right[node];
      this.accepting[node] = 1;
    }
    for (let state = 0; state < 256; state++) {
      for (let nib = 0; nib < 16; nib++) {
        let cur = state;
        let entry = 0;
        for (let b = 3; b >= 0; b--) {
          const next = (nib >>> b & 1) === 0 ? left[cur] : right[cur];
          if (next === 2147483647) {
            entry = FAIL;
            break;
          }
          if (next < 0) {
            const sym = -next - 1;
            if (sym === EOS) {
              entry = FAIL;
              break;
            }
            entry = EMIT | sym << 9;
            cur = 0;
          } else {
            cur = next;
          }
        }
        this.transitions[state << 4 | nib] = entry & FAIL ? FAIL : entry & ~255 | cur;
      }
    }
  }
};
var machine = null;
function huffmanDecode(src, start, end, out) {
  const m = machine ?? (machine = new HuffmanMachine());
  const t = m.transitions;
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i];
    let e = t[state << 4 | byte >>> 4];
    if (e & FAIL) return -1;
    if (e & EMIT) {
      if (n >= out.length) return -1;
      out[n++] = e >>> 9 & 255;
    }
    state = e & 255;
    e = t[state << 4 | byte & 15];
    if (e & FAIL) return -1;
    if (e & EMIT) {
      if (n >= out.length) return -1;
      out[n++] = e >>> 9 & 255;
    }
    state = e & 255;
  }
  return m.accepting[state] === 1 ? n : -1;
}

// dissectors/http2/hpack-static-table.ts
var STATIC_TABLE = [
  ["", ""],
  // index 0 is not used
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""]
];
var STATIC_TABLE_LENGTH = 61;

// dissectors/http2/hpack.ts
var MAX_HPACK_TABLE_SIZE = 65536;
var MAX_HEADER_LIST_BYTES = 65536;
var MAX_HPACK_STRING = 65536;
var ENTRY_OVERHEAD = 32;
var HpackStatus = { OK: 0, ERROR: 1, LIST_TOO_LONG: 2 };
var latin1 = new TextDecoder("latin1");
var HpackDecoder = class {
  /** Dynamic table as a ring: newest entry at `head - 1`. */
  names;
  values;
  head;
  count;
  /** Current size in RFC 7541 §4.1 octets. */
  size;
  /** Size the encoder last set with a dynamic table size update. */
  maxSize;
  /** SETTINGS_HEADER_TABLE_SIZE announced by the decoding endpoint (bounds size updates). */
  settingsLimit;
  failed;
  scratch;
  // Cursor over the block being decoded (fields, not locals, so helpers return plain numbers).
  pos;
  constructor() {
    this.names = new Array(64).fill("");
    this.values = new Array(64).fill("");
    this.head = 0;
    this.count = 0;
    this.size = 0;
    this.maxSize = 4096;
    this.settingsLimit = 4096;
    this.failed = false;
    this.scratch = new Uint8Array(1024);
    this.pos = 0;
  }
  /** The decoding endpoint announced SETTINGS_HEADER_TABLE_SIZE. */
  setSettingsLimit(limit) {
    this.settingsLimit = Math.min(limit, MAX_HPACK_TABLE_SIZE);
  }
  /** Dynamic table entries, newest first (index 62 first), for tests and diagnostics. */
  dynamicEntries() {
    const out = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - 1 - i + this.names.length * 2) % this.names.length;
      out.push([this.names[slot], this.values[slot]]);
    }
    return out;
  }
  /**
   * Decodes one complete header block. Fields go to `sink` until the list exceeds
   * MAX_HEADER_LIST_BYTES (then LIST_TOO_LONG: decoding continues to keep the table in sync).
   */
  decode(block, start, end, sink) {
    if (this.failed) return HpackStatus.ERROR;
    this.pos = start;
    let listBytes = 0;
    let tooLong = false;
    let sawField = false;
    while (this.pos < end) {
      const b = block[this.pos];
      let name;
      let value;
      if (b & 128) {
        const index = this.readInt(block, end, 7);
        if (index <= 0) return this.fail();
        const slot = this.lookup(index);
        if (slot < 0) return this.fail();
        name = this.nameAt(index, slot);
        value = this.valueAt(index, slot);
      } else if ((b & 224) === 32) {
        const newSize = this.readInt(block, end, 5);
        if (newSize < 0 || sawField || newSize > Math.max(this.settingsLimit, 4096)) return this.fail();
        this.maxSize = newSize;
        this.evictTo(newSize);
        continue;
      } else {
        const incremental = (b & 192) === 64;
        const index = this.readInt(block, end, incremental ? 6 : 4);
        if (index < 0) return this.fail();
        if (index === 0) {
          const n = this.readString(block, end);
          if (n === null) return this.fail();
          name = n;
        } else {
          const slot = this.lookup(index);
          if (slot < 0) return this.fail();
          name = this.nameAt(index, slot);
        }
        const v = this.readString(block, end);
        if (v === null) return this.fail();
        value = v;
        if (incremental) this.insert(name, value);
      }
      sawField = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > MAX_HEADER_LIST_BYTES) tooLong = true;
      else if (sink !== null) sink.onHeader(name, value);
    }
    return tooLong ? HpackStatus.LIST_TOO_LONG : HpackStatus.OK;
  }
  fail() {
    this.failed = true;
    return HpackStatus.ERROR;
  }
  /** RFC 7541 §5.1 integer with an N-bit prefix at `pos`; -1 when truncated or absurdly large. */
  readInt(buf, end, prefixBits) {
    const mask = (1 << prefixBits) - 1;
    let value = buf[this.pos++] & mask;
    if (value < mask) return value;
    let shift = 0;
    for (; ; ) {
      if (this.pos >= end || shift > 21) return -1;
      const b = buf[this.pos++];
      value += (b & 127) * 2 ** shift;
      shift += 7;
      if ((b & 128) === 0) return value;
    }
  }
  /** RFC 7541 §5.2 string literal at `pos`; null when malformed. */
  readString(buf, end) {
    if (this.pos >= end) return null;
    const huffman = (buf[this.pos] & 128) !== 0;
    const len = this.readInt(buf, end, 7);
    if (len < 0 || len > end - this.pos || len > MAX_HPACK_STRING) return null;
    const s = this.pos;
    this.pos += len;
    if (!huffman) return latin1.decode(buf.subarray(s, s + len));
    const need = Math.ceil(len * 8 / 5) + 1;
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const n = huffmanDecode(buf, s, s + len, this.scratch);
    if (n < 0) return null;
    return latin1.decode(this.scratch.subarray(0, n));
  }
  /** Ring slot of a dynamic index, 0 for static indexes, -1 when out of range. */
  lookup(index) {
    if (index <= STATIC_TABLE_LENGTH) return 0;
    const d = index - STATIC_TABLE_LENGTH - 1;
    if (d >= this.count) return -1;
    return (this.head - 1 - d + this.names.length * 2) % this.names.length;
  }
  nameAt(index, slot) {
    return index <= STATIC_TABLE_LENGTH ? STATIC_TABLE[index][0] : this.names[slot];
  }
  valueAt(index, slot) {
    return index <= STATIC_TABLE_LENGTH ? STATIC_TABLE[index][1] : this.values[slot];
  }
  insert(name, value) {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.count === this.names.length) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.names.length;
    this.count++;
    this.size += entrySize;
  }
  evictTo(target) {
    while (this.size > target && this.count > 0) {
      const slot = (this.head - this.count + this.names.length * 2) % this.names.length;
      this.size -= this.names[slot].length + this.values[slot].length + ENTRY_OVERHEAD;
      this.names[slot] = "";
      this.values[slot] = "";
      this.count--;
    }
  }
  grow() {
    const n = this.names.length;
    const names = new Array(n * 2).fill("");
    const values = new Array(n * 2).fill("");
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i + n * 2) % n;
      names[i] = this.names[slot];
      values[i] = this.values[slot];
    }
    this.names = names;
    this.values = values;
    this.head = this.count;
  }
};

// dissectors/http2/http2-dissector.ts
var MAX_STREAMS = 1e3;
var MAX_CONTROL_FRAME_BYTES = 65536;
var MAX_HEADER_BLOCK_BYTES = 65536;
var CLIENT_PREFACE = new Uint8Array(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
var FRAME_DATA = 0;
var FRAME_HEADERS = 1;
var FRAME_RST_STREAM = 3;
var FRAME_SETTINGS = 4;
var FRAME_PUSH_PROMISE = 5;
var FRAME_GOAWAY = 7;
var FRAME_CONTINUATION = 9;
var FLAG_END_STREAM = 1;
var FLAG_END_HEADERS = 4;
var FLAG_PADDED = 8;
var FLAG_PRIORITY = 32;
var ST_PREFACE = 0;
var ST_HEADER = 1;
var ST_PAYLOAD = 2;
var ST_SKIP = 3;
var ST_DEAD = 4;
function probeHttp2(dir, data, start, end) {
  const len = end - start;
  if (dir === 0) {
    const n = Math.min(len, CLIENT_PREFACE.length);
    for (let i = 0; i < n; i++) if (data[start + i] !== CLIENT_PREFACE[i]) return ProbeResult.NO_MATCH;
    return len >= CLIENT_PREFACE.length ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
  }
  if (len >= 1 && data[start] !== 0) return ProbeResult.NO_MATCH;
  if (len >= 3 && (data[start + 1] << 8 | data[start + 2]) % 6 !== 0) return ProbeResult.NO_MATCH;
  if (len >= 4 && data[start + 3] !== FRAME_SETTINGS) return ProbeResult.NO_MATCH;
  if (len >= 5 && (data[start + 4] & 254) !== 0) return ProbeResult.NO_MATCH;
  for (let i = 5; i < 9 && i < len; i++) if ((data[start + i] & (i === 5 ? 127 : 255)) !== 0) return ProbeResult.NO_MATCH;
  return len >= 9 ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
}
var Http2Direction = class {
  state;
  prefaceMatched;
  hdr;
  hdrLen;
  frameLen;
  frameType;
  frameFlags;
  frameStream;
  remaining;
  /** DATA frame: body bytes still to count (excludes padding); -1 until the pad length is known. */
  dataBody;
  buf;
  bufLen;
  block;
  blockLen;
  blockStream;
  blockEndStream;
  blockPromised;
  blockOverflow;
  inBlock;
  hpack;
  constructor(expectPreface) {
    this.state = expectPreface ? ST_PREFACE : ST_HEADER;
    this.prefaceMatched = 0;
    this.hdr = new Uint8Array(9);
    this.hdrLen = 0;
    this.frameLen = 0;
    this.frameType = 0;
    this.frameFlags = 0;
    this.frameStream = 0;
    this.remaining = 0;
    this.dataBody = 0;
    this.buf = new Uint8Array(0);
    this.bufLen = 0;
    this.block = new Uint8Array(0);
    this.blockLen = 0;
    this.blockStream = 0;
    this.blockEndStream = false;
    this.blockPromised = 0;
    this.blockOverflow = false;
    this.inBlock = false;
    this.hpack = new HpackDecoder();
  }
};
var FieldSink = class {
  rec;
  response;
  constructor() {
    this.rec = null;
    this.response = false;
  }
  onHeader(name, value) {
    const rec = this.rec;
    if (rec === null) return;
    if (this.response) {
      if (name === ":status") {
        const s = Number.parseInt(value, 10);
        if (Number.isFinite(s) && (rec.status === null || rec.status < 200)) rec.status = s;
      } else if (name === "content-type" && rec.responseContentType === null) {
        rec.responseContentType = boundValue(value);
      }
      return;
    }
    switch (name) {
      case ":method":
        rec.method = boundValue(value);
        break;
      case ":path":
        rec.path = value.length > MAX_PATH_CHARS ? value.slice(0, MAX_PATH_CHARS) : value;
        break;
      case ":authority":
        rec.host = boundValue(value);
        break;
      case "host":
        if (rec.host === null) rec.host = boundValue(value);
        break;
      case "user-agent":
        rec.userAgent = boundValue(value);
        break;
      case "content-type":
        rec.contentType = boundValue(value);
        break;
      case "authorization":
        applyAuthorization(rec, value);
        break;
      case "x-forwarded-for":
        rec.xForwardedFor = boundValue(value);
        break;
      case "x-forwarded-uri":
        rec.xForwardedUri = boundValue(value);
        break;
      case "x-forwarded-host":
        rec.xForwardedHost = boundValue(value);
        break;
      case "x-forwarded-proto":
        rec.xForwardedProto = boundValue(value);
        break;
      default:
        break;
    }
  }
};
var Http2Dissector = class {
  id = "http2";
  anomaly;
  dirs;
  records;
  /** Streams whose response is still expected, by stream id. */
  active;
  sink;
  streamsSeen;
  // Capture time and frame of the bytes being fed, initialised here rather than in the constructor:
  // a number field declared without a value starts undefined and would box every time stored after.
  ts = 0;
  frame = 0;
  /** Server port, when known, helps the Kubernetes path parser tell kubelet paths apart. */
  port;
  goAway;
  resets;
  constructor(anomaly) {
    this.anomaly = anomaly;
    this.dirs = [new Http2Direction(true), new Http2Direction(false)];
    this.records = [];
    this.active = /* @__PURE__ */ new Map();
    this.sink = new FieldSink();
    this.streamsSeen = 0;
    this.port = void 0;
    this.goAway = null;
    this.resets = 0;
  }
  /**
   * Continue a connection upgraded from HTTP/1.1 (`Upgrade: h2c`, RFC 7540 §3.2): the request
   * that asked for the upgrade becomes stream 1, whose response arrives as HTTP/2 frames.
   */
  startUpgraded(request) {
    const rec = {
      ...request,
      version: "2",
      streamId: 1,
      status: null,
      reason: null,
      responseContentType: null,
      responseBodyBytes: 0,
      upgrade: null
    };
    this.records.push(rec);
    this.active.set(1, rec);
    this.streamsSeen = 1;
  }
  result() {
    return this.records;
  }
  feed(dir, data, start, end, at) {
    const d = this.dirs[dir];
    this.ts = at.ts;
    this.frame = at.frame;
    let pos = start;
    while (pos < end) {
      switch (d.state) {
        case ST_PREFACE: {
          while (pos < end && d.prefaceMatched < CLIENT_PREFACE.length) {
            if (data[pos] !== CLIENT_PREFACE[d.prefaceMatched]) {
              this.anomaly("http2.bad_preface");
              d.state = ST_DEAD;
              return;
            }
            pos++;
            d.prefaceMatched++;
          }
          if (d.prefaceMatched === CLIENT_PREFACE.length) d.state = ST_HEADER;
          break;
        }
        case ST_HEADER: {
          if (d.hdrLen === 0 && end - pos >= 9) {
            this.startFrame(d, data, pos);
            pos += 9;
          } else {
            while (pos < end && d.hdrLen < 9) d.hdr[d.hdrLen++] = data[pos++];
            if (d.hdrLen < 9) return;
            d.hdrLen = 0;
            this.startFrame(d, d.hdr, 0);
          }
          if (d.state === ST_PAYLOAD && end - pos >= d.frameLen) {
            this.onFrame(dir, d, data, pos, pos + d.frameLen);
            pos += d.frameLen;
            d.state = ST_HEADER;
          } else if (d.state === ST_HEADER && d.frameLen === 0) {
            this.onFrame(dir, d, data, pos, pos);
          }
          break;
        }
        case ST_PAYLOAD: {
          const n = Math.min(d.remaining, end - pos);
          if (d.bufLen + n > d.buf.length) d.buf = grow(d.buf, d.bufLen, d.bufLen + n, MAX_CONTROL_FRAME_BYTES);
          d.buf.set(data.subarray(pos, pos + n), d.bufLen);
          d.bufLen += n;
          d.remaining -= n;
          pos += n;
          if (d.remaining === 0) {
            d.state = ST_HEADER;
            this.onFrame(dir, d, d.buf, 0, d.bufLen);
            d.bufLen = 0;
          }
          break;
        }
        case ST_SKIP: {
          if (d.dataBody < 0) {
            d.dataBody = Math.max(0, d.frameLen - 1 - data[pos]);
            this.countData(dir, d.frameStream, d.dataBody);
          }
          const n = Math.min(d.remaining, end - pos);
          d.remaining -= n;
          pos += n;
          if (d.remaining === 0) {
            d.state = ST_HEADER;
            if (d.frameType === FRAME_DATA && (d.frameFlags & FLAG_END_STREAM) !== 0) this.endStream(dir, d.frameStream);
          }
          break;
        }
        default:
          return;
      }
    }
  }
  gap(dir, bytes) {
    const d = this.dirs[dir];
    if (d.state === ST_SKIP && d.dataBody >= 0 && bytes < d.remaining) {
      d.remaining -= bytes;
      return;
    }
    d.state = ST_DEAD;
  }
  end(_dir) {
  }
  startFrame(d, h, o) {
    d.frameLen = h[o] << 16 | h[o + 1] << 8 | h[o + 2];
    d.frameType = h[o + 3];
    d.frameFlags = h[o + 4];
    d.frameStream = (h[o + 5] & 127) * 16777216 + (h[o + 6] << 16 | h[o + 7] << 8 | h[o + 8]);
    d.remaining = d.frameLen;
    d.bufLen = 0;
    if (d.frameType === FRAME_DATA) {
      const padded = (d.frameFlags & FLAG_PADDED) !== 0 && d.frameLen > 0;
      d.dataBody = padded ? -1 : d.frameLen;
      if (!padded) this.countData(d === this.dirs[0] ? 0 : 1, d.frameStream, d.frameLen);
      d.state = ST_SKIP;
      if (d.frameLen === 0) {
        d.state = ST_HEADER;
        if ((d.frameFlags & FLAG_END_STREAM) !== 0) this.endStream(d === this.dirs[0] ? 0 : 1, d.frameStream);
      }
      return;
    }
    if (d.frameLen > MAX_CONTROL_FRAME_BYTES) {
      this.anomaly("http2.frame_too_large");
      if (d.frameType === FRAME_HEADERS || d.frameType === FRAME_CONTINUATION || d.frameType === FRAME_PUSH_PROMISE) {
        d.hpack.failed = true;
        d.inBlock = false;
      }
      d.state = ST_SKIP;
      d.dataBody = 0;
      return;
    }
    d.state = d.frameLen === 0 ? ST_HEADER : ST_PAYLOAD;
  }
  onFrame(dir, d, p, s, e) {
    const flags = d.frameFlags;
    switch (d.frameType) {
      case FRAME_HEADERS: {
        let fs = s;
        let fe = e;
        if (flags & FLAG_PADDED) {
          if (fs >= fe) return this.hpackError(d);
          fe -= p[fs];
          fs++;
        }
        if (flags & FLAG_PRIORITY) fs += 5;
        if (fs > fe) return this.hpackError(d);
        this.beginBlock(dir, d, d.frameStream, (flags & FLAG_END_STREAM) !== 0, 0, p, fs, fe, (flags & FLAG_END_HEADERS) !== 0);
        return;
      }
      case FRAME_PUSH_PROMISE: {
        let fs = s;
        let fe = e;
        if (flags & FLAG_PADDED) {
          if (fs >= fe) return this.hpackError(d);
          fe -= p[fs];
          fs++;
        }
        if (fe - fs < 4) return this.hpackError(d);
        const promised = (p[fs] & 127) * 16777216 + (p[fs + 1] << 16 | p[fs + 2] << 8 | p[fs + 3]);
        fs += 4;
        this.beginBlock(dir, d, d.frameStream, false, promised, p, fs, fe, (flags & FLAG_END_HEADERS) !== 0);
        return;
      }
      case FRAME_CONTINUATION: {
        if (!d.inBlock || d.frameStream !== d.blockStream) return this.hpackError(d);
        this.appendBlock(d, p, s, e);
        if (flags & FLAG_END_HEADERS) this.finishBlock(dir, d, d.block, 0, d.blockLen);
        return;
      }
      case FRAME_SETTINGS: {
        if (flags & 1) return;
        for (let i = s; i + 6 <= e; i += 6) {
          const id = p[i] << 8 | p[i + 1];
          const value = p[i + 2] * 16777216 + (p[i + 3] << 16 | p[i + 4] << 8 | p[i + 5]);
          if (id === 1) this.dirs[dir === 0 ? 1 : 0].hpack.setSettingsLimit(value);
        }
        return;
      }
      case FRAME_RST_STREAM: {
        this.resets++;
        this.active.delete(d.frameStream);
        return;
      }
      case FRAME_GOAWAY: {
        if (e - s >= 8) {
          this.goAway = {
            from: dir === 0 ? "client" : "server",
            lastStreamId: (p[s] & 127) * 16777216 + (p[s + 1] << 16 | p[s + 2] << 8 | p[s + 3]),
            errorCode: p[s + 4] * 16777216 + (p[s + 5] << 16 | p[s + 6] << 8 | p[s + 7])
          };
        }
        return;
      }
      default:
        return;
    }
  }
  beginBlock(dir, d, stream, endStream, promised, p, s, e, endHeaders) {
    d.blockStream = stream;
    d.blockEndStream = endStream;
    d.blockPromised = promised;
    d.blockOverflow = false;
    d.blockLen = 0;
    if (endHeaders) {
      d.inBlock = false;
      this.decodeBlock(dir, d, p, s, e);
      return;
    }
    d.inBlock = true;
    this.appendBlock(d, p, s, e);
  }
  appendBlock(d, p, s, e) {
    const n = e - s;
    if (d.blockLen + n > MAX_HEADER_BLOCK_BYTES) {
      d.blockOverflow = true;
      return;
    }
    if (d.blockLen + n > d.block.length) d.block = grow(d.block, d.blockLen, d.blockLen + n, MAX_HEADER_BLOCK_BYTES);
    d.block.set(p.subarray(s, e), d.blockLen);
    d.blockLen += n;
  }
  finishBlock(dir, d, p, s, e) {
    d.inBlock = false;
    if (d.blockOverflow) {
      this.anomaly("http2.frame_too_large");
      d.hpack.failed = true;
      return;
    }
    this.decodeBlock(dir, d, p, s, e);
    d.blockLen = 0;
  }
  decodeBlock(dir, d, p, s, e) {
    if (d.hpack.failed) return;
    const sink = this.sink;
    sink.rec = null;
    let isRequest = false;
    let stream = d.blockStream;
    if (dir === 0 || d.blockPromised !== 0) {
      if (d.blockPromised !== 0) stream = d.blockPromised;
      if (!this.active.has(stream) && !this.isKnownStream(stream)) {
        this.streamsSeen++;
        if (this.records.length < MAX_STREAMS) {
          const rec2 = newHttpRecord("", "", "2", this.ts, this.frame);
          rec2.streamId = stream;
          this.records.push(rec2);
          this.active.set(stream, rec2);
          sink.rec = rec2;
          sink.response = false;
          isRequest = true;
        } else {
          this.anomaly("http2.too_many_streams");
        }
      }
    } else {
      const rec2 = this.active.get(stream);
      if (rec2 !== void 0) {
        sink.rec = rec2;
        sink.response = true;
      }
    }
    const status = d.hpack.decode(p, s, e, sink);
    const rec = sink.rec;
    sink.rec = null;
    if (status === HpackStatus.ERROR) {
      this.anomaly("http2.hpack_error");
      return;
    }
    if (status === HpackStatus.LIST_TOO_LONG) this.anomaly("http2.header_list_too_long");
    if (isRequest && rec !== null) {
      if (rec.contentType !== null && rec.contentType.startsWith("application/grpc")) rec.grpcMethod = grpcMethodFromPath(rec.path);
      rec.k8s = parseK8sPath(rec.method, rec.path, this.port);
    }
    if (d.blockEndStream) this.endStream(dir, d.blockStream);
  }
  /** A stream id at or below one already kept that is no longer active (e.g. client trailers). */
  isKnownStream(stream) {
    const last = this.records.length > 0 ? this.records[this.records.length - 1].streamId ?? 0 : 0;
    return stream <= last && stream % 2 === 1;
  }
  countData(dir, stream, n) {
    const rec = this.active.get(stream);
    if (rec === void 0) return;
    if (dir === 0) rec.requestBodyBytes += n;
    else rec.responseBodyBytes += n;
  }
  endStream(dir, stream) {
    if (dir === 1) this.active.delete(stream);
  }
  hpackError(d) {
    this.anomaly("http2.hpack_error");
    d.hpack.failed = true;
    d.inBlock = false;
  }
};
function grow(buf, used, need, cap) {
  const size2 = Math.min(cap, Math.max(need, buf.length * 2, 256));
  const out = new Uint8Array(size2);
  out.set(buf.subarray(0, used));
  return out;
}
var http2Factory = {
  id: "http2",
  probe: probeHttp2,
  create: (anomaly, flow) => {
    const d = new Http2Dissector(anomaly);
    d.port = flow?.serverPort;
    return d;
  }
};

// dissectors/http/http1-dissector.ts
var MAX_HEADER_BYTES = 16384;
var MAX_REQUESTS_PER_FLOW = 1e3;
var MAX_PENDING = 1024;
var MAX_CHUNK_LINE = 4096;
var UPGRADE_PROBE_BYTES = 24;
var METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"].map(
  (m) => new Uint8Array(Buffer.from(m + " ", "latin1"))
);
var HTTP1_PREFIX = new Uint8Array(Buffer.from("HTTP/1.", "latin1"));
function probeHttp1(dir, data, start, end) {
  const len = end - start;
  if (len <= 0) return ProbeResult.NEED_MORE;
  if (dir === 1) return matchPrefix(HTTP1_PREFIX, data, start, len);
  let result = ProbeResult.NO_MATCH;
  for (const m of METHODS) {
    const r = matchPrefix(m, data, start, len);
    if (r === ProbeResult.MATCH) return r;
    if (r === ProbeResult.NEED_MORE) result = r;
  }
  return result;
}
function matchPrefix(p, data, start, len) {
  const n = Math.min(len, p.length);
  for (let i = 0; i < n; i++) if (data[start + i] !== p[i]) return ProbeResult.NO_MATCH;
  return len >= p.length ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
}
var ST_HEAD = 0;
var ST_BODY = 1;
var ST_CHUNK_SIZE = 2;
var ST_CHUNK_DATA = 3;
var ST_CHUNK_END = 4;
var ST_TRAILERS = 5;
var ST_BODY_TO_CLOSE = 6;
var ST_UPGRADE_WAIT = 7;
var ST_TUNNEL = 8;
var ST_HTTP2 = 9;
var ST_DEAD2 = 10;
var PENDING_HEAD = 1;
var PENDING_CONNECT = 2;
var PENDING_UPGRADE = 4;
var Http1Direction = class {
  state;
  headStarted;
  headBuf;
  headLen;
  headOverflow;
  /** Bytes of the current line seen before this chunk (for finding the empty line across chunks). */
  lineBytes;
  lastWasCR;
  // Initialised here, not in the constructor: a number field declared without a value starts
  // undefined, and a time stored in it later is boxed at every store.
  headTs = 0;
  headFrame = 0;
  remaining;
  chunkSize;
  chunkDigits;
  chunkPhase;
  chunkLine;
  /** Record whose body is being counted, null when not kept. */
  rec;
  /** Message after which the stream stops being HTTP/1 (upgrade request, CONNECT). */
  upgradeAfter;
  pend;
  pendLen;
  constructor() {
    this.state = ST_HEAD;
    this.headStarted = false;
    this.headBuf = new Uint8Array(0);
    this.headLen = 0;
    this.headOverflow = false;
    this.lineBytes = 0;
    this.lastWasCR = false;
    this.remaining = 0;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkPhase = 0;
    this.chunkLine = 0;
    this.rec = null;
    this.upgradeAfter = false;
    this.pend = new Uint8Array(UPGRADE_PROBE_BYTES);
    this.pendLen = 0;
  }
};
var Http1Dissector = class {
  id = "http";
  anomaly;
  dirs;
  head;
  records;
  pending;
  requestsSeen;
  responsesSeen;
  /** Set after `Upgrade: h2c` succeeded. */
  h2;
  h2cRequested;
  /** Server port, when the registry knows it: lets the path parser recognise kubelet paths. */
  port;
  constructor(anomaly) {
    this.anomaly = anomaly;
    this.dirs = [new Http1Direction(), new Http1Direction()];
    this.head = new MessageHead();
    this.records = [];
    this.pending = new Uint8Array(MAX_PENDING);
    this.requestsSeen = 0;
    this.responsesSeen = 0;
    this.h2 = null;
    this.h2cRequested = false;
    this.port = void 0;
  }
  result() {
    return this.h2 === null ? this.records : this.records.concat(this.h2.result());
  }
  /** The HTTP/2 parser the connection was handed to after `Upgrade: h2c`, if any. */
  get http2() {
    return this.h2;
  }
  feed(dir, data, start, end, at) {
    const d = this.dirs[dir];
    let pos = start;
    while (pos < end) {
      switch (d.state) {
        case ST_HEAD:
          pos = this.feedHead(dir, d, data, pos, end, at);
          break;
        case ST_BODY: {
          const n = Math.min(d.remaining, end - pos);
          d.remaining -= n;
          pos += n;
          this.countBody(dir, d, n);
          if (d.remaining === 0) this.messageDone(dir, d);
          break;
        }
        case ST_CHUNK_SIZE:
          pos = this.feedChunkSize(dir, d, data, pos, end);
          break;
        case ST_CHUNK_DATA: {
          const n = Math.min(d.remaining, end - pos);
          d.remaining -= n;
          pos += n;
          this.countBody(dir, d, n);
          if (d.remaining === 0) d.state = ST_CHUNK_END;
          break;
        }
        case ST_CHUNK_END: {
          const c = data[pos++];
          if (c === 10) d.state = ST_CHUNK_SIZE;
          else if (c !== 13) this.fail(d, "http.bad_chunk_size");
          break;
        }
        case ST_TRAILERS:
          pos = this.feedTrailers(dir, d, data, pos, end);
          break;
        case ST_BODY_TO_CLOSE:
          this.countBody(dir, d, end - pos);
          pos = end;
          break;
        case ST_UPGRADE_WAIT:
          pos = this.feedUpgradeWait(d, data, pos, end, at);
          break;
        case ST_HTTP2:
          if (this.h2 !== null) this.h2.feed(dir, data, pos, end, at);
          pos = end;
          break;
        default:
          return;
      }
    }
  }
  gap(dir, bytes) {
    const d = this.dirs[dir];
    switch (d.state) {
      case ST_BODY:
      case ST_CHUNK_DATA:
        if (bytes < d.remaining) {
          d.remaining -= bytes;
          this.countBody(dir, d, bytes);
          return;
        }
        break;
      case ST_BODY_TO_CLOSE:
        this.countBody(dir, d, bytes);
        return;
      case ST_TUNNEL:
      case ST_DEAD2:
        return;
      case ST_HTTP2:
        this.h2?.gap(dir, bytes);
        return;
      case ST_UPGRADE_WAIT:
        d.state = ST_TUNNEL;
        return;
      default:
        break;
    }
    this.fail(d, "http.gap");
  }
  end(dir) {
    const d = this.dirs[dir];
    if (d.state === ST_HTTP2) this.h2?.end(dir);
  }
  // --- header sections -------------------------------------------------------------------------
  feedHead(dir, d, data, pos, end, at) {
    if (!d.headStarted) {
      while (pos < end && (data[pos] === 13 || data[pos] === 10)) pos++;
      if (pos === end) return pos;
      d.headStarted = true;
      d.headTs = at.ts;
      d.headFrame = at.frame;
      d.lineBytes = 0;
      d.lastWasCR = false;
    }
    const segStart = pos;
    const stop = findEmptyLine(d, data, pos, end);
    if (stop < 0) {
      this.appendHead(d, data, segStart, end);
      return end;
    }
    const after = stop + 1;
    let ok;
    if (d.headLen === 0 && !d.headOverflow) {
      ok = parseHead(data, segStart, after, this.head, dir === 0);
    } else {
      this.appendHead(d, data, segStart, after);
      ok = parseHead(d.headBuf, 0, d.headLen, this.head, dir === 0);
    }
    d.headLen = 0;
    d.headOverflow = false;
    d.headStarted = false;
    if (!ok) {
      this.fail(d, dir === 0 ? "http.bad_request_line" : "http.bad_status_line");
      return end;
    }
    if (this.head.tooManyHeaders) this.anomaly("http.too_many_headers");
    if (dir === 0) this.onRequest(d);
    else this.onResponse(d);
    return after;
  }
  appendHead(d, data, s, e) {
    if (d.headOverflow) return;
    let n = e - s;
    if (d.headLen + n > MAX_HEADER_BYTES) {
      this.anomaly("http.header_too_long");
      d.headOverflow = true;
      n = MAX_HEADER_BYTES - d.headLen;
    }
    if (d.headLen + n > d.headBuf.length) {
      const nb = new Uint8Array(Math.min(MAX_HEADER_BYTES, Math.max(d.headLen + n, d.headBuf.length * 2, 512)));
      nb.set(d.headBuf.subarray(0, d.headLen));
      d.headBuf = nb;
    }
    d.headBuf.set(data.subarray(s, s + n), d.headLen);
    d.headLen += n;
  }
  onRequest(d) {
    const h = this.head;
    const seq = this.requestsSeen++;
    const method = h.method;
    let flags = 0;
    if (method === "HEAD") flags |= PENDING_HEAD;
    if (method === "CONNECT") flags |= PENDING_CONNECT;
    const upgrading = h.upgrade !== null && h.connectionUpgrade;
    if (upgrading) flags |= PENDING_UPGRADE;
    this.pending[seq % MAX_PENDING] = flags;
    let rec = null;
    if (this.records.length < MAX_REQUESTS_PER_FLOW) {
      rec = newHttpRecord(boundValue(method), h.target, h.version, d.headTs, d.headFrame);
      rec.host = h.host;
      rec.userAgent = h.userAgent;
      rec.contentType = h.contentType;
      if (h.authorization !== null) applyAuthorization(rec, h.authorization);
      rec.xForwardedFor = h.xForwardedFor;
      rec.xForwardedUri = h.xForwardedUri;
      rec.xForwardedHost = h.xForwardedHost;
      rec.xForwardedProto = h.xForwardedProto;
      rec.upgrade = upgrading ? h.upgrade : null;
      rec.streamProtocol = h.streamProtocol;
      rec.k8s = parseK8sPath(rec.method, rec.path, this.port);
      this.records.push(rec);
    } else {
      this.anomaly("http.too_many_requests");
    }
    h.authorization = null;
    if (upgrading && h.upgrade.toLowerCase().includes("h2c")) this.h2cRequested = true;
    d.rec = rec;
    d.upgradeAfter = upgrading || method === "CONNECT";
    if (h.chunked) this.startChunked(d);
    else if (h.contentLength > 0) {
      d.state = ST_BODY;
      d.remaining = h.contentLength;
    } else this.messageDone(0, d);
  }
  onResponse(d) {
    const h = this.head;
    const status = h.status;
    if (this.responsesSeen >= this.requestsSeen) {
      this.anomaly("http.response_without_request");
      d.rec = null;
      this.frameResponse(d, 0, status);
      return;
    }
    const seq = this.responsesSeen;
    const flags = this.pending[seq % MAX_PENDING];
    const rec = seq < this.records.length ? this.records[seq] : null;
    if (status >= 100 && status < 200 && status !== 101) {
      d.rec = null;
      this.messageDone(1, d);
      return;
    }
    this.responsesSeen++;
    if (rec !== null) {
      rec.status = status;
      rec.reason = h.reason;
      rec.responseContentType = h.contentType;
    }
    d.rec = rec;
    if (status === 101) {
      if (rec !== null && h.upgrade !== null) rec.upgrade = h.upgrade;
      const proto = (h.upgrade ?? rec?.upgrade ?? "").toLowerCase();
      if (proto.includes("h2c") && rec !== null) this.startHttp2(rec);
      else d.state = ST_TUNNEL;
      const c = this.dirs[0];
      if (c.state === ST_UPGRADE_WAIT && c.pendLen === 0) c.state = this.h2 !== null ? ST_UPGRADE_WAIT : ST_TUNNEL;
      return;
    }
    if ((flags & PENDING_CONNECT) !== 0 && status >= 200 && status < 300) {
      d.state = ST_TUNNEL;
      return;
    }
    this.frameResponse(d, flags, status);
  }
  frameResponse(d, flags, status) {
    const h = this.head;
    if ((flags & PENDING_HEAD) !== 0 || status === 204 || status === 304 || status >= 100 && status < 200) {
      this.messageDone(1, d);
    } else if (h.chunked) {
      this.startChunked(d);
    } else if (h.otherCoding) {
      d.state = ST_BODY_TO_CLOSE;
    } else if (h.contentLength >= 0) {
      if (h.contentLength === 0) this.messageDone(1, d);
      else {
        d.state = ST_BODY;
        d.remaining = h.contentLength;
      }
    } else {
      d.state = ST_BODY_TO_CLOSE;
    }
  }
  startHttp2(rec) {
    if (this.h2 === null) {
      this.h2 = new Http2Dissector(this.anomaly);
      this.h2.port = this.port;
      this.h2.startUpgraded(rec);
    }
    this.dirs[1].state = ST_HTTP2;
  }
  messageDone(dir, d) {
    d.rec = null;
    if (dir === 0 && d.upgradeAfter) {
      d.upgradeAfter = false;
      d.state = ST_UPGRADE_WAIT;
      d.pendLen = 0;
      return;
    }
    d.state = ST_HEAD;
  }
  /**
   * After an upgrade request (or CONNECT) the client's next bytes are either another request
   * (the upgrade was refused), the HTTP/2 preface (h2c), or the new protocol. Up to 24 bytes are
   * held to tell them apart; the answer is the same however those bytes were split.
   */
  feedUpgradeWait(d, data, pos, end, at) {
    const take = Math.min(end - pos, UPGRADE_PROBE_BYTES - d.pendLen);
    d.pend.set(data.subarray(pos, pos + take), d.pendLen);
    d.pendLen += take;
    const h1 = probeHttp1(0, d.pend, 0, d.pendLen);
    const h2 = this.h2cRequested ? probeHttp2(0, d.pend, 0, d.pendLen) : ProbeResult.NO_MATCH;
    if (h1 === ProbeResult.NEED_MORE || h2 === ProbeResult.NEED_MORE) {
      if (d.pendLen < UPGRADE_PROBE_BYTES) return pos + take;
    }
    const held = d.pendLen;
    d.pendLen = 0;
    if (h1 === ProbeResult.MATCH) {
      d.state = ST_HEAD;
      const fromEarlier = held - take;
      if (fromEarlier > 0) {
        const copy = d.pend.slice(0, fromEarlier);
        this.feed(0, copy, 0, fromEarlier, at);
      }
      return pos;
    }
    if (h2 === ProbeResult.MATCH) {
      if (this.h2 === null) {
        const rec = this.records.length > 0 ? this.records[this.records.length - 1] : null;
        this.h2 = new Http2Dissector(this.anomaly);
        this.h2.port = this.port;
        if (rec !== null) this.h2.startUpgraded(rec);
      }
      d.state = ST_HTTP2;
      const fromEarlier = held - take;
      if (fromEarlier > 0) this.h2.feed(0, d.pend.slice(0, fromEarlier), 0, fromEarlier, at);
      return pos;
    }
    d.state = ST_TUNNEL;
    return end;
  }
  // --- chunked transfer coding -----------------------------------------------------------------
  startChunked(d) {
    d.state = ST_CHUNK_SIZE;
    d.chunkSize = 0;
    d.chunkDigits = 0;
    d.chunkPhase = 0;
    d.chunkLine = 0;
  }
  feedChunkSize(dir, d, data, pos, end) {
    while (pos < end) {
      const c = data[pos++];
      if (++d.chunkLine > MAX_CHUNK_LINE) {
        this.fail(d, "http.bad_chunk_size");
        return end;
      }
      if (c === 10) {
        if (d.chunkDigits === 0) {
          this.fail(d, "http.bad_chunk_size");
          return end;
        }
        if (d.chunkSize === 0) {
          d.state = ST_TRAILERS;
          d.lineBytes = 0;
          d.lastWasCR = false;
        } else {
          d.state = ST_CHUNK_DATA;
          d.remaining = d.chunkSize;
        }
        d.chunkSize = 0;
        d.chunkDigits = 0;
        d.chunkPhase = 0;
        d.chunkLine = 0;
        return pos;
      }
      if (d.chunkPhase === 0) {
        const v = hexValue(c);
        if (v >= 0) {
          if (++d.chunkDigits > 13) {
            this.fail(d, "http.bad_chunk_size");
            return end;
          }
          d.chunkSize = d.chunkSize * 16 + v;
        } else if (c === 59 || c === 32 || c === 9 || c === 13) {
          if (d.chunkDigits === 0) {
            this.fail(d, "http.bad_chunk_size");
            return end;
          }
          d.chunkPhase = 1;
        } else {
          this.fail(d, "http.bad_chunk_size");
          return end;
        }
      }
    }
    return pos;
  }
  feedTrailers(dir, d, data, pos, end) {
    const stop = findEmptyLine(d, data, pos, end);
    if (stop < 0) return end;
    this.messageDone(dir, d);
    return stop + 1;
  }
  // --- helpers -----------------------------------------------------------------------------------
  countBody(dir, d, n) {
    const rec = d.rec;
    if (rec === null) return;
    if (dir === 0) rec.requestBodyBytes += n;
    else rec.responseBodyBytes += n;
  }
  fail(d, code) {
    this.anomaly(code);
    d.state = ST_DEAD2;
    d.rec = null;
  }
};
function findEmptyLine(d, data, pos, end) {
  let i = pos;
  while (i < end) {
    const lf = data.indexOf(10, i);
    if (lf < 0 || lf >= end) {
      d.lineBytes += end - i;
      d.lastWasCR = data[end - 1] === 13;
      return -1;
    }
    const n = d.lineBytes + (lf - i);
    const prevCR = lf > i ? data[lf - 1] === 13 : d.lastWasCR;
    if (n === 0 || n === 1 && prevCR) {
      d.lineBytes = 0;
      d.lastWasCR = false;
      return lf;
    }
    d.lineBytes = 0;
    d.lastWasCR = false;
    i = lf + 1;
  }
  return -1;
}
function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
var http1Factory = {
  id: "http",
  probe: probeHttp1,
  create: (anomaly, flow) => {
    const d = new Http1Dissector(anomaly);
    d.port = flow?.serverPort;
    return d;
  }
};

// dissectors/ssh/kexinit.ts
import { createHash as createHash3 } from "node:crypto";
var SSH_MSG_KEXINIT = 20;
var SSH_MSG_NEWKEYS = 21;
var COOKIE_LENGTH = 16;
var NAME_LIST_COUNT = 10;
var REQUIRED_NAME_LISTS = 8;
function splitNameList(s) {
  return s.length === 0 ? [] : s.split(",");
}
function parseKexInit(buf, start, end) {
  let off = start + COOKIE_LENGTH;
  if (off > end) return null;
  const raw = [];
  for (let i = 0; i < NAME_LIST_COUNT; i++) {
    if (off + 4 > end) break;
    const len = (buf[off] << 24 >>> 0) + (buf[off + 1] << 16) + (buf[off + 2] << 8) + buf[off + 3];
    off += 4;
    if (len > end - off) break;
    raw.push(Buffer.from(buf.buffer, buf.byteOffset + off, len).toString("latin1"));
    off += len;
  }
  if (raw.length < REQUIRED_NAME_LISTS) return null;
  const complete = raw.length === NAME_LIST_COUNT && off + 5 <= end;
  return {
    lists: {
      kex: splitNameList(raw[0]),
      hostKey: splitNameList(raw[1]),
      encCS: splitNameList(raw[2]),
      encSC: splitNameList(raw[3]),
      macCS: splitNameList(raw[4]),
      macSC: splitNameList(raw[5]),
      compCS: splitNameList(raw[6]),
      compSC: splitNameList(raw[7])
    },
    raw: raw.slice(0, REQUIRED_NAME_LISTS),
    complete
  };
}
function hasshAlgorithms(k) {
  return `${k.raw[0]};${k.raw[2]};${k.raw[4]};${k.raw[6]}`;
}
function hasshServerAlgorithms(k) {
  return `${k.raw[0]};${k.raw[3]};${k.raw[5]};${k.raw[7]}`;
}
function hasshOf(algorithms) {
  return createHash3("md5").update(algorithms, "latin1").digest("hex");
}

// dissectors/ssh/ssh-probe.ts
var MAX_SSH_PROBE_BYTES = 1024;
var S = 83;
var H = 72;
var DASH = 45;
var LF = 10;
var CR = 13;
var TAB = 9;
function matchSshPrefix(data, at, end) {
  const n = end - at;
  if (n > 0 && data[at] !== S) return -1;
  if (n > 1 && data[at + 1] !== S) return -1;
  if (n > 2 && data[at + 2] !== H) return -1;
  if (n > 3 && data[at + 3] !== DASH) return -1;
  return n >= 4 ? 1 : 0;
}
function probeSsh(dir, data, start, end) {
  if (end <= start) return ProbeResult.NEED_MORE;
  if (dir === 0) {
    const m = matchSshPrefix(data, start, end);
    return m === 1 ? ProbeResult.MATCH : m === 0 ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
  }
  const limit = Math.min(end, start + MAX_SSH_PROBE_BYTES);
  let lineStart = start;
  while (lineStart < limit) {
    const m = matchSshPrefix(data, lineStart, limit);
    if (m === 1) return ProbeResult.MATCH;
    if (m === 0) return limit === end ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
    let i = lineStart;
    while (i < limit) {
      const b = data[i];
      if (b === LF) break;
      if (b < 32 && b !== CR && b !== TAB) return ProbeResult.NO_MATCH;
      if (b === 127) return ProbeResult.NO_MATCH;
      i++;
    }
    if (i >= limit) break;
    lineStart = i + 1;
  }
  return limit === end && end - start < MAX_SSH_PROBE_BYTES ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
}

// dissectors/ssh/ssh-dissector.ts
var MAX_BANNER_LINE = 255;
var MAX_LINES_BEFORE_BANNER = 64;
var MAX_PRE_BANNER_BYTES = 16 * 1024;
var MAX_PACKET_LENGTH = 35e3;
var PACKET_HEADER = 6;
var LF2 = 10;
var CR2 = 13;
var ST_BANNER = 0;
var ST_HEADER2 = 1;
var ST_COLLECT = 2;
var ST_SKIP2 = 3;
var ST_OPAQUE = 4;
var utf8 = new TextDecoder("utf-8");
var SshHalf = class {
  state = ST_BANNER;
  bytes = 0;
  // Banner wait: the current line's first MAX_BANNER_LINE bytes.
  line = new Uint8Array(MAX_BANNER_LINE);
  lineLen = 0;
  lineTotal = 0;
  linesBefore = 0;
  preBannerBytes = 0;
  banner = null;
  protocol = null;
  // Binary packets.
  header = new Uint8Array(PACKET_HEADER);
  headerLen = 0;
  msgType = 0;
  payloadLeft = 0;
  // payload bytes after the type byte still to come in this packet
  paddingLeft = 0;
  packetFrame = 0;
  collect = null;
  collectLen = 0;
  kexSeen = false;
  kex = null;
  algorithms = null;
  fingerprint = null;
  /** Frame holding the (end of the) NEWKEYS packet header: encryption starts after it. */
  encryptedFrame = 0;
};
function isSsh1(protocol) {
  return protocol !== null && protocol.startsWith("1.") && protocol !== "1.99";
}
var SshDissector = class {
  id = "ssh";
  halves;
  anomaly;
  constructor(anomaly) {
    this.anomaly = anomaly;
    this.halves = [new SshHalf(), new SshHalf()];
  }
  feed(dir, data, start, end, at) {
    const h = this.halves[dir];
    if (end > data.length) end = data.length;
    if (start < 0) start = 0;
    if (end <= start) return;
    h.bytes += end - start;
    let i = start;
    while (i < end) {
      switch (h.state) {
        case ST_BANNER:
          i = this.feedBanner(dir, h, data, i, end);
          break;
        case ST_HEADER2: {
          const hd = h.header;
          while (i < end && h.headerLen < PACKET_HEADER) hd[h.headerLen++] = data[i++];
          if (h.headerLen === PACKET_HEADER) this.startPacket(h, at.frame);
          break;
        }
        case ST_COLLECT: {
          const take = Math.min(h.payloadLeft, end - i);
          h.collect.set(data.subarray(i, i + take), h.collectLen);
          h.collectLen += take;
          h.payloadLeft -= take;
          i += take;
          if (h.payloadLeft === 0) {
            this.finishKexInit(h);
            this.afterPayload(h);
          }
          break;
        }
        case ST_SKIP2: {
          const left = h.payloadLeft + h.paddingLeft;
          const take = Math.min(left, end - i);
          i += take;
          if (take === left) {
            h.payloadLeft = 0;
            h.paddingLeft = 0;
            this.endPacket(h);
          } else if (take <= h.payloadLeft) {
            h.payloadLeft -= take;
          } else {
            h.paddingLeft -= take - h.payloadLeft;
            h.payloadLeft = 0;
          }
          break;
        }
        default:
          return;
      }
    }
  }
  gap(dir, _bytes) {
    this.halves[dir].state = ST_OPAQUE;
    this.halves[dir].collect = null;
  }
  end(_dir) {
  }
  result() {
    const c = this.halves[0];
    const s = this.halves[1];
    return {
      clientBanner: c.banner,
      serverBanner: s.banner,
      clientProtocol: c.protocol,
      serverProtocol: s.protocol,
      hassh: c.fingerprint,
      hasshAlgorithms: c.algorithms,
      hasshServer: s.fingerprint,
      hasshServerAlgorithms: s.algorithms,
      clientKex: c.kex,
      serverKex: s.kex,
      encryptedFromFrame: [c.encryptedFrame, s.encryptedFrame],
      bytes: [c.bytes, s.bytes]
    };
  }
  /** Consumes banner-wait bytes up to and including one LF; returns the next index. */
  feedBanner(dir, h, data, i, end) {
    let j = i;
    while (j < end && data[j] !== LF2) j++;
    const n = j - i;
    const room = MAX_BANNER_LINE - h.lineLen;
    const take = n < room ? n : room;
    const line = h.line;
    for (let k = 0; k < take; k++) line[h.lineLen++] = data[i + k];
    h.lineTotal += n;
    if (j === end) {
      if (h.preBannerBytes + h.lineTotal > MAX_PRE_BANNER_BYTES) this.giveUpBanner(h);
      return end;
    }
    this.endLine(dir, h);
    return j + 1;
  }
  giveUpBanner(h) {
    this.anomaly("ssh.no_banner");
    h.state = ST_OPAQUE;
  }
  /** A full line (LF seen) in banner wait: either the identification string or a line before it. */
  endLine(dir, h) {
    const total = h.lineTotal + 1;
    const l = h.line;
    const isBanner = h.lineLen >= 4 && l[0] === 83 && l[1] === 83 && l[2] === 72 && l[3] === 45;
    if (!isBanner) {
      h.linesBefore++;
      h.preBannerBytes += total;
      h.lineLen = 0;
      h.lineTotal = 0;
      if (h.linesBefore > MAX_LINES_BEFORE_BANNER || h.preBannerBytes > MAX_PRE_BANNER_BYTES) this.giveUpBanner(h);
      return;
    }
    if (total > MAX_BANNER_LINE) this.anomaly("ssh.banner_too_long");
    let len = h.lineLen;
    if (h.lineTotal === h.lineLen && len > 0 && l[len - 1] === CR2) len--;
    h.banner = utf8.decode(l.subarray(0, len));
    const dash = h.banner.indexOf("-", 4);
    h.protocol = dash > 4 ? h.banner.slice(4, dash) : h.banner.slice(4);
    h.lineLen = 0;
    h.lineTotal = 0;
    h.state = isSsh1(h.protocol) ? ST_OPAQUE : ST_HEADER2;
    const other = this.halves[dir === 0 ? 1 : 0];
    if (dir === 1 && h.state === ST_HEADER2 && isSsh1(other.protocol)) h.state = ST_OPAQUE;
    if (dir === 0 && isSsh1(h.protocol) && other.state !== ST_BANNER && !other.kexSeen) other.state = ST_OPAQUE;
  }
  startPacket(h, frame) {
    const hd = h.header;
    const packetLength = (hd[0] << 24 >>> 0) + (hd[1] << 16) + (hd[2] << 8) + hd[3];
    const padding = hd[4];
    h.headerLen = 0;
    if (packetLength > MAX_PACKET_LENGTH || packetLength < padding + 2) {
      this.anomaly("ssh.bad_packet_length");
      h.state = ST_OPAQUE;
      return;
    }
    h.msgType = hd[5];
    h.packetFrame = frame;
    h.payloadLeft = packetLength - padding - 2;
    h.paddingLeft = padding;
    if (h.msgType === SSH_MSG_KEXINIT && !h.kexSeen) {
      h.collect = new Uint8Array(h.payloadLeft);
      h.collectLen = 0;
      h.state = ST_COLLECT;
      if (h.payloadLeft === 0) {
        this.finishKexInit(h);
        this.afterPayload(h);
      }
      return;
    }
    h.state = ST_SKIP2;
    if (h.payloadLeft + h.paddingLeft === 0) this.endPacket(h);
  }
  finishKexInit(h) {
    const buf = h.collect;
    h.collect = null;
    h.kexSeen = true;
    const parsed = parseKexInit(buf, 0, h.collectLen);
    if (parsed === null) {
      this.anomaly("ssh.malformed_kexinit");
      return;
    }
    if (!parsed.complete) this.anomaly("ssh.malformed_kexinit");
    h.kex = parsed.lists;
    h.algorithms = h === this.halves[0] ? hasshAlgorithms(parsed) : hasshServerAlgorithms(parsed);
    h.fingerprint = hasshOf(h.algorithms);
  }
  /** Payload done; skip the padding (and, before NEWKEYS, there is no MAC). */
  afterPayload(h) {
    h.state = ST_SKIP2;
    if (h.paddingLeft === 0) this.endPacket(h);
  }
  endPacket(h) {
    if (h.msgType === SSH_MSG_NEWKEYS) {
      h.encryptedFrame = h.packetFrame;
      h.state = ST_OPAQUE;
      return;
    }
    h.state = ST_HEADER2;
  }
};
var sshFactory = {
  id: "ssh",
  probe: probeSsh,
  create: (anomaly) => new SshDissector(anomaly)
};

// dissectors/tls/cipher-suites.ts
var CIPHER_SUITES = /* @__PURE__ */ new Map([
  [0, "TLS_NULL_WITH_NULL_NULL"],
  [1, "TLS_RSA_WITH_NULL_MD5"],
  [2, "TLS_RSA_WITH_NULL_SHA"],
  [4, "TLS_RSA_WITH_RC4_128_MD5"],
  [5, "TLS_RSA_WITH_RC4_128_SHA"],
  [10, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"],
  [22, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"],
  [47, "TLS_RSA_WITH_AES_128_CBC_SHA"],
  [51, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"],
  [53, "TLS_RSA_WITH_AES_256_CBC_SHA"],
  [57, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"],
  [59, "TLS_RSA_WITH_NULL_SHA256"],
  [60, "TLS_RSA_WITH_AES_128_CBC_SHA256"],
  [61, "TLS_RSA_WITH_AES_256_CBC_SHA256"],
  [103, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"],
  [107, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"],
  [140, "TLS_PSK_WITH_AES_128_CBC_SHA"],
  [156, "TLS_RSA_WITH_AES_128_GCM_SHA256"],
  [157, "TLS_RSA_WITH_AES_256_GCM_SHA384"],
  [158, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"],
  [159, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"],
  [168, "TLS_PSK_WITH_AES_128_GCM_SHA256"],
  [169, "TLS_PSK_WITH_AES_256_GCM_SHA384"],
  [255, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"],
  [4865, "TLS_AES_128_GCM_SHA256"],
  [4866, "TLS_AES_256_GCM_SHA384"],
  [4867, "TLS_CHACHA20_POLY1305_SHA256"],
  [4868, "TLS_AES_128_CCM_SHA256"],
  [4869, "TLS_AES_128_CCM_8_SHA256"],
  [22016, "TLS_FALLBACK_SCSV"],
  [49159, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"],
  [49160, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"],
  [49161, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"],
  [49162, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"],
  [49169, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"],
  [49170, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"],
  [49171, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"],
  [49172, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"],
  [49187, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"],
  [49188, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"],
  [49191, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"],
  [49192, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"],
  [49195, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
  [49196, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
  [49199, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
  [49200, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
  [49308, "TLS_RSA_WITH_AES_128_CCM"],
  [49309, "TLS_RSA_WITH_AES_256_CCM"],
  [49324, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"],
  [49325, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"],
  [49326, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"],
  [49327, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"],
  [52392, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
  [52393, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"],
  [52394, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
  [52395, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"],
  [52396, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"],
  [52397, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"]
]);
function hex16(v) {
  return "0x" + (v & 65535).toString(16).padStart(4, "0");
}
function cipherSuiteName(id) {
  return CIPHER_SUITES.get(id) ?? hex16(id);
}

// dissectors/tls/constants.ts
var CT_CHANGE_CIPHER_SPEC = 20;
var CT_ALERT = 21;
var CT_HANDSHAKE = 22;
var CT_APPLICATION_DATA = 23;
var CT_HEARTBEAT = 24;
var HS_CLIENT_HELLO = 1;
var HS_SERVER_HELLO = 2;
var HS_ENCRYPTED_EXTENSIONS = 8;
var HS_CERTIFICATE = 11;
var HS_CERTIFICATE_REQUEST = 13;
var HS_SERVER_HELLO_DONE = 14;
var HS_FINISHED = 20;
var HS_KEY_UPDATE = 24;
var EXT_SERVER_NAME = 0;
var EXT_SUPPORTED_GROUPS = 10;
var EXT_EC_POINT_FORMATS = 11;
var EXT_SIGNATURE_ALGORITHMS = 13;
var EXT_ALPN = 16;
var EXT_ENCRYPT_THEN_MAC = 22;
var EXT_SESSION_TICKET = 35;
var EXT_PRE_SHARED_KEY = 41;
var EXT_SUPPORTED_VERSIONS = 43;
var EXT_ENCRYPTED_CLIENT_HELLO = 65037;
var TLS12 = 771;
var MAX_RECORD_LENGTH = 16384 + 2048;
function isGrease(v) {
  return (v & 3855) === 2570 && v >> 8 === (v & 255);
}
function versionName(v) {
  switch (v) {
    case 768:
      return "ssl3";
    case 769:
      return "1.0";
    case 770:
      return "1.1";
    case 771:
      return "1.2";
    case 772:
      return "1.3";
    default:
      return null;
  }
}
var HRR_RANDOM = Uint8Array.from([
  207,
  33,
  173,
  116,
  229,
  154,
  97,
  17,
  190,
  29,
  140,
  2,
  30,
  101,
  184,
  145,
  194,
  162,
  17,
  22,
  122,
  187,
  140,
  94,
  7,
  158,
  9,
  226,
  200,
  168,
  51,
  156
]);
var ALERT_NAMES = /* @__PURE__ */ new Map([
  [0, "close_notify"],
  [10, "unexpected_message"],
  [20, "bad_record_mac"],
  [21, "decryption_failed"],
  [22, "record_overflow"],
  [30, "decompression_failure"],
  [40, "handshake_failure"],
  [41, "no_certificate"],
  [42, "bad_certificate"],
  [43, "unsupported_certificate"],
  [44, "certificate_revoked"],
  [45, "certificate_expired"],
  [46, "certificate_unknown"],
  [47, "illegal_parameter"],
  [48, "unknown_ca"],
  [49, "access_denied"],
  [50, "decode_error"],
  [51, "decrypt_error"],
  [60, "export_restriction"],
  [70, "protocol_version"],
  [71, "insufficient_security"],
  [80, "internal_error"],
  [86, "inappropriate_fallback"],
  [90, "user_canceled"],
  [100, "no_renegotiation"],
  [109, "missing_extension"],
  [110, "unsupported_extension"],
  [111, "certificate_unobtainable"],
  [112, "unrecognized_name"],
  [113, "bad_certificate_status_response"],
  [114, "bad_certificate_hash_value"],
  [115, "unknown_psk_identity"],
  [116, "certificate_required"],
  [120, "no_application_protocol"],
  [121, "ech_required"]
]);
function alertName(code) {
  return ALERT_NAMES.get(code) ?? `unknown_${code}`;
}

// dissectors/tls/hello-parser.ts
var MAX_NAME_CHARS = 255;
var MAX_LIST_ITEMS = 512;
var MAX_ALPN_ITEMS = 16;
function latin12(b, start, end) {
  const stop = Math.min(end, start + MAX_NAME_CHARS);
  let s = "";
  for (let i = start; i < stop; i++) s += String.fromCharCode(b[i]);
  return s;
}
function u16(b, o) {
  return b[o] << 8 | b[o + 1];
}
function readU16List(b, start, end, out) {
  for (let o = start; o + 1 < end && out.length < MAX_LIST_ITEMS; o += 2) out.push(u16(b, o));
}
function parseClientHello(b, start, end) {
  let o = start;
  if (end - o < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, o);
  o += 34;
  const sidLen = b[o++];
  if (sidLen > 32 || o + sidLen > end) return null;
  const sessionId = b.slice(o, o + sidLen);
  o += sidLen;
  if (o + 2 > end) return null;
  const csLen = u16(b, o);
  o += 2;
  if (csLen % 2 !== 0 || o + csLen > end) return null;
  const ciphers = [];
  readU16List(b, o, o + csLen, ciphers);
  o += csLen;
  if (o + 1 > end) return null;
  const compLen = b[o++];
  if (o + compLen > end) return null;
  const compression = [];
  for (let i = 0; i < compLen; i++) compression.push(b[o + i]);
  o += compLen;
  const ch = {
    legacyVersion,
    sessionId,
    ciphers,
    compression,
    extensions: [],
    sni: null,
    alpn: [],
    groups: [],
    pointFormats: [],
    sigAlgs: [],
    versions: [],
    ticketPresented: false,
    psk: false,
    ech: false
  };
  if (o === end) return ch;
  if (o + 2 > end) return null;
  const extEnd = o + 2 + u16(b, o);
  o += 2;
  if (extEnd > end) return null;
  while (o < extEnd) {
    if (o + 4 > extEnd) return null;
    const type = u16(b, o);
    const len = u16(b, o + 2);
    o += 4;
    const e = o + len;
    if (e > extEnd) return null;
    if (ch.extensions.length < MAX_LIST_ITEMS) ch.extensions.push(type);
    if (!parseClientExtension(ch, type, b, o, e)) return null;
    o = e;
  }
  return ch;
}
function parseClientExtension(ch, type, b, o, e) {
  switch (type) {
    case EXT_SERVER_NAME: {
      if (e - o < 2) return e === o;
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      for (let p = o + 2; p + 3 <= listEnd; ) {
        const nameType = b[p];
        const len = u16(b, p + 1);
        p += 3;
        if (p + len > listEnd) return false;
        if (nameType === 0 && ch.sni === null) ch.sni = latin12(b, p, p + len);
        p += len;
      }
      return true;
    }
    case EXT_ALPN: {
      if (e - o < 2) return false;
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      for (let p = o + 2; p < listEnd; ) {
        const len = b[p++];
        if (p + len > listEnd) return false;
        if (ch.alpn.length < MAX_ALPN_ITEMS) ch.alpn.push(latin12(b, p, p + len));
        p += len;
      }
      return true;
    }
    case EXT_SUPPORTED_GROUPS:
    case EXT_SIGNATURE_ALGORITHMS: {
      if (e - o < 2) return false;
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      readU16List(b, o + 2, listEnd, type === EXT_SUPPORTED_GROUPS ? ch.groups : ch.sigAlgs);
      return true;
    }
    case EXT_EC_POINT_FORMATS: {
      if (e - o < 1) return false;
      const listEnd = o + 1 + b[o];
      if (listEnd > e) return false;
      for (let p = o + 1; p < listEnd; p++) ch.pointFormats.push(b[p]);
      return true;
    }
    case EXT_SUPPORTED_VERSIONS: {
      if (e - o < 1) return false;
      const listEnd = o + 1 + b[o];
      if (listEnd > e) return false;
      readU16List(b, o + 1, listEnd, ch.versions);
      return true;
    }
    case EXT_SESSION_TICKET:
      ch.ticketPresented = e > o;
      return true;
    case EXT_PRE_SHARED_KEY:
      ch.psk = true;
      return true;
    case EXT_ENCRYPTED_CLIENT_HELLO:
      ch.ech = true;
      return true;
    default:
      return true;
  }
}
function isHrrRandom(b, o) {
  for (let i = 0; i < 32; i++) if (b[o + i] !== HRR_RANDOM[i]) return false;
  return true;
}
function parseServerHello(b, start, end) {
  let o = start;
  if (end - o < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, o);
  const helloRetryRequest = isHrrRandom(b, o + 2);
  o += 34;
  const sidLen = b[o++];
  if (sidLen > 32 || o + sidLen + 3 > end) return null;
  const sessionId = b.slice(o, o + sidLen);
  o += sidLen;
  const sh = {
    legacyVersion,
    helloRetryRequest,
    sessionId,
    cipher: u16(b, o),
    compression: b[o + 2],
    extensions: [],
    selectedVersion: 0,
    alpn: null,
    pskSelected: false
  };
  o += 3;
  if (o === end) return sh;
  if (o + 2 > end) return null;
  const extEnd = o + 2 + u16(b, o);
  o += 2;
  if (extEnd > end) return null;
  while (o < extEnd) {
    if (o + 4 > extEnd) return null;
    const type = u16(b, o);
    const len = u16(b, o + 2);
    o += 4;
    const e = o + len;
    if (e > extEnd) return null;
    if (sh.extensions.length < MAX_LIST_ITEMS) sh.extensions.push(type);
    if (type === EXT_SUPPORTED_VERSIONS && len === 2) sh.selectedVersion = u16(b, o);
    else if (type === EXT_PRE_SHARED_KEY) sh.pskSelected = true;
    else if (type === EXT_ALPN && len >= 3) {
      const l = b[o + 2];
      if (o + 3 + l <= e) sh.alpn = latin12(b, o + 3, o + 3 + l);
    }
    o = e;
  }
  return sh;
}

// dissectors/tls/ja3.ts
import { createHash as createHash4 } from "node:crypto";

// dissectors/tls/digest-memo.ts
function memoizeDigest(digest, maxEntries = 4096) {
  const memo = /* @__PURE__ */ new Map();
  return (input) => {
    let out = memo.get(input);
    if (out === void 0) {
      out = digest(input);
      if (memo.size >= maxEntries) memo.clear();
      memo.set(input, out);
    }
    return out;
  };
}

// dissectors/tls/ja3.ts
function join3(values) {
  let s = "";
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s.length === 0 ? String(v) : "-" + v;
  }
  return s;
}
var md5Hex = memoizeDigest((s) => createHash4("md5").update(s, "latin1").digest("hex"));
function ja3String(ch) {
  return [ch.legacyVersion, join3(ch.ciphers), join3(ch.extensions), join3(ch.groups), join3(ch.pointFormats)].join(",");
}
function ja3sString(sh) {
  return [sh.legacyVersion, sh.cipher, join3(sh.extensions)].join(",");
}
function ja3(ch) {
  const full = ja3String(ch);
  return { full, hash: md5Hex(full) };
}
function ja3s(sh) {
  const full = ja3sString(sh);
  return { full, hash: md5Hex(full) };
}

// dissectors/tls/ja4.ts
import { createHash as createHash5 } from "node:crypto";
var EMPTY_HASH = "000000000000";
var HEX4 = new Array(65536);
function hex4(v) {
  return HEX4[v] ??= v.toString(16).padStart(4, "0");
}
var keepAll = () => false;
function hexList(values, sorted, leaveOut = keepAll) {
  const kept = new Uint16Array(values.length);
  let n = 0;
  for (const v of values) if (!isGrease(v) && !leaveOut(v)) kept[n++] = v;
  const list = sorted ? kept.subarray(0, n).sort() : kept.subarray(0, n);
  let out = "";
  for (let i = 0; i < n; i++) out += i === 0 ? hex4(list[i]) : "," + hex4(list[i]);
  return out;
}
function sha12(s) {
  return createHash5("sha256").update(s, "latin1").digest("hex").slice(0, 12);
}
function countNonGrease(values) {
  let n = 0;
  for (const v of values) if (!isGrease(v)) n++;
  return n;
}
function isSniOrAlpn(v) {
  return v === EXT_SERVER_NAME || v === EXT_ALPN;
}
function count2(n) {
  return n > 99 ? "99" : String(n).padStart(2, "0");
}
function versionCode(v) {
  switch (v) {
    case 772:
      return "13";
    case 771:
      return "12";
    case 770:
      return "11";
    case 769:
      return "10";
    case 768:
      return "s3";
    case 2:
      return "s2";
    case 65279:
      return "d1";
    case 65277:
      return "d2";
    case 65276:
      return "d3";
    default:
      return "00";
  }
}
function isAlnum(c) {
  return c >= 48 && c <= 57 || c >= 65 && c <= 90 || c >= 97 && c <= 122;
}
function alpnCode(alpn) {
  if (alpn.length === 0 || alpn[0].length === 0) return "00";
  const v = alpn[0];
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (isAlnum(first) && isAlnum(last)) return v[0] + v[v.length - 1];
  const h = first.toString(16).padStart(2, "0");
  const t = last.toString(16).padStart(2, "0");
  return h[0] + t[1];
}
function ja4Version(ch) {
  let best = -1;
  for (const v of ch.versions) if (!isGrease(v) && v > best) best = v;
  return best >= 0 ? best : ch.legacyVersion;
}
function ja4(ch, protocol = "t") {
  const hasSni = ch.extensions.includes(EXT_SERVER_NAME);
  const a = protocol + versionCode(ja4Version(ch)) + (hasSni ? "d" : "i") + count2(countNonGrease(ch.ciphers)) + count2(countNonGrease(ch.extensions)) + alpnCode(ch.alpn);
  const cipherList = hexList(ch.ciphers, true);
  const extList = hexList(ch.extensions, true, isSniOrAlpn);
  const sigList = hexList(ch.sigAlgs, false);
  const cInput = sigList.length > 0 ? extList + "_" + sigList : extList;
  const b = cipherList.length === 0 ? EMPTY_HASH : sha12(cipherList);
  const c = extList.length === 0 ? EMPTY_HASH : sha12(cInput);
  return { ja4: `${a}_${b}_${c}`, raw: `${a}_${cipherList}_${cInput}` };
}

// src/number-hash.ts
function mix(h, v) {
  h = Math.imul(h ^ v, 16777619);
  return h ^ h >>> 15 | 0;
}
function mixList(h, list) {
  h = mix(h, list.length + 65536);
  for (let i = 0; i < list.length; i++) h = mix(h, list[i]);
  return h;
}
function sameList(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// dissectors/tls/client-fingerprints.ts
var MAX_ENTRIES = 4096;
function fingerprintMemo(hash2 = helloHash) {
  const memo = /* @__PURE__ */ new Map();
  let entries = 0;
  return (ch) => {
    const h = hash2(ch);
    const bucket = memo.get(h);
    if (bucket !== void 0) {
      for (const e2 of bucket) if (sameFields(e2, ch)) return e2;
    }
    const j3 = ja3(ch);
    const e = {
      ja3: j3.hash,
      ja3Full: j3.full,
      ja4: ja4(ch).ja4,
      legacyVersion: ch.legacyVersion,
      ciphers: ch.ciphers,
      extensions: ch.extensions,
      groups: ch.groups,
      pointFormats: ch.pointFormats,
      sigAlgs: ch.sigAlgs,
      versions: ch.versions,
      alpn0: ch.alpn[0]
    };
    if (entries >= MAX_ENTRIES) {
      memo.clear();
      entries = 0;
    }
    if (bucket !== void 0 && memo.has(h)) bucket.push(e);
    else memo.set(h, [e]);
    entries++;
    return e;
  };
}
var clientFingerprints = fingerprintMemo();
function helloHash(ch) {
  let h = mix(2166136261, ch.legacyVersion);
  h = mixList(h, ch.ciphers);
  h = mixList(h, ch.extensions);
  h = mixList(h, ch.groups);
  h = mixList(h, ch.pointFormats);
  h = mixList(h, ch.sigAlgs);
  h = mixList(h, ch.versions);
  const alpn = ch.alpn[0];
  if (alpn !== void 0) for (let i = 0; i < alpn.length; i++) h = mix(h, alpn.charCodeAt(i));
  return h;
}
function sameFields(e, ch) {
  return e.legacyVersion === ch.legacyVersion && e.alpn0 === ch.alpn[0] && sameList(e.ciphers, ch.ciphers) && sameList(e.extensions, ch.extensions) && sameList(e.groups, ch.groups) && sameList(e.pointFormats, ch.pointFormats) && sameList(e.sigAlgs, ch.sigAlgs) && sameList(e.versions, ch.versions);
}

// dissectors/x509/parse-certificate.ts
import { createHash as createHash7, X509Certificate as X509Certificate2 } from "node:crypto";
import forge3 from "node-forge";

// dissectors/x509/rfc4514.ts
import forge2 from "node-forge";
var asn12 = forge2.asn1;
var SHORT_NAMES = {
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "2.5.4.9": "STREET",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
  "2.5.4.5": "SERIALNUMBER"
};
var OID_CN = "2.5.4.3";
var OID_O = "2.5.4.10";
function decodeAsn1String(type, v) {
  switch (type) {
    case asn12.Type.UTF8:
      return Buffer.from(v, "latin1").toString("utf8");
    case asn12.Type.BMPSTRING: {
      let s = "";
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v.charCodeAt(i) << 8 | v.charCodeAt(i + 1));
      return s;
    }
    case 28: {
      let s = "";
      for (let i = 0; i + 3 < v.length; i += 4) {
        const cp = (v.charCodeAt(i) << 24 | v.charCodeAt(i + 1) << 16 | v.charCodeAt(i + 2) << 8 | v.charCodeAt(i + 3)) >>> 0;
        s += cp <= 1114111 ? String.fromCodePoint(cp) : "\uFFFD";
      }
      return s;
    }
    default:
      return v;
  }
}
var STRING_TYPES = /* @__PURE__ */ new Set([12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30]);
function escapeRfc4514(value) {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const c = value.charCodeAt(i);
    if (c < 32 || c === 127) out += "\\" + c.toString(16).padStart(2, "0");
    else if (ch === '"' || ch === "+" || ch === "," || ch === ";" || ch === "<" || ch === ">" || ch === "\\") out += "\\" + ch;
    else if (i === 0 && (ch === " " || ch === "#") || i === value.length - 1 && ch === " ") out += "\\" + ch;
    else out += ch;
  }
  return out;
}
function parseName(name) {
  const rdns = name.value;
  const attributes = [];
  const parts = [];
  for (const rdn of rdns) {
    const atvs = rdn.value;
    const rendered = [];
    for (const atv of atvs) {
      const seq = atv.value;
      const oid = asn12.derToOid(seq[0].value);
      const val = seq[1];
      const short = SHORT_NAMES[oid];
      let text2;
      let display;
      if (short !== void 0 && STRING_TYPES.has(val.type) && typeof val.value === "string") {
        text2 = decodeAsn1String(val.type, val.value);
        display = escapeRfc4514(text2);
      } else {
        const der = asn12.toDer(val).getBytes();
        display = "#" + forge2.util.bytesToHex(der);
        text2 = typeof val.value === "string" && STRING_TYPES.has(val.type) ? decodeAsn1String(val.type, val.value) : display;
      }
      attributes.push({ oid, value: text2 });
      rendered.push(`${short ?? oid}=${display}`);
    }
    parts.push(rendered.join("+"));
  }
  return { rfc4514: parts.reverse().join(","), attributes };
}

// src/digest.ts
import * as crypto from "node:crypto";
var digestOf = typeof crypto.hash === "function" ? (algorithm, data, encoding) => crypto.hash(algorithm, data, encoding) : (algorithm, data, encoding) => crypto.createHash(algorithm).update(data).digest(encoding);

// dissectors/x509/parse-certificate.ts
var asn13 = forge3.asn1;
var MAX_CERT_CACHE = 4096;
var MAX_CERT_DER_BYTES = 65536;
var SIGNATURE_ALGORITHMS = {
  "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
  "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
  "1.2.840.113549.1.1.10": "RSASSA-PSS",
  "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
  "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
  "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
  "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
  "1.2.840.10045.4.1": "ecdsa-with-SHA1",
  "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
  "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
  "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
  "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
  "1.3.101.112": "Ed25519",
  "1.3.101.113": "Ed448",
  "1.2.840.10040.4.3": "dsa-with-sha1",
  "2.16.840.1.101.3.4.3.2": "dsa-with-sha256"
};
var EKU_NAMES = {
  "1.3.6.1.5.5.7.3.1": "serverAuth",
  "1.3.6.1.5.5.7.3.2": "clientAuth",
  "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection",
  "1.3.6.1.5.5.7.3.8": "timeStamping",
  "1.3.6.1.5.5.7.3.9": "OCSPSigning",
  "2.5.29.37.0": "anyExtendedKeyUsage"
};
var KEY_USAGE_BITS = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly"
];
var CURVE_NAMES = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521"
};
var cache = /* @__PURE__ */ new Map();
var cached = 0;
var MAX_PER_BUCKET = 8;
var HASHED_TAIL = 64;
function derHash(der) {
  let h = Math.imul(der.length ^ 2166136261, 16777619);
  for (let i = der.length > HASHED_TAIL ? der.length - HASHED_TAIL : 0; i < der.length; i++) {
    h = Math.imul(h ^ der[i], 16777619);
  }
  return h;
}
function lookup(bucket, der) {
  if (bucket === void 0) return void 0;
  for (const c of bucket) if (c.der.length === der.length && Buffer.compare(c.der, der) === 0) return c.info;
  return void 0;
}
function remember(h, der, info2) {
  let bucket = cache.get(h);
  if (bucket !== void 0 && bucket.length >= MAX_PER_BUCKET) return;
  if (cached >= MAX_CERT_CACHE) {
    const oldest = cache.keys().next().value;
    if (oldest !== void 0) {
      cached -= cache.get(oldest).length;
      cache.delete(oldest);
      if (oldest === h) bucket = void 0;
    }
  }
  const entry = { der: Uint8Array.prototype.slice.call(der), info: info2 };
  if (bucket === void 0) cache.set(h, [entry]);
  else bucket.push(entry);
  cached++;
}
function formatIp(b) {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return null;
  const g = [];
  for (let i = 0; i < 16; i += 2) g.push(b[i] << 8 | b[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex2 = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex2.join(":");
  return hex2.slice(0, bestStart).join(":") + "::" + hex2.slice(bestStart + bestLen).join(":");
}
function serialHex(bytes) {
  let hex2 = forge3.util.bytesToHex(bytes);
  while (hex2.length > 2 && hex2.startsWith("00")) hex2 = hex2.slice(2);
  return hex2.toLowerCase();
}
function timeOf(node) {
  const v = node.value;
  return node.type === asn13.Type.UTCTIME ? asn13.utcTimeToDate(v) : asn13.generalizedTimeToDate(v);
}
var extensionFromAsn1 = forge3.pki.certificateExtensionFromAsn1;
function readTbs(der) {
  const root = asn13.fromDer(forge3.util.createBuffer(Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("latin1")), {
    strict: true,
    parseAllBytes: true,
    decodeBitStrings: false
  });
  const top = root.value;
  const tbs = top[0].value;
  let i = 0;
  if (tbs[0].tagClass === asn13.Class.CONTEXT_SPECIFIC && tbs[0].type === 0) i++;
  const serial = serialHex(tbs[i++].value);
  i++;
  const issuer = parseName(tbs[i++]);
  const validity = tbs[i++].value;
  const subject = parseName(tbs[i++]);
  i++;
  const sigOid = asn13.derToOid(top[1].value[0].value);
  const out = {
    serial,
    issuer,
    subject,
    notBefore: timeOf(validity[0]),
    notAfter: timeOf(validity[1]),
    signatureAlgorithm: SIGNATURE_ALGORITHMS[sigOid] ?? sigOid,
    sanDns: [],
    sanIp: [],
    isCA: false,
    keyUsage: [],
    extKeyUsage: []
  };
  for (; i < tbs.length; i++) {
    const node = tbs[i];
    if (node.tagClass !== asn13.Class.CONTEXT_SPECIFIC || node.type !== 3) continue;
    const exts = node.value[0].value;
    for (const raw of exts) {
      const e = extensionFromAsn1(raw);
      if (e.name === "basicConstraints") out.isCA = e.cA === true;
      else if (e.name === "keyUsage") {
        for (const bit of KEY_USAGE_BITS) if (e[bit] === true) out.keyUsage.push(bit);
      } else if (e.id === "2.5.29.37") {
        const seq = asn13.fromDer(raw.value.at(-1).value);
        for (const p of seq.value) {
          const oid = asn13.derToOid(p.value);
          out.extKeyUsage.push(EKU_NAMES[oid] ?? oid);
        }
      } else if (e.name === "subjectAltName" && e.altNames) {
        for (const an of e.altNames) {
          if (an.type === 2) out.sanDns.push(an.value);
          else if (an.type === 7) {
            const ip = formatIp(Buffer.from(an.value, "latin1"));
            if (ip !== null) out.sanIp.push(ip);
          }
        }
      }
    }
  }
  return out;
}
function readTbsFromX509(x) {
  const toName = (s) => {
    const attrs = s.split("\n").filter((l) => l.length > 0);
    const attributes = attrs.map((l) => {
      const eq = l.indexOf("=");
      const k = l.slice(0, eq);
      return { oid: k === "CN" ? OID_CN : k === "O" ? OID_O : k, value: l.slice(eq + 1) };
    });
    return { rfc4514: attrs.slice().reverse().join(","), attributes };
  };
  const sanDns = [];
  const sanIp = [];
  for (const part of (x.subjectAltName ?? "").split(", ")) {
    if (part.startsWith("DNS:")) sanDns.push(part.slice(4));
    else if (part.startsWith("IP Address:")) sanIp.push(part.slice(11).toLowerCase());
  }
  return {
    serial: x.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ""),
    issuer: toName(x.issuer),
    subject: toName(x.subject),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    signatureAlgorithm: "unknown",
    sanDns,
    sanIp,
    isCA: x.ca,
    keyUsage: [],
    extKeyUsage: (x.keyUsage ?? []).map((o) => EKU_NAMES[o] ?? o)
  };
}
function isoOrEmpty(d) {
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}
function keyDetails(x) {
  const k = x.publicKey;
  const d = k.asymmetricKeyDetails ?? {};
  switch (k.asymmetricKeyType) {
    case "rsa":
    case "rsa-pss":
      return { keyType: "rsa", keyBits: d.modulusLength ?? 0, curve: null };
    case "dsa":
      return { keyType: "dsa", keyBits: d.modulusLength ?? 0, curve: null };
    case "ec": {
      const named = d.namedCurve ?? null;
      const curve = named === null ? null : CURVE_NAMES[named] ?? named;
      const bits = curve === "P-256" ? 256 : curve === "P-384" ? 384 : curve === "P-521" ? 521 : 0;
      return { keyType: "ec", keyBits: bits, curve };
    }
    case "ed25519":
      return { keyType: "ed25519", keyBits: 256, curve: "Ed25519" };
    case "ed448":
      return { keyType: "ed448", keyBits: 448, curve: "Ed448" };
    default:
      return { keyType: "unknown", keyBits: 0, curve: null };
  }
}
function valuesOf(name, oid) {
  const out = [];
  for (const a of name.attributes) if (a.oid === oid) out.push(a.value);
  return out;
}
function cnOf(name) {
  const cns = valuesOf(name, OID_CN);
  return cns.length > 0 ? cns[cns.length - 1] : null;
}
function parseCertificate(der) {
  if (der.length === 0 || der.length > MAX_CERT_DER_BYTES) return null;
  const h = derHash(der);
  const hit = lookup(cache.get(h), der);
  if (hit !== void 0) return hit;
  const sha256 = digestOf("sha256", der, "hex");
  let x;
  try {
    x = new X509Certificate2(der);
  } catch {
    return null;
  }
  let tbs;
  try {
    tbs = readTbs(der);
  } catch {
    try {
      tbs = readTbsFromX509(x);
    } catch {
      return null;
    }
  }
  let key;
  let selfSigned = false;
  try {
    key = keyDetails(x);
    selfSigned = tbs.subject.rfc4514 === tbs.issuer.rfc4514 && x.verify(x.publicKey);
  } catch {
    key = { keyType: "unknown", keyBits: 0, curve: null };
  }
  const info2 = {
    subject: tbs.subject.rfc4514,
    issuer: tbs.issuer.rfc4514,
    subjectCN: cnOf(tbs.subject),
    subjectO: valuesOf(tbs.subject, OID_O),
    issuerCN: cnOf(tbs.issuer),
    issuerO: valuesOf(tbs.issuer, OID_O),
    san: [...tbs.sanDns, ...tbs.sanIp],
    sanDns: tbs.sanDns,
    sanIp: tbs.sanIp,
    serial: tbs.serial,
    notBefore: isoOrEmpty(tbs.notBefore),
    notAfter: isoOrEmpty(tbs.notAfter),
    keyType: key.keyType,
    keyBits: key.keyBits,
    curve: key.curve,
    signatureAlgorithm: tbs.signatureAlgorithm,
    sha256,
    sha1: createHash7("sha1").update(der).digest("hex"),
    isCA: tbs.isCA,
    keyUsage: tbs.keyUsage,
    extKeyUsage: tbs.extKeyUsage,
    selfSigned,
    der: Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString("base64")
  };
  remember(h, der, info2);
  return info2;
}

// dissectors/tls/decrypt/aead-suites.ts
function tls13(id, aead, keyLength, hash2) {
  return { id, aead, keyLength, hash: hash2, tls13: true, fixedIvLength: 12, explicitNonce: false };
}
function gcm12(id, keyLength, hash2) {
  return { id, aead: keyLength === 16 ? "aes-128-gcm" : "aes-256-gcm", keyLength, hash: hash2, tls13: false, fixedIvLength: 4, explicitNonce: true };
}
function chacha12(id) {
  return { id, aead: "chacha20-poly1305", keyLength: 32, hash: "sha256", tls13: false, fixedIvLength: 12, explicitNonce: false };
}
var SUITES = [
  tls13(4865, "aes-128-gcm", 16, "sha256"),
  // TLS_AES_128_GCM_SHA256
  tls13(4866, "aes-256-gcm", 32, "sha384"),
  // TLS_AES_256_GCM_SHA384
  tls13(4867, "chacha20-poly1305", 32, "sha256"),
  // TLS_CHACHA20_POLY1305_SHA256
  gcm12(156, 16, "sha256"),
  // TLS_RSA_WITH_AES_128_GCM_SHA256
  gcm12(157, 32, "sha384"),
  // TLS_RSA_WITH_AES_256_GCM_SHA384
  gcm12(158, 16, "sha256"),
  // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
  gcm12(159, 32, "sha384"),
  // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
  gcm12(49195, 16, "sha256"),
  // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  gcm12(49196, 32, "sha384"),
  // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  gcm12(49199, 16, "sha256"),
  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  gcm12(49200, 32, "sha384"),
  // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  chacha12(52392),
  // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  chacha12(52393),
  // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  chacha12(52394)
  // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
];
function aeadSuite(id, tls13Negotiated) {
  for (const s of SUITES) if (s.id === id && s.tls13 === tls13Negotiated) return s;
  return null;
}

// dissectors/tls/decrypt/cbc-suites.ts
var MAC_LENGTH = { sha1: 20, sha256: 32, sha384: 48 };
function suite(id, cipher, mac) {
  const keyLength = cipher === "aes-128-cbc" ? 16 : cipher === "aes-256-cbc" ? 32 : 24;
  const blockLength = cipher === "des-ede3-cbc" ? 8 : 16;
  return { id, cipher, keyLength, blockLength, mac, macLength: MAC_LENGTH[mac], prfHash: mac === "sha384" ? "sha384" : "sha256" };
}
var CBC_SUITES = [
  suite(10, "des-ede3-cbc", "sha1"),
  // TLS_RSA_WITH_3DES_EDE_CBC_SHA
  suite(47, "aes-128-cbc", "sha1"),
  // TLS_RSA_WITH_AES_128_CBC_SHA
  suite(51, "aes-128-cbc", "sha1"),
  // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
  suite(53, "aes-256-cbc", "sha1"),
  // TLS_RSA_WITH_AES_256_CBC_SHA
  suite(57, "aes-256-cbc", "sha1"),
  // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
  suite(60, "aes-128-cbc", "sha256"),
  // TLS_RSA_WITH_AES_128_CBC_SHA256
  suite(61, "aes-256-cbc", "sha256"),
  // TLS_RSA_WITH_AES_256_CBC_SHA256
  suite(103, "aes-128-cbc", "sha256"),
  // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
  suite(107, "aes-256-cbc", "sha256"),
  // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
  suite(49160, "des-ede3-cbc", "sha1"),
  // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
  suite(49161, "aes-128-cbc", "sha1"),
  // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
  suite(49162, "aes-256-cbc", "sha1"),
  // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
  suite(49170, "des-ede3-cbc", "sha1"),
  // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
  suite(49171, "aes-128-cbc", "sha1"),
  // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
  suite(49172, "aes-256-cbc", "sha1"),
  // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
  suite(49187, "aes-128-cbc", "sha256"),
  // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
  suite(49188, "aes-256-cbc", "sha384"),
  // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
  suite(49191, "aes-128-cbc", "sha256"),
  // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
  suite(49192, "aes-256-cbc", "sha384")
  // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
];
function cbcSuite(id) {
  for (const s of CBC_SUITES) if (s.id === id) return s;
  return null;
}

// dissectors/tls/decrypt/inner-app.ts
var NONE = [];
var InnerApp = class {
  dissector;
  anomaly;
  alpn;
  serverPort;
  /** Server data before the client spoke and without ALPN: nothing can be chosen; it is not parsed. */
  undecided;
  constructor(anomaly, alpnSelected, serverPort) {
    this.dissector = null;
    this.anomaly = anomaly;
    this.alpn = alpnSelected;
    this.serverPort = serverPort;
    this.undecided = true;
  }
  feed(dir, data, start, end, at) {
    if (this.undecided) {
      if (!this.choose(dir, data, start, end)) return;
    }
    this.dissector?.feed(dir, data, start, end, at);
  }
  gap(dir, bytes) {
    this.dissector?.gap(dir, bytes);
  }
  end(dir) {
    this.dissector?.end(dir);
  }
  /** Requests seen inside the decrypted connection. */
  result() {
    if (this.dissector === null) return NONE;
    const r = this.dissector.result();
    return Array.isArray(r) ? r : NONE;
  }
  choose(dir, data, start, end) {
    let f;
    if (this.alpn === "h2") f = http2Factory;
    else if (this.alpn === "http/1.1" || this.alpn === "http/1.0") f = http1Factory;
    else if (dir !== 0) return false;
    else if (http2Factory.probe(0, data, start, end) !== ProbeResult.NO_MATCH) f = http2Factory;
    else if (http1Factory.probe(0, data, start, end) !== ProbeResult.NO_MATCH) f = http1Factory;
    else f = null;
    this.undecided = false;
    if (f !== null) this.dissector = f.create(this.anomaly, { serverPort: this.serverPort });
    return f !== null;
  }
};

// src/byte-budget.ts
var ByteBudget = class {
  constructor(max) {
    this.max = max;
  }
  max;
  used = 0;
};

// dissectors/tls/held-records.ts
var MAX_HELD_BYTES = 64 * 1024;
var MAX_HELD_TOTAL = 16 * 1024 * 1024;
var HeldRecords = class {
  /** `budget`: what the connections of one run hold together. */
  constructor(budget = new ByteBudget(MAX_HELD_TOTAL)) {
    this.budget = budget;
  }
  budget;
  bytes = new Uint8Array(4096);
  used = 0;
  records = [];
  /** Body bytes of the last record still to come. */
  left = 0;
  /** Bytes charged to the budget (given back by release). */
  charged = 0;
  /** Starts holding a record of `length` body bytes; false (nothing held) when that passes a cap. */
  begin(type, major, minor, length, frame, ts) {
    if (this.used + length > MAX_HELD_BYTES || this.budget.used + length > this.budget.max) return false;
    this.budget.used += length;
    this.charged += length;
    if (this.used + length > this.bytes.length) {
      const grown = new Uint8Array(Math.min(MAX_HELD_BYTES, Math.max(this.bytes.length * 2, this.used + length)));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.records.push({ type, major, minor, start: this.used, length, frame, ts });
    this.left = length;
    return true;
  }
  /** Body bytes of the record begun last, in order. */
  append(data, from, to) {
    const n = Math.min(to - from, this.left);
    this.bytes.set(data.subarray(from, from + n), this.used);
    this.used += n;
    this.left -= n;
  }
  /** Gives what is held back to the budget; nothing is held after. */
  release() {
    this.budget.used -= this.charged;
    this.charged = 0;
    this.records.length = 0;
    this.used = 0;
    this.left = 0;
    this.bytes = new Uint8Array(0);
  }
  /** Every record begun has all its bytes. */
  get complete() {
    return this.left === 0;
  }
};

// dissectors/tls/decrypt/cbc-record-cipher.ts
import { createDecipheriv, createHmac, timingSafeEqual } from "node:crypto";
var TWO_32 = 4294967296;
var CbcRecordCipher = class {
  constructor(suite2, key, macKey, encryptThenMac) {
    this.suite = suite2;
    this.encryptThenMac = encryptThenMac;
    this.key = Buffer.from(key);
    this.macKey = Buffer.from(macKey);
  }
  suite;
  encryptThenMac;
  /** Next record's sequence number. */
  seq = 0;
  key;
  macKey;
  macHeader = Buffer.alloc(13);
  /** Decrypts the record `rec[0..5+bodyLen)`; its plaintext, or null when it does not authenticate. */
  open(rec, bodyLen) {
    const seq = this.seq++;
    const { blockLength: bl, macLength: ml } = this.suite;
    const body = rec.subarray(5, 5 + bodyLen);
    if (this.encryptThenMac) {
      const encLen = bodyLen - ml;
      if (encLen < 2 * bl || (encLen - bl) % bl !== 0) return null;
      const mac2 = this.mac(seq, rec, encLen, body.subarray(0, encLen));
      if (!timingSafeEqual(mac2, body.subarray(encLen, bodyLen))) return null;
      const padded2 = this.decrypt(body.subarray(0, bl), body.subarray(bl, encLen));
      if (padded2 === null) return null;
      const plainLen2 = unpaddedLength(padded2);
      return plainLen2 < 0 ? null : padded2.subarray(0, plainLen2);
    }
    if (bodyLen < 2 * bl || bodyLen % bl !== 0) return null;
    const padded = this.decrypt(body.subarray(0, bl), body.subarray(bl));
    if (padded === null) return null;
    const contentLen = unpaddedLength(padded);
    if (contentLen < ml) return null;
    const plainLen = contentLen - ml;
    const plain = padded.subarray(0, plainLen);
    const mac = this.mac(seq, rec, plainLen, plain);
    return timingSafeEqual(mac, padded.subarray(plainLen, contentLen)) ? plain : null;
  }
  decrypt(iv, ciphertext) {
    try {
      const d = createDecipheriv(this.suite.cipher, this.key, iv);
      d.setAutoPadding(false);
      const head = d.update(ciphertext);
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  }
  /** HMAC of seq_num ‖ type ‖ version ‖ length ‖ data. */
  mac(seq, rec, length, data) {
    const h = this.macHeader;
    h.writeUInt32BE(Math.floor(seq / TWO_32), 0);
    h.writeUInt32BE(seq >>> 0, 4);
    h[8] = rec[0];
    h[9] = rec[1];
    h[10] = rec[2];
    h.writeUInt16BE(length, 11);
    return createHmac(this.suite.mac, this.macKey).update(h).update(data).digest();
  }
};
function unpaddedLength(b) {
  if (b.length === 0) return -1;
  const pad = b[b.length - 1];
  if (pad + 1 > b.length) return -1;
  for (let i = b.length - 1 - pad; i < b.length - 1; i++) if (b[i] !== pad) return -1;
  return b.length - 1 - pad;
}

// dissectors/tls/decrypt/key-schedule.ts
import { createHmac as createHmac2 } from "node:crypto";
function hashLength(hash2) {
  return hash2 === "sha256" ? 32 : 48;
}
function hkdfExpand(hash2, prk, info2, length) {
  const out = Buffer.alloc(length);
  let prev = Buffer.alloc(0);
  let filled = 0;
  for (let i = 1; filled < length; i++) {
    prev = createHmac2(hash2, prk).update(prev).update(info2).update(Buffer.of(i)).digest();
    filled += prev.copy(out, filled);
  }
  return out;
}
function hkdfExpandLabel(hash2, secret, label, context, length) {
  const full = Buffer.from("tls13 " + label, "latin1");
  const info2 = Buffer.alloc(2 + 1 + full.length + 1 + context.length);
  info2.writeUInt16BE(length, 0);
  info2[2] = full.length;
  full.copy(info2, 3);
  info2[3 + full.length] = context.length;
  info2.set(context, 4 + full.length);
  return hkdfExpand(hash2, secret, info2, length);
}
function tls13TrafficKeys(hash2, secret, keyLength) {
  const empty = new Uint8Array(0);
  return { key: hkdfExpandLabel(hash2, secret, "key", empty, keyLength), iv: hkdfExpandLabel(hash2, secret, "iv", empty, 12) };
}
function tls13NextSecret(hash2, secret) {
  return hkdfExpandLabel(hash2, secret, "traffic upd", new Uint8Array(0), hashLength(hash2));
}
function pHash(hash2, secret, seed, length) {
  const out = Buffer.alloc(length);
  let a = createHmac2(hash2, secret).update(seed).digest();
  let filled = 0;
  while (filled < length) {
    filled += createHmac2(hash2, secret).update(a).update(seed).digest().copy(out, filled);
    a = createHmac2(hash2, secret).update(a).digest();
  }
  return out;
}
function tls12Prf(hash2, secret, label, seed, length) {
  return pHash(hash2, secret, Buffer.concat([Buffer.from(label, "latin1"), seed]), length);
}
function tls12KeyBlock(hash2, masterSecret, clientRandom, serverRandom, keyLength, ivLength) {
  const block = tls12Prf(hash2, masterSecret, "key expansion", Buffer.concat([serverRandom, clientRandom]), 2 * (keyLength + ivLength));
  let o = 0;
  const take = (n) => {
    const b = block.subarray(o, o + n);
    o += n;
    return b;
  };
  const clientKey = take(keyLength);
  const serverKey = take(keyLength);
  const clientIv = take(ivLength);
  const serverIv = take(ivLength);
  return { clientKey, serverKey, clientIv, serverIv };
}
function tls12CbcKeyBlock(hash2, masterSecret, clientRandom, serverRandom, macLength, keyLength) {
  const block = tls12Prf(hash2, masterSecret, "key expansion", Buffer.concat([serverRandom, clientRandom]), 2 * (macLength + keyLength));
  return {
    clientMac: block.subarray(0, macLength),
    serverMac: block.subarray(macLength, 2 * macLength),
    clientKey: block.subarray(2 * macLength, 2 * macLength + keyLength),
    serverKey: block.subarray(2 * macLength + keyLength, 2 * (macLength + keyLength))
  };
}

// dissectors/tls/decrypt/record-cipher.ts
import { createDecipheriv as createDecipheriv2 } from "node:crypto";
var TAG_LENGTH = 16;
var EXPLICIT_NONCE_LENGTH = 8;
var TWO_322 = 4294967296;
var RecordCipher = class {
  suite;
  key;
  iv;
  /** Next record's sequence number (a double: exact far beyond any capture's record count). */
  seq;
  nonce;
  aad12;
  constructor(suite2, key, iv) {
    this.suite = suite2;
    this.key = Buffer.from(key);
    this.iv = Buffer.from(iv);
    this.seq = 0;
    this.nonce = Buffer.alloc(12);
    this.aad12 = Buffer.alloc(13);
  }
  /**
   * Decrypts the record `rec[0..5+bodyLen)` (header then body). Returns the plaintext (TLS 1.3:
   * still with its inner content type and padding), or null when authentication fails.
   */
  open(rec, bodyLen) {
    const s = this.suite;
    const seq = this.seq++;
    let ctStart = 5;
    const nonce = this.nonce;
    if (s.explicitNonce) {
      if (bodyLen < EXPLICIT_NONCE_LENGTH + TAG_LENGTH) return null;
      this.iv.copy(nonce, 0, 0, 4);
      nonce.set(rec.subarray(5, 5 + EXPLICIT_NONCE_LENGTH), 4);
      ctStart += EXPLICIT_NONCE_LENGTH;
    } else {
      if (bodyLen < TAG_LENGTH) return null;
      this.iv.copy(nonce);
      const hi = Math.floor(seq / TWO_322);
      const lo = seq >>> 0;
      nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4);
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ lo) >>> 0, 8);
    }
    const ctEnd = 5 + bodyLen - TAG_LENGTH;
    let aad;
    if (s.tls13) aad = rec.subarray(0, 5);
    else {
      const a = this.aad12;
      a.writeUInt32BE(Math.floor(seq / TWO_322), 0);
      a.writeUInt32BE(seq >>> 0, 4);
      a[8] = rec[0];
      a[9] = rec[1];
      a[10] = rec[2];
      a.writeUInt16BE(ctEnd - ctStart, 11);
      aad = a;
    }
    try {
      const d = createDecipheriv2(s.aead, this.key, nonce, { authTagLength: TAG_LENGTH });
      d.setAAD(aad);
      d.setAuthTag(rec.subarray(ctEnd, ctEnd + TAG_LENGTH));
      const head = d.update(rec.subarray(ctStart, ctEnd));
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  }
};

// dissectors/tls/decrypt/tls-decryptor.ts
var MAX_DECRYPT_RECORD_BYTES = 16384 + 2048;
var DecryptDirection = class {
  cipher;
  /** TLS 1.3: the application traffic secret in use now (for KeyUpdate), once Finished went by. */
  appSecret;
  /**
   * TLS 1.3: reads the direction's first application traffic secret from the key log when Finished
   * comes. It is read then, not at ServerHello: a client logs it only after the server's Finished, and
   * a key log followed during a live capture may not hold it earlier.
   */
  loggedAppSecret;
  /** Header and body of the record being received; allocated with the first protected record. */
  rec;
  recLen;
  bodyLen;
  /** The record does not fit the buffer: it fails when complete. */
  overflow;
  constructor(cipher, loggedAppSecret) {
    this.cipher = cipher;
    this.appSecret = null;
    this.loggedAppSecret = loggedAppSecret;
    this.rec = null;
    this.recLen = 0;
    this.bodyLen = 0;
    this.overflow = false;
  }
};
var TlsDecryptor = class _TlsDecryptor {
  /** The AEAD suite; null for a TLS 1.2 CBC suite. */
  suite;
  tls13;
  dirs;
  /** Content type of the last opened record (TLS 1.3: the inner type; TLS 1.2: the record type). */
  innerType;
  constructor(suite2, client, server) {
    this.suite = suite2;
    this.tls13 = suite2?.tls13 ?? false;
    this.dirs = [client, server];
    this.innerType = 0;
  }
  /**
   * The decryptor of a session, or null when the key log lacks what the first protected records
   * need: TLS 1.3 the two handshake traffic secrets, TLS 1.2 the master secret.
   */
  static create(suite2, secrets, clientRandom, serverRandom) {
    if (suite2.tls13) {
      if (secrets.clientHandshake === null || secrets.serverHandshake === null) return null;
      const c = tls13TrafficKeys(suite2.hash, secrets.clientHandshake, suite2.keyLength);
      const s = tls13TrafficKeys(suite2.hash, secrets.serverHandshake, suite2.keyLength);
      return new _TlsDecryptor(
        suite2,
        new DecryptDirection(new RecordCipher(suite2, c.key, c.iv), () => secrets.clientTraffic0),
        new DecryptDirection(new RecordCipher(suite2, s.key, s.iv), () => secrets.serverTraffic0)
      );
    }
    if (secrets.masterSecret === null) return null;
    const kb = tls12KeyBlock(suite2.hash, secrets.masterSecret, clientRandom, serverRandom, suite2.keyLength, suite2.fixedIvLength);
    return new _TlsDecryptor(
      suite2,
      new DecryptDirection(new RecordCipher(suite2, kb.clientKey, kb.clientIv), null),
      new DecryptDirection(new RecordCipher(suite2, kb.serverKey, kb.serverIv), null)
    );
  }
  /**
   * The decryptor of a TLS 1.2 session on a CBC suite, or null without the master secret.
   * `encryptThenMac`: the ServerHello carried the encrypt_then_mac extension (RFC 7366).
   */
  static createCbc(suite2, secrets, clientRandom, serverRandom, encryptThenMac) {
    if (secrets.masterSecret === null) return null;
    const kb = tls12CbcKeyBlock(suite2.prfHash, secrets.masterSecret, clientRandom, serverRandom, suite2.macLength, suite2.keyLength);
    return new _TlsDecryptor(
      null,
      new DecryptDirection(new CbcRecordCipher(suite2, kb.clientKey, kb.clientMac, encryptThenMac), null),
      new DecryptDirection(new CbcRecordCipher(suite2, kb.serverKey, kb.serverMac, encryptThenMac), null)
    );
  }
  /** A protected record starts: its header is kept (it is the additional data). */
  begin(dir, type, major, minor, len) {
    const d = this.dirs[dir];
    d.rec ??= new Uint8Array(5 + MAX_DECRYPT_RECORD_BYTES);
    const r = d.rec;
    r[0] = type;
    r[1] = major;
    r[2] = minor;
    r[3] = len >> 8;
    r[4] = len & 255;
    d.recLen = 5;
    d.bodyLen = len;
    d.overflow = len > MAX_DECRYPT_RECORD_BYTES;
  }
  append(dir, data, start, end) {
    const d = this.dirs[dir];
    if (d.overflow || d.rec === null) return;
    d.rec.set(data.subarray(start, end), d.recLen);
    d.recLen += end - start;
  }
  /**
   * The record is complete: its plaintext (TLS 1.3: without inner type and padding; the type is in
   * `innerType`), or null when it cannot be opened (wrong key, too long, no key for this phase).
   */
  open(dir) {
    const d = this.dirs[dir];
    const c = d.cipher;
    if (c === null || d.rec === null || d.overflow || d.recLen !== 5 + d.bodyLen) return null;
    const pt = c.open(d.rec, d.bodyLen);
    if (pt === null) return null;
    if (!this.tls13) {
      this.innerType = d.rec[0];
      return pt;
    }
    let i = pt.length - 1;
    while (i >= 0 && pt[i] === 0) i--;
    if (i < 0) return null;
    this.innerType = pt[i];
    return pt.subarray(0, i);
  }
  /** TLS 1.3: after its Finished, a direction uses its application traffic secret. False when it was not logged. */
  toApplication(dir) {
    const d = this.dirs[dir];
    d.appSecret ??= d.loggedAppSecret?.() ?? null;
    if (d.appSecret === null) {
      d.cipher = null;
      return false;
    }
    const suite2 = this.suite;
    const k = tls13TrafficKeys(suite2.hash, d.appSecret, suite2.keyLength);
    d.cipher = new RecordCipher(suite2, k.key, k.iv);
    return true;
  }
  /** TLS 1.3: the key log holds the secret `dir` switches to at its Finished (or it is in use). */
  hasApplicationSecret(dir) {
    const d = this.dirs[dir];
    return d.appSecret !== null || (d.loggedAppSecret?.() ?? null) !== null;
  }
  /** TLS 1.3 KeyUpdate from `dir`: its next records use the next generation of its traffic secret. */
  keyUpdate(dir) {
    const d = this.dirs[dir];
    if (d.appSecret === null) return false;
    d.appSecret = tls13NextSecret(this.suite.hash, d.appSecret);
    return this.toApplication(dir);
  }
  /** `n` records of `dir` went by unopened (decryption started late): the next one is number n. */
  skipRecords(dir, n) {
    const c = this.dirs[dir].cipher;
    if (c !== null) c.seq += n;
  }
  /** Frees the record buffer of a direction that is no longer decrypted. */
  release(dir) {
    const d = this.dirs[dir];
    d.rec = null;
    d.cipher = null;
  }
};

// dissectors/tls/tls-dissector.ts
var MAX_HANDSHAKE_BYTES = 64 * 1024;
var MAX_CERTIFICATE_MESSAGE_BYTES = 256 * 1024;
var MAX_CHAIN_CERTS = 10;
var MAX_ALERTS = 32;
var INITIAL_HANDSHAKE_BUFFER = 4096;
var EMPTY = new Uint8Array(0);
var handshakeBufferPool = [];
var MAX_POOLED_HANDSHAKE_BUFFERS = 64;
function takeHandshakeBuffer() {
  return handshakeBufferPool.pop() ?? new Uint8Array(INITIAL_HANDSHAKE_BUFFER);
}
var NO_HTTP = [];
var RANDOM_LENGTH = 32;
var DirectionState = class {
  /** Header bytes collected so far when a header is split across chunks. */
  header;
  headerLen;
  inBody;
  recordType;
  recordLeft;
  /** Plaintext handshake bytes not yet parsed into messages. */
  hs;
  hsLen;
  /** Handshake messages of this direction are still parsed (false after encryption, a gap, or a cap). */
  hsActive;
  encrypted;
  /** Encryption starts with the next record (after ChangeCipherSpec or a TLS 1.3 ServerHello). */
  encryptPending;
  /** An encrypted handshake record (Finished, ≤ 1.2) was seen. */
  finished;
  /** Not parsing this direction any more (not TLS, or lost sync). */
  idle;
  /** Byte offset inside the current alert record (each alert is two bytes). */
  alertPos;
  alertLevel;
  /** This direction's protected records are being decrypted (keys found in the key log). */
  decrypting;
  /** The current record's body goes to the decryptor instead of being skipped. */
  decryptRecord;
  constructor() {
    this.header = new Uint8Array(5);
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
  releaseHandshake() {
    this.hsActive = false;
    if (this.hs.length === INITIAL_HANDSHAKE_BUFFER && handshakeBufferPool.length < MAX_POOLED_HANDSHAKE_BUFFERS) {
      handshakeBufferPool.push(this.hs);
    }
    this.hs = EMPTY;
    this.hsLen = 0;
  }
};
function emptyTlsInfo() {
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
    decrypted: false
  };
}
var TlsDissector = class {
  id = "tls";
  anomaly;
  dirs;
  info;
  clientHello;
  serverHello;
  /** TLS 1.3 negotiated (or a HelloRetryRequest seen): ChangeCipherSpec is then only a compatibility no-op. */
  tls13;
  serverCertificateSeen;
  /** TLS 1.3: the server sent a record after the client's first encrypted record (its Finished). */
  serverAfterClient;
  // Capture time and frame of the bytes being fed, initialised here rather than in the constructor:
  // a number field declared without a value starts undefined and would box every time stored after.
  frame = 0;
  ts = 0;
  keyLog;
  serverPort;
  /** Kept only when a key log is present: the key log is indexed by it. */
  clientRandom;
  decryptor;
  /**
   * A key log being followed (live capture) that did not hold the session's secrets at ServerHello:
   * what setting up decryption needs, kept until each side's first protected record, when the key
   * log is read again. Whoever logs has done so by then: in TLS ≤ 1.2 a client before its
   * ChangeCipherSpec and a server before its own; in TLS 1.3 a server before its encrypted
   * handshake and a client before its Finished. A live capture can see the ServerHello first.
   */
  lateKeys;
  /** Protected records per direction that went by before decryption could start. */
  undecrypted;
  /**
   * TLS 1.3, a followed key log: the side's application secret was not logged yet at its Finished
   * (a client logs the server's as it reads that Finished, and its own after sending its own). Its
   * next protected record looks again.
   */
  appSecretLate;
  /**
   * TLS 1.3 with late secrets: the server's protected records (its encrypted handshake) kept until
   * the client's first protected record, when the client has logged the keys to them. Null when
   * not kept (or no longer: over the cap, or let go).
   */
  heldServer;
  /** The server's current record is being held. */
  holding;
  inner;
  /** Stamp of the decrypted bytes handed to `inner` (made when a connection is first decrypted). */
  innerStamp;
  constructor(anomaly, flow) {
    this.anomaly = anomaly;
    this.dirs = [new DirectionState(), new DirectionState()];
    this.info = emptyTlsInfo();
    this.clientHello = null;
    this.serverHello = null;
    this.tls13 = false;
    this.serverCertificateSeen = false;
    this.serverAfterClient = false;
    this.keyLog = flow?.keyLog ?? null;
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
  feed(dir, data, start, end, at) {
    const s = this.dirs[dir];
    if (s.idle) return;
    this.frame = at.frame;
    this.ts = at.ts;
    try {
      this.walk(dir, s, data, start, end);
    } catch {
      this.anomaly("dissector.exception");
      s.idle = true;
      s.releaseHandshake();
    }
  }
  walk(dir, s, data, start, end) {
    let p = start;
    while (p < end && !s.idle) {
      if (!s.inBody) {
        let type;
        let major;
        let minor;
        let len;
        if (s.headerLen === 0 && end - p >= 5) {
          type = data[p];
          major = data[p + 1];
          minor = data[p + 2];
          len = data[p + 3] << 8 | data[p + 4];
          p += 5;
        } else {
          const h = s.header;
          while (s.headerLen < 5 && p < end) h[s.headerLen++] = data[p++];
          if (s.headerLen < 5) return;
          type = h[0];
          major = h[1];
          minor = h[2];
          len = h[3] << 8 | h[4];
          s.headerLen = 0;
        }
        if (type < CT_CHANGE_CIPHER_SPEC || type > CT_HEARTBEAT || major !== 3) {
          this.anomaly("tls.bad_record_type");
          this.goIdle(s);
          return;
        }
        if (len > MAX_RECORD_LENGTH) {
          this.anomaly("tls.record_too_long");
          this.goIdle(s);
          return;
        }
        s.recordType = type;
        s.recordLeft = len;
        s.inBody = len > 0;
        s.alertPos = 0;
        this.recordStart(dir, s, type, len);
        if (s.encrypted && !s.decrypting && len > 0) {
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
        this.decryptor.append(dir, data, p, stop);
      } else if (s.recordType === CT_HANDSHAKE) {
        if (s.hsActive && !s.encrypted) this.appendHandshake(dir, s, data, p, stop);
      } else if (s.recordType === CT_ALERT && !s.encrypted) {
        for (let i = p; i < stop; i++) this.alertByte(dir, s, data[i]);
      } else if (dir === 1 && this.holding) {
        this.heldServer.append(data, p, stop);
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
  beginProtected(dir, s, type, major, minor, len) {
    s.decryptRecord = s.encrypted && len > 0 && (type === CT_APPLICATION_DATA || !this.tls13);
    if (s.decryptRecord) this.decryptor.begin(dir, type, major, minor, len);
  }
  /** A protected record is complete: open it and hand its plaintext to the handshake parser or the inner dissector. */
  openProtected(dir, s) {
    const dec = this.decryptor;
    const pt = dec.open(dir);
    if (pt === null) {
      this.anomaly("tls.decrypt_failed");
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
        for (let i = 0; i < pt.length; i++) this.alertByte(dir, s, pt[i]);
        break;
      default:
        break;
    }
  }
  goIdle(s) {
    s.idle = true;
    s.inBody = false;
    s.releaseHandshake();
  }
  /** Called once per record header: the whole cost of an application-data record. */
  recordStart(dir, s, type, len) {
    if (s.encryptPending) {
      s.encryptPending = false;
      this.startEncryption(dir, s);
    }
    const info2 = this.info;
    switch (type) {
      case CT_APPLICATION_DATA:
        if (!s.encrypted) this.startEncryption(dir, s);
        info2.appDataRecords[dir]++;
        info2.appDataBytes[dir] += len;
        if (dir === 1 && info2.appDataRecords[0] > 0) this.serverAfterClient = true;
        break;
      case CT_HANDSHAKE:
        if (s.encrypted) s.finished = true;
        break;
      case CT_CHANGE_CIPHER_SPEC:
        if (!this.tls13 && !s.encrypted) {
          s.encryptPending = true;
          if (dir === 1 && this.serverHello !== null && !this.serverCertificateSeen) info2.resumed = true;
        }
        break;
      case CT_ALERT:
        if (s.encrypted && !s.decrypting && info2.alerts.length < MAX_ALERTS) {
          info2.alerts.push({
            level: "unknown",
            description: "encrypted",
            code: -1,
            from: dir === 0 ? "client" : "server",
            plaintext: false,
            frame: this.frame,
            ts: this.ts
          });
        }
        break;
      default:
        break;
    }
  }
  startEncryption(dir, s) {
    s.encrypted = true;
    this.info.encryptedFromFrame[dir] = this.frame;
    s.releaseHandshake();
    if (s.decrypting) s.hsActive = true;
  }
  /** Decrypted application data: to the inner HTTP dissector (chosen by ALPN or the first bytes). */
  deliverApplication(dir, pt) {
    if (pt.length === 0) return;
    this.inner ??= new InnerApp(this.anomaly, this.info.alpnSelected, this.serverPort);
    this.inner.feed(dir, pt, 0, pt.length, (this.innerStamp ??= new MutableStamp()).set(this.ts, this.frame));
  }
  /** No more decryption on this connection (a record failed, or keys for the next phase are missing). */
  stopDecrypting() {
    for (let d = 0; d < 2; d++) this.stopDirection(d);
  }
  stopDirection(dir) {
    const s = this.dirs[dir];
    if (!s.decrypting) return;
    s.decrypting = false;
    s.decryptRecord = false;
    if (s.encrypted) s.releaseHandshake();
    this.decryptor?.release(dir);
  }
  /**
   * At ServerHello: if the key log holds this session's secrets and the suite is an AEAD one (or a
   * TLS 1.2 CBC one), protected records of both directions will be decrypted.
   */
  setupDecryption(tls132, cipher, b, start, end) {
    if (this.keyLog === null || this.clientRandom === null || end - start < 2 + RANDOM_LENGTH) return;
    const secrets = this.keyLog.lookup(this.clientRandom);
    const serverRandom = b.slice(start + 2, start + 2 + RANDOM_LENGTH);
    if (secrets !== null) this.startDecryption(tls132, cipher, secrets, serverRandom);
    if (this.decryptor === null && this.keyLog.follow !== null && this.decryptable(tls132, cipher)) {
      this.lateKeys = { cipher, serverRandom };
      if (tls132) this.heldServer = new HeldRecords(this.keyLog.holdBudget);
    }
  }
  /** Keeps the server's protected record that starts now (or lets every held one go, past the cap). */
  holdServerRecord(type, major, minor, len) {
    this.holding = this.heldServer.begin(type, major, minor, len, this.frame, this.ts);
    if (!this.holding) this.dropHeld();
  }
  /** Lets the held server records go (no longer needed, or no longer complete). */
  dropHeld() {
    this.heldServer?.release();
    this.heldServer = null;
    this.holding = false;
  }
  /** A suite this dissector decrypts: AEAD, or CBC in TLS 1.2. */
  decryptable(tls132, cipher) {
    if (aeadSuite(cipher, tls132) !== null) return true;
    return !tls132 && this.serverHello?.legacyVersion === TLS12 && cbcSuite(cipher) !== null;
  }
  /** Looks for late secrets again at the first protected record of `dir`, reading the followed key log now. */
  retryLateKeys(dir) {
    const late = this.lateKeys;
    const keyLog = this.keyLog;
    keyLog.refresh(true);
    const secrets = keyLog.lookup(this.clientRandom);
    if (secrets !== null) {
      if (this.tls13) this.lateTls13(dir, late, secrets);
      else this.lateTls12(late, secrets);
    }
    if (this.decryptor !== null || this.dirs[0].encrypted && this.dirs[1].encrypted) {
      this.lateKeys = null;
      this.dropHeld();
    }
  }
  /** TLS ≤ 1.2: decryption starts here; records that went by unopened still counted in their side's sequence numbers. */
  lateTls12(late, secrets) {
    this.startDecryption(false, late.cipher, secrets, late.serverRandom);
    const dec = this.decryptor;
    if (dec === null) return;
    for (let d = 0; d < 2; d++) {
      dec.skipRecords(d, this.undecrypted[d]);
      const s = this.dirs[d];
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
  lateTls13(dir, late, secrets) {
    this.startDecryption(true, late.cipher, secrets, late.serverRandom);
    const dec = this.decryptor;
    if (dec === null) return;
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
  openHeldServerRecords(held) {
    const dec = this.decryptor;
    const server = this.dirs[1];
    server.decrypting = true;
    server.hsActive = true;
    const frame = this.frame;
    const ts = this.ts;
    for (const r of held.records) {
      if (!server.decrypting) break;
      if (r.type !== CT_APPLICATION_DATA) continue;
      this.frame = r.frame;
      this.ts = r.ts;
      dec.begin(1, r.type, r.major, r.minor, r.length);
      dec.append(1, held.bytes, r.start, r.start + r.length);
      this.openProtected(1, server);
    }
    this.frame = frame;
    this.ts = ts;
  }
  startDecryption(tls132, cipher, secrets, serverRandom) {
    const clientRandom = this.clientRandom;
    const suite2 = aeadSuite(cipher, tls132);
    let dec = null;
    if (suite2 !== null) dec = TlsDecryptor.create(suite2, secrets, clientRandom, serverRandom);
    else if (!tls132 && this.serverHello?.legacyVersion === TLS12) {
      const cbc = cbcSuite(cipher);
      const etm = this.serverHello.extensions.includes(EXT_ENCRYPT_THEN_MAC);
      if (cbc !== null) dec = TlsDecryptor.createCbc(cbc, secrets, clientRandom, serverRandom, etm);
    }
    if (dec === null) return;
    this.decryptor = dec;
    this.dirs[1].decrypting = true;
    this.dirs[0].decrypting = !(tls132 && this.dirs[0].encrypted);
  }
  /** TLS 1.3 decrypted: Finished ends a side's handshake keys; KeyUpdate advances its application keys. */
  tls13KeyChange(dir, type) {
    const dec = this.decryptor;
    if (dec === null || !this.tls13 || !this.dirs[dir].decrypting) return;
    if (type === HS_FINISHED && !dec.hasApplicationSecret(dir)) this.keyLog?.refresh(true);
    const ok = type === HS_FINISHED ? dec.toApplication(dir) : dec.keyUpdate(dir);
    if (ok) return;
    if (type === HS_FINISHED && this.keyLog?.follow != null) {
      this.appSecretLate[dir] = true;
      const s = this.dirs[dir];
      s.decrypting = false;
      s.decryptRecord = false;
      return;
    }
    this.stopDirection(dir);
  }
  /** The application secret a side lacked at its Finished, looked for again at its next record. */
  retryAppSecret(dir) {
    this.appSecretLate[dir] = false;
    const dec = this.decryptor;
    this.keyLog?.refresh(true);
    const s = this.dirs[dir];
    if (dec !== null && dec.toApplication(dir)) {
      s.decrypting = true;
      return;
    }
    if (s.encrypted) s.releaseHandshake();
    dec?.release(dir);
  }
  alertByte(dir, s, v) {
    if ((s.alertPos++ & 1) === 0) {
      s.alertLevel = v;
      return;
    }
    const alerts = this.info.alerts;
    if (alerts.length >= MAX_ALERTS) return;
    const alert = {
      level: s.alertLevel === 1 ? "warning" : s.alertLevel === 2 ? "fatal" : "unknown",
      description: alertName(v),
      code: v,
      from: dir === 0 ? "client" : "server",
      plaintext: true,
      frame: this.frame,
      ts: this.ts
    };
    alerts.push(alert);
  }
  appendHandshake(dir, s, data, p, stop) {
    while (p < stop && s.hsActive) {
      const need = this.bufferLimit(s);
      if (need < 0) return;
      if (s.hs.length < need) {
        const size2 = Math.min(need, Math.max(INITIAL_HANDSHAKE_BUFFER, s.hs.length * 2, s.hsLen + (stop - p)));
        const grown = size2 <= INITIAL_HANDSHAKE_BUFFER ? takeHandshakeBuffer() : new Uint8Array(size2);
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
  bufferLimit(s) {
    if (s.hsLen < 4) return s.hs.length > 0 ? s.hs.length : INITIAL_HANDSHAKE_BUFFER;
    const len = s.hs[1] << 16 | s.hs[2] << 8 | s.hs[3];
    const cap = s.hs[0] === HS_CERTIFICATE ? MAX_CERTIFICATE_MESSAGE_BYTES : MAX_HANDSHAKE_BYTES;
    if (len > cap) {
      this.anomaly("tls.handshake_too_long");
      s.releaseHandshake();
      return -1;
    }
    return 4 + len;
  }
  parseMessages(dir, s) {
    let off = 0;
    while (s.hsActive && s.hsLen - off >= 4) {
      const hs = s.hs;
      const type = hs[off];
      const len = hs[off + 1] << 16 | hs[off + 2] << 8 | hs[off + 3];
      if (s.hsLen - off < 4 + len) break;
      this.handshakeMessage(dir, s, type, hs, off + 4, off + 4 + len);
      off += 4 + len;
    }
    if (!s.hsActive) return;
    if (off > 0) {
      s.hs.copyWithin(0, off, s.hsLen);
      s.hsLen -= off;
    }
    if (s.hsLen >= 4) this.bufferLimit(s);
  }
  handshakeMessage(dir, s, type, b, start, end) {
    const info2 = this.info;
    if (dir === 0) {
      if (type === HS_CLIENT_HELLO) this.onClientHello(b, start, end);
      else if (type === HS_CERTIFICATE) this.readCertificates(b, start, end, info2.clientCertificates);
      else if (type === HS_FINISHED || type === HS_KEY_UPDATE) this.tls13KeyChange(dir, type);
      return;
    }
    switch (type) {
      case HS_SERVER_HELLO:
        this.onServerHello(s, b, start, end);
        break;
      case HS_CERTIFICATE:
        this.serverCertificateSeen = true;
        info2.resumed = false;
        info2.certificateFrame = this.frame;
        this.readCertificates(b, start, end, info2.serverCertificates);
        break;
      case HS_CERTIFICATE_REQUEST:
        info2.clientCertRequested = true;
        break;
      case HS_SERVER_HELLO_DONE:
        if (info2.clientCertRequested !== true) info2.clientCertRequested = false;
        break;
      case HS_FINISHED:
        if (this.tls13 && s.decrypting && info2.clientCertRequested !== true) info2.clientCertRequested = false;
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
  onClientHello(b, start, end) {
    if (this.clientHello !== null) return;
    const ch = parseClientHello(b, start, end);
    if (ch === null) {
      this.anomaly("tls.malformed_client_hello");
      return;
    }
    this.clientHello = ch;
    if (this.keyLog !== null && end - start >= 2 + RANDOM_LENGTH) this.clientRandom = b.slice(start + 2, start + 2 + RANDOM_LENGTH);
    const info2 = this.info;
    info2.clientHelloFrame = this.frame;
    info2.clientVersion = versionName(ja4Version(ch));
    if (info2.version === null) info2.version = info2.clientVersion;
    info2.sni = ch.sni;
    info2.alpn = ch.alpn;
    info2.clientCiphers = ch.ciphers;
    info2.clientExtensions = ch.extensions;
    info2.supportedGroups = ch.groups;
    info2.signatureAlgorithms = ch.sigAlgs;
    info2.supportedVersions = ch.versions;
    info2.ecPointFormats = ch.pointFormats;
    info2.sessionTicket = ch.ticketPresented;
    info2.psk = ch.psk;
    info2.ech = ch.ech;
    const fp = clientFingerprints(ch);
    info2.ja3 = fp.ja3;
    info2.ja3Full = fp.ja3Full;
    info2.ja4 = fp.ja4;
  }
  onServerHello(s, b, start, end) {
    const sh = parseServerHello(b, start, end);
    if (sh === null) {
      this.anomaly("tls.malformed_server_hello");
      return;
    }
    this.serverHello = sh;
    const info2 = this.info;
    info2.serverHelloFrame = this.frame;
    const negotiated = sh.selectedVersion !== 0 ? sh.selectedVersion : sh.legacyVersion;
    info2.version = versionName(negotiated) ?? info2.version;
    info2.cipherId = sh.cipher;
    info2.cipher = cipherSuiteName(sh.cipher);
    info2.serverExtensions = sh.extensions;
    info2.alpnSelected = sh.alpn;
    const j3s = ja3s(sh);
    info2.ja3s = j3s.hash;
    info2.ja3sFull = j3s.full;
    if (sh.helloRetryRequest) {
      info2.helloRetryRequest = true;
      this.tls13 = true;
      return;
    }
    if (negotiated === 772) {
      this.tls13 = true;
      info2.clientCertRequested = null;
      info2.resumed = sh.pskSelected;
      s.encryptPending = true;
      s.releaseHandshake();
      this.setupDecryption(true, sh.cipher, b, start, end);
      return;
    }
    this.setupDecryption(false, sh.cipher, b, start, end);
    const ch = this.clientHello;
    info2.resumed = ch !== null && sh.sessionId.length > 0 && sameBytes(sh.sessionId, ch.sessionId);
  }
  /** TLS 1.3 (decrypted): the server's ALPN choice travels in EncryptedExtensions (RFC 8446 §4.3.1). */
  onEncryptedExtensions(b, start, end) {
    if (end - start < 2) return;
    const stop = Math.min(end, start + 2 + (b[start] << 8 | b[start + 1]));
    for (let p = start + 2; p + 4 <= stop; ) {
      const type = b[p] << 8 | b[p + 1];
      const len = b[p + 2] << 8 | b[p + 3];
      p += 4;
      if (p + len > stop) return;
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
  readCertificates(b, start, end, out) {
    const tls132 = this.tls13;
    if (tls132 && end > start) start += 1 + b[start];
    if (end - start < 3) {
      this.anomaly("tls.malformed_certificate");
      return;
    }
    const listEnd = start + 3 + (b[start] << 16 | b[start + 1] << 8 | b[start + 2]);
    if (listEnd > end) {
      this.anomaly("tls.malformed_certificate");
      return;
    }
    out.length = 0;
    for (let p = start + 3; p < listEnd; ) {
      if (p + 3 > listEnd) {
        this.anomaly("tls.malformed_certificate");
        return;
      }
      const len = b[p] << 16 | b[p + 1] << 8 | b[p + 2];
      p += 3;
      if (p + len > listEnd) {
        this.anomaly("tls.malformed_certificate");
        return;
      }
      if (out.length < MAX_CHAIN_CERTS) {
        const cert = parseCertificate(b.subarray(p, p + len));
        if (cert === null) this.anomaly("tls.malformed_certificate");
        else out.push(cert);
      }
      p += len;
      if (tls132) {
        if (p + 2 > listEnd) {
          this.anomaly("tls.malformed_certificate");
          return;
        }
        p += 2 + (b[p] << 8 | b[p + 1]);
      }
    }
  }
  gap(dir, bytes) {
    const s = this.dirs[dir];
    if (dir === 1) this.dropHeld();
    if (s.idle) return;
    if (s.decrypting) {
      this.stopDirection(dir);
      this.inner?.gap(dir, bytes);
    }
    if (s.hsActive && !s.encrypted) {
      this.anomaly("tls.gap_in_handshake");
      s.releaseHandshake();
    }
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
  end(dir) {
    this.dropHeld();
    this.dirs[dir].releaseHandshake();
    this.stopDirection(dir);
    this.inner?.end(dir);
  }
  /** HTTP requests recovered from decrypted application data (empty without a key log). */
  decryptedHttp() {
    return this.inner === null ? NO_HTTP : this.inner.result();
  }
  result() {
    const info2 = this.info;
    const c = this.dirs[0];
    const sv = this.dirs[1];
    info2.established = this.tls13 ? this.serverAfterClient : c.finished && sv.finished || info2.appDataRecords[0] > 0 && info2.appDataRecords[1] > 0;
    return info2;
  }
};
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function probeTls(dir, data, start, end) {
  const n = end - start;
  if (n < 1) return ProbeResult.NEED_MORE;
  if (data[start] !== CT_HANDSHAKE) return ProbeResult.NO_MATCH;
  if (n >= 2 && data[start + 1] !== 3) return ProbeResult.NO_MATCH;
  if (n >= 3 && data[start + 2] > 4) return ProbeResult.NO_MATCH;
  if (n < 5) return ProbeResult.NEED_MORE;
  const len = data[start + 3] << 8 | data[start + 4];
  if (len < 4 || len > MAX_RECORD_LENGTH) return ProbeResult.NO_MATCH;
  if (n >= 6) {
    const t = data[start + 5];
    if (t !== HS_CLIENT_HELLO && t !== HS_SERVER_HELLO) return ProbeResult.NO_MATCH;
  }
  void dir;
  return ProbeResult.MATCH;
}
var tlsFactory = {
  id: "tls",
  probe: probeTls,
  create: (anomaly, flow) => new TlsDissector(anomaly, flow)
};

// dissectors/registry.ts
var FACTORIES = [tlsFactory, http1Factory, http2Factory, sshFactory];

// dissectors/app-session.ts
var MAX_PROBE_BYTES = 2048;
var MAX_PROBE_EVENTS = 64;
var ST_PROBING = 0;
var ST_PINNED = 1;
var ST_UNKNOWN = 2;
var ST_DETACHED = 3;
var EV_DATA = 0;
var EV_END = 1;
var ProbeBuffer = class {
  data = [new Uint8Array(MAX_PROBE_BYTES), new Uint8Array(MAX_PROBE_BYTES)];
  len = new Int32Array(2);
  evKind = new Uint8Array(MAX_PROBE_EVENTS);
  evDir = new Uint8Array(MAX_PROBE_EVENTS);
  evLen = new Uint16Array(MAX_PROBE_EVENTS);
  evTs = new Float64Array(MAX_PROBE_EVENTS);
  evFrame = new Float64Array(MAX_PROBE_EVENTS);
  events = 0;
  ended = new Uint8Array(2);
  /** Empty again, for the next flow. */
  reset() {
    this.len[0] = this.len[1] = 0;
    this.ended[0] = this.ended[1] = 0;
    this.events = 0;
  }
};
var probePool = [];
var MAX_POOLED_PROBES = 64;
function takeProbe() {
  const p = probePool.pop();
  if (p === void 0) return new ProbeBuffer();
  p.reset();
  return p;
}
function giveBackProbe(p) {
  if (p !== null && probePool.length < MAX_POOLED_PROBES) probePool.push(p);
}
var EMPTY_HTTP = [];
function evidenceOf(id, r) {
  switch (id) {
    case "tls":
      return { app: "tls", tls: r ?? null, http: [], ssh: null };
    case "ssh":
      return { app: "ssh", tls: null, http: [], ssh: r ?? null };
    case "http2":
      return { app: "http2", tls: null, http: Array.isArray(r) ? r : [], ssh: null };
    case "http": {
      const http3 = Array.isArray(r) ? r : [];
      let h2 = false;
      for (const rec of http3) if (rec !== null && typeof rec === "object" && rec.version === "2") h2 = true;
      return { app: h2 ? "http2" : "http", tls: null, http: http3, ssh: null };
    }
  }
}
var replayStamp = new MutableStamp();
var DissectorSession = class {
  /** Every anomaly counted by this flow's dissectors (also forwarded to the sink, if one was given). */
  anomalies = new AnomalyCounter();
  state = ST_PROBING;
  factories;
  /** Index in `factories` of the port table's choice, or -1. */
  portIndex;
  /** Bit i set = factory i has not said NO_MATCH yet. */
  alive;
  probe = null;
  dissector = null;
  pinnedId = null;
  /** The last result obtained from a detached dissector, so its evidence is not lost. */
  lastResult = null;
  sink;
  external;
  serverPort;
  keyLog;
  constructor(meta, external, options) {
    this.factories = options?.factories ?? FACTORIES;
    const n = Math.min(this.factories.length, 31);
    this.alive = n === 31 ? 2147483647 : (1 << n) - 1;
    const table2 = options?.portTable ?? defaultPortTable;
    const preferred = table2.get(meta.server.port) ?? table2.get(meta.client.port);
    let portIndex = -1;
    if (preferred !== null) {
      for (let i = 0; i < n; i++) if (this.factories[i].id === preferred) {
        portIndex = i;
        break;
      }
    }
    this.portIndex = portIndex;
    this.serverPort = meta.server.port;
    this.keyLog = options?.keyLog ?? null;
    this.external = external;
    this.sink = (code) => this.count(code);
  }
  onData(dir, data, start, end, at) {
    if (this.state === ST_PINNED) {
      this.deliver(dir, data, start, end, at);
      return;
    }
    if (this.state !== ST_PROBING || end <= start) return;
    const p = this.probe ??= takeProbe();
    const used = p.len[dir];
    let take = Math.min(end - start, MAX_PROBE_BYTES - used);
    if (p.events >= MAX_PROBE_EVENTS) take = 0;
    if (take > 0) {
      p.data[dir].set(data.subarray(start, start + take), used);
      p.len[dir] = used + take;
      this.logEvent(p, EV_DATA, dir, take, at.ts, at.frame);
    }
    const full = take < end - start || p.len[dir] === MAX_PROBE_BYTES || p.events >= MAX_PROBE_EVENTS;
    this.decide(full);
    if (this.isPinned()) {
      this.replay();
      if (take < end - start) this.deliver(dir, data, start + take, end, at);
    }
  }
  onGap(dir, bytes) {
    if (this.state === ST_PROBING) {
      this.decide(true);
      if (this.isPinned()) this.replay();
    }
    if (this.state !== ST_PINNED) return;
    try {
      this.dissector.gap(dir, bytes);
    } catch {
      this.detach();
    }
  }
  onEnd(dir) {
    if (this.state === ST_PROBING) {
      const p = this.probe ??= takeProbe();
      if (p.events < MAX_PROBE_EVENTS) this.logEvent(p, EV_END, dir, 0, 0, 0);
      p.ended[dir] = 1;
      if (p.ended[0] === 1 && p.ended[1] === 1) {
        if (p.len[0] === 0 && p.len[1] === 0) {
          this.giveUp();
          return;
        }
        this.decide(true);
        if (this.isPinned()) this.replay();
      }
      return;
    }
    if (this.state !== ST_PINNED) return;
    try {
      this.dissector.end(dir);
    } catch {
      this.detach();
    }
  }
  describe() {
    if (this.pinnedId === null) return { app: "unknown", tls: null, http: EMPTY_HTTP.slice(), ssh: null };
    let r = this.lastResult;
    if (this.state === ST_PINNED) {
      try {
        r = this.dissector.result();
      } catch {
        this.detach();
        r = this.lastResult;
      }
    }
    const ev = evidenceOf(this.pinnedId, r);
    if (this.dissector instanceof TlsDissector) ev.http = this.dissector.decryptedHttp().slice();
    return ev;
  }
  /** The dissector pinned to this flow, or null (still probing, unknown, or never pinned). */
  get pinned() {
    return this.pinnedId;
  }
  /** True once the pinned dissector threw and was detached. */
  get detached() {
    return this.state === ST_DETACHED;
  }
  /** A method, not a field test, so the compiler does not keep a narrowing across decide(). */
  isPinned() {
    return this.state === ST_PINNED;
  }
  count(code) {
    this.anomalies.add(code);
    if (this.external !== null) this.external(code);
  }
  logEvent(p, kind, dir, len, ts, frame) {
    const e = p.events++;
    p.evKind[e] = kind;
    p.evDir[e] = dir;
    p.evLen[e] = len;
    p.evTs[e] = ts;
    p.evFrame[e] = frame;
  }
  /** Probe order: the port table's choice first, then the others in registry order. */
  orderAt(k) {
    const pi = this.portIndex;
    if (pi < 0) return k;
    if (k === 0) return pi;
    return k <= pi ? k - 1 : k;
  }
  /**
   * Runs every live probe over the buffered prefix, client bytes first, then server bytes (a server
   * may speak first, as SSH does). The first MATCH is pinned. When the buffer can grow no more
   * (`forced`), the port table's choice is pinned if it still might match; otherwise 'unknown'.
   */
  decide(forced) {
    const p = this.probe;
    const n = Math.min(this.factories.length, 31);
    if (p !== null) {
      for (let d = 0; d < 2; d++) {
        const len = p.len[d];
        if (len === 0) continue;
        for (let k = 0; k < n; k++) {
          const i = this.orderAt(k);
          if ((this.alive & 1 << i) === 0) continue;
          const r = this.safeProbe(this.factories[i], d, p.data[d], len);
          if (r === ProbeResult.MATCH) {
            this.pin(i);
            return;
          }
          if (r !== ProbeResult.NEED_MORE) this.alive &= ~(1 << i);
        }
      }
    }
    if (this.alive === 0) {
      this.giveUp();
      return;
    }
    if (!forced) return;
    if (this.portIndex >= 0 && (this.alive & 1 << this.portIndex) !== 0) this.pin(this.portIndex);
    else this.giveUp();
  }
  safeProbe(f, dir, data, len) {
    try {
      return f.probe(dir, data, 0, len);
    } catch {
      this.count("dissector.exception");
      return ProbeResult.NO_MATCH;
    }
  }
  pin(i) {
    const f = this.factories[i];
    this.pinnedId = f.id;
    try {
      this.dissector = f.create(this.sink, { serverPort: this.serverPort, keyLog: this.keyLog });
      this.state = ST_PINNED;
    } catch {
      this.count("dissector.exception");
      this.state = ST_DETACHED;
      giveBackProbe(this.probe);
      this.probe = null;
    }
  }
  giveUp() {
    this.state = ST_UNKNOWN;
    giveBackProbe(this.probe);
    this.probe = null;
  }
  /** Feeds the buffered events to the newly pinned dissector in their original order. */
  replay() {
    const p = this.probe;
    this.probe = null;
    if (p === null) return;
    let off0 = 0;
    let off1 = 0;
    for (let e = 0; e < p.events && this.state === ST_PINNED; e++) {
      const dir = p.evDir[e];
      if (p.evKind[e] === EV_END) {
        try {
          this.dissector.end(dir);
        } catch {
          this.detach();
        }
        continue;
      }
      const len = p.evLen[e];
      const off = dir === 0 ? off0 : off1;
      this.deliver(dir, p.data[dir], off, off + len, replayStamp.set(p.evTs[e], p.evFrame[e]));
      if (dir === 0) off0 += len;
      else off1 += len;
    }
    giveBackProbe(p);
  }
  deliver(dir, data, start, end, at) {
    try {
      this.dissector.feed(dir, data, start, end, at);
    } catch {
      this.detach();
    }
  }
  detach() {
    this.count("dissector.exception");
    this.state = ST_DETACHED;
    const d = this.dissector;
    this.dissector = null;
    try {
      this.lastResult = d === null ? null : d.result();
    } catch {
      this.lastResult = null;
    }
  }
};
function createAppSession(meta, anomalySink, options) {
  return new DissectorSession(meta, anomalySink ?? null, options);
}
var defaultSessionFactory = (meta) => meta.transport === "tcp" ? createAppSession(meta) : null;

// src/ingest/raw-walk.ts
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createGunzip } from "node:zlib";

// src/ingest/bytes.ts
function rd16(b, o, le) {
  return le ? b[o] | b[o + 1] << 8 : b[o] << 8 | b[o + 1];
}
function rd32(b, o, le) {
  return le ? (b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24) >>> 0 : (b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]) >>> 0;
}
function rd32s(b, o, le) {
  return rd32(b, o, le) | 0;
}

// src/ingest/capture-error.ts
var CaptureError = class extends Error {
  constructor(file2, offset, code, detail) {
    super(code === "capture.open_failed" ? `${file2}: ${detail}` : `${file2}: ${detail} at byte offset ${offset}`);
    this.file = file2;
    this.offset = offset;
    this.code = code;
    this.name = "CaptureError";
  }
  file;
  offset;
  code;
};

// src/ingest/frame.ts
var EMPTY2 = new Uint8Array(0);
var Frame = class {
  /** The buffer holding the captured bytes (caplen of them, from `start`). */
  buf = EMPTY2;
  start = 0;
  end = 0;
  /** Bytes on the wire; larger than the captured bytes when the snaplen cut the record. */
  origLen = 0;
  /** Seconds since the epoch. */
  tsSec = 0;
  /** Sub-second part in nanoseconds (0..999_999_999), whatever the file's resolution was. */
  tsNsec = 0;
  /** LINKTYPE_* of the interface the frame was captured on. */
  linkType = 1;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId = 0;
  /** 1-based frame number within the capture, as Wireshark counts them. */
  number = 0;
  /** Byte offset of the record in the (decompressed) capture stream. */
  offset = 0;
  /** The captured bytes as a view (a new one each time it is read). */
  get data() {
    return this.buf.subarray(this.start, this.end);
  }
  /** Makes the frame's bytes the whole of `bytes`. */
  set data(bytes) {
    this.buf = bytes;
    this.start = 0;
    this.end = bytes.length;
  }
  /** Bytes captured. */
  get caplen() {
    return this.end - this.start;
  }
  /** True when the snaplen cut the record (fewer bytes captured than were on the wire). */
  get truncated() {
    return this.end - this.start < this.origLen;
  }
  /** Timestamp as floating seconds (microsecond precision is kept for current epochs). */
  get ts() {
    return this.tsSec + this.tsNsec / 1e9;
  }
};
var LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
  /** DLT_RAW as some systems number it in classic pcap headers. */
  RAW_BSD12: 12,
  RAW_BSD14: 14
};

// src/ingest/record-stream.ts
var MAX_CAPLEN = 262144;
var MAX_RECORD_BYTES = MAX_CAPLEN + 64 * 1024;
var INITIAL_CARRY_BYTES = 4096;
var RecordStream = class {
  constructor(file2, sink, anomalies = new AnomalyCounter()) {
    this.file = file2;
    this.sink = sink;
    this.anomalies = anomalies;
  }
  file;
  sink;
  anomalies;
  /** The one Frame handed to the sink, overwritten for every record. */
  frame = new Frame();
  /** First damage found; once set, further input is ignored. */
  error = null;
  /** Frames delivered. */
  packets = 0;
  /** Sum of captured lengths of delivered frames. */
  bytes = 0;
  /** Frames whose captured length is below their original length. */
  truncatedFrames = 0;
  /** Earliest and latest frame timestamp in seconds; NaN before the first timestamped frame. */
  firstTs = Number.NaN;
  lastTs = Number.NaN;
  /** Distinct link types, in the order they were first described. */
  linkTypes = [];
  /** Absolute stream offset of chunk[0] of the chunk being pushed; after push, bytes consumed. */
  base = 0;
  /** Bytes left to step over of a record being skipped. */
  skipLeft = 0;
  /** Start offset of the record being skipped or carried, for error messages. */
  pendingStart = 0;
  carry = new Uint8Array(INITIAL_CARRY_BYTES);
  carryLen = 0;
  ended = false;
  /** Set by `measure` when the record is to be stepped over instead of parsed. */
  skipRecord = false;
  /** Anomaly to count once when a skipped record starts being skipped (null for none). */
  skipAnomaly = null;
  /** Bytes of the stream consumed so far. */
  get offset() {
    return this.base;
  }
  /** Feeds the next piece of the stream. Any split of the stream gives the same frames. */
  push(chunk) {
    if (this.error !== null || this.ended) return;
    const len = chunk.length;
    let pos = 0;
    if (this.skipLeft > 0) {
      pos = this.skipLeft < len ? this.skipLeft : len;
      this.skipLeft -= pos;
    }
    if (this.carryLen > 0 && pos < len) pos = this.completeCarry(chunk, pos);
    while (pos < len && this.error === null) {
      const avail = len - pos;
      const abs = this.base + pos;
      this.skipRecord = false;
      const need = this.measure(chunk, pos, avail, abs);
      if (need === 0) break;
      if (this.skipRecord) {
        this.startSkip(abs);
        if (need <= avail) {
          pos += need;
        } else {
          this.skipLeft = need - avail;
          pos = len;
        }
        continue;
      }
      if (need > avail) {
        this.pendingStart = abs;
        this.growCarry(avail);
        this.carry.set(chunk.subarray(pos), 0);
        this.carryLen = avail;
        break;
      }
      this.consume(chunk, pos, need, abs);
      pos += need;
    }
    this.base += len;
  }
  /**
   * Declares the end of the stream. A record left incomplete is reported as a cut-off last record
   * (or a truncated header when the file header itself was cut). Returns the first error, if any.
   */
  end() {
    if (this.ended) return this.error;
    this.ended = true;
    if (this.error === null) {
      if (!this.headerDone) {
        this.fail("capture.truncated_header", 0, `file header cut off after ${this.base} bytes`);
      } else if (this.carryLen > 0 || this.skipLeft > 0) {
        const have = this.base - this.pendingStart;
        this.fail("capture.truncated_record", this.pendingStart, `last record cut off after ${have} bytes`);
      }
    }
    if (this.truncatedFrames > 0) this.anomalies.add("capture.snaplen_truncated", this.truncatedFrames);
    return this.error;
  }
  /** Records damage: sets `error` (first one wins) and counts it. Reading stops. */
  fail(code, offset, detail) {
    if (this.error !== null) return;
    this.error = new CaptureError(this.file, offset, code, detail);
    this.anomalies.add(code);
  }
  /** Delivers `frame` (fields already set by the subclass) and updates the statistics. */
  emit(hasTs) {
    const f = this.frame;
    f.number = ++this.packets;
    const caplen = f.end - f.start;
    this.bytes += caplen;
    if (caplen < f.origLen) this.truncatedFrames++;
    if (hasTs) {
      const ts = f.tsSec + f.tsNsec / 1e9;
      if (!(ts >= this.firstTs)) this.firstTs = ts;
      if (!(ts <= this.lastTs)) this.lastTs = ts;
    }
    this.sink(f);
  }
  /** Adds a link type to the distinct list (called per interface description, not per frame). */
  noteLinkType(linkType) {
    if (!this.linkTypes.includes(linkType)) this.linkTypes.push(linkType);
  }
  /** Completes the record held in the carry from `chunk[pos..]`; returns the new position. */
  completeCarry(chunk, pos) {
    const len = chunk.length;
    for (; ; ) {
      this.skipRecord = false;
      const need = this.measure(this.carry, 0, this.carryLen, this.pendingStart);
      if (need === 0) return len;
      if (this.skipRecord) {
        this.startSkip(this.pendingStart);
        const rest = need - this.carryLen;
        this.carryLen = 0;
        const n = rest < len - pos ? rest : len - pos;
        this.skipLeft = rest - n;
        return pos + n;
      }
      if (need <= this.carryLen) {
        this.carryLen = 0;
        this.consume(this.carry, 0, need, this.pendingStart);
        return this.error === null ? pos : len;
      }
      if (pos >= len) return len;
      this.growCarry(need);
      const take = need - this.carryLen < len - pos ? need - this.carryLen : len - pos;
      this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
    }
  }
  startSkip(abs) {
    this.pendingStart = abs;
    if (this.skipAnomaly !== null) {
      this.anomalies.add(this.skipAnomaly);
      this.skipAnomaly = null;
    }
  }
  /** Makes the carry hold at least `n` bytes, keeping its contents. `measure` has capped `n`. */
  growCarry(n) {
    if (this.carry.length >= n) return;
    let size2 = this.carry.length * 2;
    if (size2 > MAX_RECORD_BYTES) size2 = MAX_RECORD_BYTES;
    if (size2 < n) size2 = n;
    const next = new Uint8Array(size2);
    next.set(this.carry.subarray(0, this.carryLen), 0);
    this.carry = next;
  }
};

// src/ingest/pcap-reader.ts
var PCAP_FILE_HEADER_BYTES = 24;
var PCAP_RECORD_HEADER_BYTES = 16;
var PCAP_MAGIC_USEC_BE = 2712847316;
var PCAP_MAGIC_USEC_LE = 3569595041;
var PCAP_MAGIC_NSEC_BE = 2712812621;
var PCAP_MAGIC_NSEC_LE = 1295823521;
var LINKTYPE_MASK = 67108863;
var PcapReader = class extends RecordStream {
  /** Byte order of the file. */
  littleEndian = true;
  /** True for the nanosecond-resolution magic. */
  nanoseconds = false;
  /** Snapshot length from the file header (informational; records are not checked against it). */
  snaplen = 0;
  linkType = 1;
  majorVersion = 0;
  minorVersion = 0;
  fileHeaderDone = false;
  constructor(file2, sink, anomalies) {
    super(file2, sink, anomalies);
  }
  get headerDone() {
    return this.fileHeaderDone;
  }
  measure(b, off, avail, abs) {
    if (!this.fileHeaderDone) return PCAP_FILE_HEADER_BYTES;
    if (avail < PCAP_RECORD_HEADER_BYTES) return PCAP_RECORD_HEADER_BYTES;
    const caplen = rd32(b, off + 8, this.littleEndian);
    if (caplen > MAX_CAPLEN) {
      this.fail(
        "capture.bad_record_length",
        abs,
        `impossible captured length ${caplen} (larger than ${MAX_CAPLEN}) in record ${this.packets + 1}`
      );
      return 0;
    }
    return PCAP_RECORD_HEADER_BYTES + caplen;
  }
  consume(b, off, size2, abs) {
    if (!this.fileHeaderDone) {
      this.parseFileHeader(b, off);
      return;
    }
    const le = this.littleEndian;
    const f = this.frame;
    let sec = rd32(b, off, le);
    let frac = rd32(b, off + 4, le);
    const unitsPerSec = this.nanoseconds ? 1e9 : 1e6;
    if (frac >= unitsPerSec) {
      sec += Math.floor(frac / unitsPerSec);
      frac %= unitsPerSec;
    }
    f.tsSec = sec;
    f.tsNsec = this.nanoseconds ? frac : frac * 1e3;
    f.origLen = rd32(b, off + 12, le);
    f.buf = b;
    f.start = off + PCAP_RECORD_HEADER_BYTES;
    f.end = off + size2;
    f.offset = abs;
    this.emit(true);
  }
  parseFileHeader(b, off) {
    const magic = rd32(b, off, false);
    switch (magic) {
      case PCAP_MAGIC_USEC_BE:
        this.littleEndian = false;
        break;
      case PCAP_MAGIC_USEC_LE:
        break;
      case PCAP_MAGIC_NSEC_BE:
        this.littleEndian = false;
        this.nanoseconds = true;
        break;
      case PCAP_MAGIC_NSEC_LE:
        this.nanoseconds = true;
        break;
      default:
        this.fail("capture.bad_magic", 0, `not a pcap file (magic ${magic.toString(16).padStart(8, "0")})`);
        return;
    }
    const le = this.littleEndian;
    this.majorVersion = rd16(b, off + 4, le);
    this.minorVersion = rd16(b, off + 6, le);
    this.snaplen = rd32(b, off + 16, le);
    this.linkType = rd32(b, off + 20, le) & LINKTYPE_MASK;
    this.frame.linkType = this.linkType;
    this.frame.interfaceId = 0;
    this.noteLinkType(this.linkType);
    this.fileHeaderDone = true;
  }
};

// src/ingest/pcapng-timestamp.ts
var TimestampConverter = class {
  sec = 0;
  nsec = 0;
  qHi = 0;
  qLo = 0;
  rem = 0;
  /**
   * Converts (hi, lo) with resolution `tsresol` (the raw option byte: top bit clear = 10^-n,
   * top bit set = 2^-n) and adds `offsetSec` (`if_tsoffset`).
   */
  convert(hi, lo, tsresol, offsetSec) {
    if ((tsresol & 128) === 0) this.convertDecimal(hi, lo, tsresol);
    else this.convertBinary(hi, lo, tsresol & 127);
    this.sec += offsetSec;
  }
  convertDecimal(hi, lo, exp) {
    if (exp <= 9) {
      this.divmod(hi, lo, POW10[exp]);
      this.sec = this.qHi * 2 ** 32 + this.qLo;
      this.nsec = this.rem * POW10[9 - exp];
    } else if (exp <= 18) {
      this.divmod(hi, lo, POW10[exp - 9]);
      this.divmod(this.qHi, this.qLo, 1e9);
      this.sec = this.qHi * 2 ** 32 + this.qLo;
      this.nsec = this.rem;
    } else {
      const v = (hi * 2 ** 32 + lo) / 10 ** exp;
      this.sec = Math.floor(v);
      this.nsec = Math.floor((v - this.sec) * 1e9);
    }
  }
  convertBinary(hi, lo, exp) {
    if (exp === 0) {
      this.sec = hi * 2 ** 32 + lo;
      this.nsec = 0;
    } else if (exp < 32) {
      const unit = 2 ** exp;
      this.sec = hi * 2 ** (32 - exp) + Math.floor(lo / unit);
      this.nsec = Math.floor(lo % unit / unit * 1e9);
    } else if (exp === 32) {
      this.sec = hi;
      this.nsec = Math.floor(lo / 2 ** 32 * 1e9);
    } else {
      const hiUnit = 2 ** (exp - 32);
      this.sec = Math.floor(hi / hiUnit);
      const frac = hi % hiUnit * 2 ** 32 + lo;
      this.nsec = Math.floor(frac / 2 ** exp * 1e9);
    }
  }
  /** (hi·2^32 + lo) / d for d < 2^31: quotient as two 32-bit words in qHi/qLo, remainder in rem. */
  divmod(hi, lo, d) {
    const qHi = Math.floor(hi / d);
    let r = hi - qHi * d;
    let x = r * 65536 + (lo >>> 16);
    const q1 = Math.floor(x / d);
    r = x - q1 * d;
    x = r * 65536 + (lo & 65535);
    const q2 = Math.floor(x / d);
    this.rem = x - q2 * d;
    this.qHi = qHi;
    this.qLo = q1 * 65536 + q2;
  }
};
var POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

// src/ingest/pcapng-reader.ts
var BLOCK_SHB = 168627466;
var BLOCK_IDB = 1;
var BLOCK_PB = 2;
var BLOCK_SPB = 3;
var BLOCK_NRB = 4;
var BLOCK_ISB = 5;
var BLOCK_EPB = 6;
var BLOCK_IRIG_TS = 7;
var BLOCK_ARINC_429 = 8;
var BLOCK_SYSTEMD_JOURNAL = 9;
var BLOCK_DSB = 10;
var BLOCK_CUSTOM = 2989;
var BLOCK_CUSTOM_NOCOPY = 1073744813;
var BLOCK_DARWIN_PROCESS = 2147483649;
var BYTE_ORDER_MAGIC = 439041101;
var BYTE_ORDER_MAGIC_SWAPPED = 1295788826;
var OPT_ENDOFOPT = 0;
var OPT_IF_TSRESOL = 9;
var OPT_IF_TSOFFSET = 14;
var DEFAULT_TSRESOL = 6;
var SECRETS_TLS_KEY_LOG = 1414288203;
var MIN_BLOCK_BYTES = 12;
var MAX_SKIP_BLOCK_BYTES = 64 * 1024 * 1024;
var MAX_SECRETS_BLOCK_BYTES = 16 * 1024 * 1024;
var MAX_SECRETS_BYTES = 64 * 1024 * 1024;
var MAX_INTERFACES = 4096;
var Interface = class {
  constructor(linkType, snaplen, tsresol, tsoffset) {
    this.linkType = linkType;
    this.snaplen = snaplen;
    this.tsresol = tsresol;
    this.tsoffset = tsoffset;
  }
  linkType;
  snaplen;
  tsresol;
  tsoffset;
};
var PcapngReader = class extends RecordStream {
  constructor(file2, sink, anomalies, onSecrets = null) {
    super(file2, sink, anomalies);
    this.onSecrets = onSecrets;
  }
  onSecrets;
  /** Every Decryption Secrets Block read, in order. */
  secrets = [];
  /** Concatenated TLS key log text from the DSBs. */
  keyLog = "";
  /** Sections seen (Section Header Blocks). */
  sections = 0;
  littleEndian = true;
  interfaces = [];
  secretsBytes = 0;
  ts = new TimestampConverter();
  decoder = new TextDecoder("utf-8");
  get headerDone() {
    return this.sections > 0;
  }
  measure(b, off, avail, abs) {
    if (avail < MIN_BLOCK_BYTES) return MIN_BLOCK_BYTES;
    const type0 = rd32(b, off, true);
    if (type0 === BLOCK_SHB) {
      const bom = rd32(b, off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) this.littleEndian = false;
      else {
        this.fail("capture.bad_magic", abs + 8, `section header with unknown byte-order magic ${hex(bom)}`);
        return 0;
      }
    } else if (this.sections === 0) {
      this.fail("capture.bad_magic", abs, `not a pcapng file (first block type ${hex(type0)})`);
      return 0;
    }
    const le = this.littleEndian;
    const type = rd32(b, off, le);
    const len = rd32(b, off + 4, le);
    if (len < MIN_BLOCK_BYTES || (len & 3) !== 0) {
      this.fail("capture.bad_block_length", abs, `impossible block length ${len} (block type ${hex(type)})`);
      return 0;
    }
    let cap = MAX_RECORD_BYTES;
    switch (type) {
      case BLOCK_SHB:
      case BLOCK_IDB:
      case BLOCK_EPB:
      case BLOCK_SPB:
      case BLOCK_PB:
        break;
      case BLOCK_DSB:
        cap = MAX_SECRETS_BLOCK_BYTES;
        if (len > cap) {
          this.skipRecord = true;
          this.skipAnomaly = "capture.secrets_too_large";
          cap = MAX_SKIP_BLOCK_BYTES;
        }
        break;
      case BLOCK_NRB:
      case BLOCK_ISB:
      case BLOCK_IRIG_TS:
      case BLOCK_ARINC_429:
      case BLOCK_SYSTEMD_JOURNAL:
      case BLOCK_CUSTOM:
      case BLOCK_CUSTOM_NOCOPY:
      case BLOCK_DARWIN_PROCESS:
        this.skipRecord = true;
        cap = MAX_SKIP_BLOCK_BYTES;
        break;
      default:
        this.skipRecord = true;
        this.skipAnomaly = "capture.unknown_block";
        cap = MAX_SKIP_BLOCK_BYTES;
    }
    if (len > cap) {
      this.skipRecord = false;
      this.skipAnomaly = null;
      this.fail("capture.bad_block_length", abs, `block length ${len} exceeds ${cap} (block type ${hex(type)})`);
      return 0;
    }
    return len;
  }
  consume(b, off, size2, abs) {
    const le = this.littleEndian;
    const type = rd32(b, off, le);
    const trailer = rd32(b, off + size2 - 4, le);
    if (trailer !== size2) {
      this.fail("capture.bad_block_length", abs, `block length ${size2} but trailing length ${trailer}`);
      return;
    }
    switch (type) {
      case BLOCK_EPB:
        this.readEnhancedPacket(b, off, size2, abs);
        break;
      case BLOCK_SPB:
        this.readSimplePacket(b, off, size2, abs);
        break;
      case BLOCK_PB:
        this.readObsoletePacket(b, off, size2, abs);
        break;
      case BLOCK_IDB:
        this.readInterface(b, off, size2);
        break;
      case BLOCK_SHB:
        this.readSection(b, off, size2, abs);
        break;
      case BLOCK_DSB:
        this.readSecrets(b, off, size2);
        break;
    }
  }
  readSection(b, off, size2, abs) {
    const major = size2 >= 16 ? rd16(b, off + 12, this.littleEndian) : 0;
    if (major !== 1) {
      this.fail("capture.unsupported_version", abs, `pcapng section version ${major} is not 1`);
      return;
    }
    this.sections++;
    this.interfaces = [];
  }
  readInterface(b, off, size2) {
    if (size2 < 20) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    if (this.interfaces.length >= MAX_INTERFACES) {
      this.anomalies.add("capture.too_many_interfaces");
      return;
    }
    const le = this.littleEndian;
    const linkType = rd16(b, off + 8, le);
    const snaplen = rd32(b, off + 12, le);
    let tsresol = DEFAULT_TSRESOL;
    let tsoffset = 0;
    let o = off + 16;
    const end = off + size2 - 4;
    while (o + 4 <= end) {
      const code = rd16(b, o, le);
      const olen = rd16(b, o + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + olen > end) {
        this.anomalies.add("capture.bad_option");
        break;
      }
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        tsresol = b[o + 4];
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const hi = le ? rd32s(b, o + 8, le) : rd32s(b, o + 4, le);
        const lo = le ? rd32(b, o + 4, le) : rd32(b, o + 8, le);
        tsoffset = hi * 2 ** 32 + lo;
      }
      o += 4 + (olen + 3 & ~3);
    }
    this.interfaces.push(new Interface(linkType, snaplen, tsresol, tsoffset));
    this.noteLinkType(linkType);
  }
  readEnhancedPacket(b, off, size2, abs) {
    const le = this.littleEndian;
    if (size2 < 32) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const ifId = rd32(b, off + 8, le);
    const caplen = rd32(b, off + 20, le);
    if (28 + caplen + 4 > size2) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const iface = this.interfaces[ifId];
    if (iface === void 0) {
      this.anomalies.add("capture.unknown_interface");
      return;
    }
    this.deliver(b, off + 28, caplen, rd32(b, off + 24, le), iface, ifId, abs, rd32(b, off + 12, le), rd32(b, off + 16, le));
  }
  readObsoletePacket(b, off, size2, abs) {
    const le = this.littleEndian;
    if (size2 < 32) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const ifId = rd16(b, off + 8, le);
    const caplen = rd32(b, off + 20, le);
    if (28 + caplen + 4 > size2) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const iface = this.interfaces[ifId];
    if (iface === void 0) {
      this.anomalies.add("capture.unknown_interface");
      return;
    }
    this.deliver(b, off + 28, caplen, rd32(b, off + 24, le), iface, ifId, abs, rd32(b, off + 12, le), rd32(b, off + 16, le));
  }
  readSimplePacket(b, off, size2, abs) {
    if (size2 < 16) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const iface = this.interfaces[0];
    if (iface === void 0) {
      this.anomalies.add("capture.unknown_interface");
      return;
    }
    const origLen = rd32(b, off + 8, this.littleEndian);
    let caplen = origLen;
    if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    if (caplen > size2 - 16) caplen = size2 - 16;
    const f = this.frame;
    f.buf = b;
    f.start = off + 12;
    f.end = off + 12 + caplen;
    f.origLen = origLen;
    f.tsSec = 0;
    f.tsNsec = 0;
    f.linkType = iface.linkType;
    f.interfaceId = 0;
    f.offset = abs;
    this.emit(false);
  }
  deliver(b, dataOff, caplen, origLen, iface, ifId, abs, tsHi, tsLo) {
    const f = this.frame;
    this.ts.convert(tsHi, tsLo, iface.tsresol, iface.tsoffset);
    f.tsSec = this.ts.sec;
    f.tsNsec = this.ts.nsec;
    f.buf = b;
    f.start = dataOff;
    f.end = dataOff + caplen;
    f.origLen = origLen;
    f.linkType = iface.linkType;
    f.interfaceId = ifId;
    f.offset = abs;
    this.emit(true);
  }
  readSecrets(b, off, size2) {
    const le = this.littleEndian;
    if (size2 < 20) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    const type = rd32(b, off + 8, le);
    const len = rd32(b, off + 12, le);
    if (16 + len + 4 > size2) {
      this.anomalies.add("capture.bad_block_content");
      return;
    }
    if (this.secretsBytes + len > MAX_SECRETS_BYTES) {
      this.anomalies.add("capture.secrets_too_large");
      return;
    }
    this.secretsBytes += len;
    const secret = { type, data: b.slice(off + 16, off + 16 + len) };
    this.secrets.push(secret);
    if (type === SECRETS_TLS_KEY_LOG) {
      const text2 = this.decoder.decode(secret.data);
      if (this.keyLog.length > 0 && !this.keyLog.endsWith("\n")) this.keyLog += "\n";
      this.keyLog += text2;
    }
    if (this.onSecrets !== null) this.onSecrets(secret);
  }
};
function hex(n) {
  return "0x" + n.toString(16).padStart(8, "0");
}

// src/ingest/capture-format.ts
var MAGIC_BYTES = 4;
function isGzip(b) {
  return b.length >= 2 && b[0] === 31 && b[1] === 139;
}
function detectFormat(b) {
  if (b.length < MAGIC_BYTES) return null;
  const magic = (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) >>> 0;
  switch (magic) {
    case PCAP_MAGIC_USEC_BE:
    case PCAP_MAGIC_USEC_LE:
    case PCAP_MAGIC_NSEC_BE:
    case PCAP_MAGIC_NSEC_LE:
      return "pcap";
    case BLOCK_SHB:
      return "pcapng";
    default:
      return null;
  }
}
function describeMagic(b) {
  return Array.from(b.subarray(0, MAGIC_BYTES), (x) => x.toString(16).padStart(2, "0")).join(" ");
}

// src/ingest/raw-walk.ts
var WALK_BUFFER_BYTES = 4 * 1024 * 1024;
var MAX_WALK_HEADER = 24;
async function walkRecords(file2, bufferBytes = WALK_BUFFER_BYTES) {
  const res = { format: null, packets: 0, bytes: 0, fileBytes: 0, error: null };
  let fh;
  try {
    fh = await open(file2, "r");
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
    return res;
  }
  try {
    const walker = new RecordWalker();
    const buf = new Uint8Array(Math.max(bufferBytes, MAX_WALK_HEADER));
    for (; ; ) {
      const n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      if (n === 0) break;
      if (res.fileBytes === 0) {
        if (isGzip(buf.subarray(0, n))) return await walkGzip(file2, res);
        res.format = detectFormat(buf.subarray(0, n));
        if (res.format === null) {
          res.error = "not a plain pcap or pcapng file";
          break;
        }
        walker.start(res.format, buf);
      }
      res.fileBytes += n;
      if (!walker.walk(buf, n)) {
        res.error = `impossible record length at byte offset ${walker.recordStart}`;
        break;
      }
    }
    res.packets = walker.packets;
    res.bytes = walker.bytes;
  } finally {
    await fh.close();
  }
  return res;
}
async function walkGzip(file2, res) {
  const walker = new RecordWalker();
  const inflated = createReadStream(file2, { highWaterMark: WALK_BUFFER_BYTES }).pipe(createGunzip({ chunkSize: 1024 * 1024 }));
  try {
    for await (const chunk of inflated) {
      if (res.fileBytes === 0) {
        res.format = detectFormat(chunk);
        if (res.format === null) {
          res.error = "not a pcap or pcapng file inside the gzip stream";
          break;
        }
        walker.start(res.format, chunk);
      }
      res.fileBytes += chunk.length;
      if (!walker.walk(chunk, chunk.length)) {
        res.error = `impossible record length at byte offset ${walker.recordStart} of the inflated stream`;
        break;
      }
    }
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
  } finally {
    inflated.destroy();
  }
  res.packets = walker.packets;
  res.bytes = walker.bytes;
  return res;
}
var RecordWalker = class {
  packets = 0;
  bytes = 0;
  /** Stream offset of the record being looked at, for the error message. */
  recordStart = 0;
  pcapng = false;
  le = true;
  skip = 0;
  hdr = new Uint8Array(MAX_WALK_HEADER);
  hdrHave = 0;
  baseNeed = 0;
  hdrNeed = 0;
  abs = 0;
  start(format, first) {
    this.pcapng = format === "pcapng";
    this.baseNeed = this.pcapng ? 12 : PCAP_RECORD_HEADER_BYTES;
    this.hdrNeed = this.baseNeed;
    if (!this.pcapng) {
      this.le = first[0] === 212 || first[0] === 77;
      this.skip = PCAP_FILE_HEADER_BYTES;
    }
  }
  /** Walks `b[0..len)`; returns false on an impossible length. */
  walk(b, len) {
    let pos = 0;
    for (; ; ) {
      if (this.skip > 0) {
        const n2 = this.skip < len - pos ? this.skip : len - pos;
        this.skip -= n2;
        pos += n2;
        if (this.skip > 0) break;
      }
      if (pos >= len) break;
      if (this.hdrHave === 0 && len - pos >= MAX_WALK_HEADER) {
        this.recordStart = this.abs + pos;
        const size3 = this.measure(b, pos, MAX_WALK_HEADER);
        if (size3 < 0) return false;
        this.skip = size3;
        continue;
      }
      if (this.hdrHave === 0) this.recordStart = this.abs + pos;
      const want = this.hdrNeed - this.hdrHave;
      const n = want < len - pos ? want : len - pos;
      this.hdr.set(b.subarray(pos, pos + n), this.hdrHave);
      this.hdrHave += n;
      pos += n;
      if (this.hdrHave < this.hdrNeed) break;
      const size2 = this.measure(this.hdr, 0, this.hdrHave);
      if (size2 === NEED_MORE) continue;
      if (size2 < 0) return false;
      this.skip = size2 - this.hdrHave;
      this.hdrHave = 0;
      this.hdrNeed = this.baseNeed;
    }
    this.abs += len;
    return true;
  }
  /** Record length, BAD on damage, NEED_MORE when an EPB/PB header needs all 24 bytes. */
  measure(h, o, have) {
    if (!this.pcapng) {
      const caplen = rd32(h, o + 8, this.le);
      if (caplen > MAX_CAPLEN) return BAD;
      this.packets++;
      this.bytes += caplen;
      return PCAP_RECORD_HEADER_BYTES + caplen;
    }
    if (h[o] === 10 && h[o + 1] === 13 && h[o + 2] === 13 && h[o + 3] === 10) {
      this.le = h[o + 8] === 77;
    }
    const type = rd32(h, o, this.le);
    const len = rd32(h, o + 4, this.le);
    if (len < 12 || (len & 3) !== 0) return BAD;
    if (type === BLOCK_EPB || type === BLOCK_PB) {
      if (have < MAX_WALK_HEADER) {
        this.hdrNeed = MAX_WALK_HEADER;
        return NEED_MORE;
      }
      this.packets++;
      this.bytes += rd32(h, o + 20, this.le);
    } else if (type === BLOCK_SPB) {
      this.packets++;
      this.bytes += len - 16;
    }
    return len;
  }
};
var BAD = -1;
var NEED_MORE = -2;

// src/ingest/read-capture.ts
import { createHash as createHash8 } from "node:crypto";
import { createReadStream as createReadStream2 } from "node:fs";
import { open as open2 } from "node:fs/promises";
import { Readable, pipeline } from "node:stream";
import { createGunzip as createGunzip2 } from "node:zlib";

// src/ingest/capture-parser.ts
var CaptureParser = class {
  constructor(file2, sink, anomalies, onSecrets = null) {
    this.file = file2;
    this.sink = sink;
    this.onSecrets = onSecrets;
    this.anomalies = anomalies ?? new AnomalyCounter();
  }
  file;
  sink;
  onSecrets;
  anomalies;
  format = null;
  reader = null;
  ownError = null;
  head = new Uint8Array(MAGIC_BYTES);
  headLen = 0;
  ended = false;
  push(chunk) {
    if (this.reader !== null) {
      this.reader.push(chunk);
      return;
    }
    if (this.ownError !== null || this.ended || chunk.length === 0) return;
    const take = Math.min(MAGIC_BYTES - this.headLen, chunk.length);
    this.head.set(chunk.subarray(0, take), this.headLen);
    this.headLen += take;
    if (this.headLen < MAGIC_BYTES) return;
    const format = detectFormat(this.head);
    if (format === null) {
      const what = isGzip(this.head) ? "gzip data where a capture was expected" : "not a pcap or pcapng file";
      this.failOwn("capture.bad_magic", 0, `${what} (first bytes ${describeMagic(this.head)})`);
      return;
    }
    this.format = format;
    this.reader = format === "pcap" ? new PcapReader(this.file, this.sink, this.anomalies) : new PcapngReader(this.file, this.sink, this.anomalies, this.onSecrets);
    this.reader.push(this.head);
    if (take < chunk.length) this.reader.push(chunk.subarray(take));
  }
  /** Declares the end of input; returns the first error (cut-off record, bad magic...) or null. */
  end() {
    if (this.reader !== null) return this.reader.end();
    if (!this.ended && this.ownError === null) {
      if (this.headLen === 0) this.failOwn("capture.bad_magic", 0, "empty input, no capture header");
      else this.failOwn("capture.truncated_header", 0, `input ends after ${this.headLen} bytes`);
    }
    this.ended = true;
    return this.ownError;
  }
  /** Records damage found outside the format (read or decompression failure) at the current offset. */
  fail(code, detail) {
    if (this.reader !== null) this.reader.fail(code, this.reader.offset, detail);
    else this.failOwn(code, this.headLen, detail);
  }
  get error() {
    return this.reader !== null ? this.reader.error : this.ownError;
  }
  /** Bytes of the (decompressed) stream consumed. */
  get offset() {
    return this.reader !== null ? this.reader.offset : this.headLen;
  }
  get packets() {
    return this.reader?.packets ?? 0;
  }
  get bytes() {
    return this.reader?.bytes ?? 0;
  }
  get truncatedFrames() {
    return this.reader?.truncatedFrames ?? 0;
  }
  get linkTypes() {
    return this.reader?.linkTypes ?? [];
  }
  get firstTs() {
    return this.reader?.firstTs ?? Number.NaN;
  }
  get lastTs() {
    return this.reader?.lastTs ?? Number.NaN;
  }
  get secrets() {
    return this.reader instanceof PcapngReader ? this.reader.secrets : [];
  }
  get keyLog() {
    return this.reader instanceof PcapngReader ? this.reader.keyLog : "";
  }
  failOwn(code, offset, detail) {
    if (this.ownError !== null) return;
    this.ownError = new CaptureError(this.file, offset, code, detail);
    this.anomalies.add(code);
  }
};

// src/ingest/parallel-hash.ts
import { Worker } from "node:worker_threads";
var ParallelHasher = class {
  constructor(slotBytes, slots = 3) {
    this.slotBytes = slotBytes;
    this.slots = slots;
    for (let i = 0; i < slots; i++) {
      this.buffers.push(new Uint8Array(new SharedArrayBuffer(slotBytes)));
      this.busy.push(null);
      this.release.push(null);
    }
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffers: this.buffers.map((b) => b.buffer) } });
    this.worker.on("message", (m) => {
      if (m.digest !== void 0) {
        this.digestWaiter?.(m.digest);
        return;
      }
      const i = m.done;
      this.busy[i] = null;
      const r = this.release[i];
      this.release[i] = null;
      r?.();
    });
    this.worker.on("error", (e) => {
      this.failure = e;
      for (const r of this.release) r?.();
    });
  }
  slotBytes;
  slots;
  worker;
  buffers = [];
  busy = [];
  release = [];
  digestWaiter = null;
  failure = null;
  /** Buffer of slot `i` if the hashing thread is already done with it, else null (see slot()). */
  free(i) {
    return this.busy[i] === null && this.failure === null ? this.buffers[i] : null;
  }
  /** Buffer of slot `i`, once the hashing thread no longer reads it. */
  async slot(i) {
    const pending = this.busy[i];
    if (pending !== null && pending !== void 0) await pending;
    if (this.failure !== null) throw this.failure;
    return this.buffers[i];
  }
  /** Hands the first `n` bytes of slot `i` to the hashing thread (in file order). */
  submit(i, n) {
    this.busy[i] = new Promise((res) => this.release[i] = res);
    this.worker.postMessage({ slot: i, n });
  }
  /** Hex digest of everything submitted; stops the thread. */
  async digest() {
    const hex2 = new Promise((res) => this.digestWaiter = res);
    this.worker.postMessage({ end: true });
    const out = await hex2;
    await this.worker.terminate();
    return out;
  }
  /** Stops the thread without a digest (error paths). */
  async close() {
    await this.worker.terminate();
  }
};
var WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const views = workerData.buffers.map((b) => new Uint8Array(b));
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.end) { parentPort.postMessage({ digest: hash.digest('hex') }); return; }
  hash.update(views[m.slot].subarray(0, m.n));
  parentPort.postMessage({ done: m.slot });
});
`;

// src/ingest/read-capture.ts
var READ_BUFFER_BYTES = 2 * 1024 * 1024;
var PARALLEL_HASH_MIN_BYTES = 32 * 1024 * 1024;
var STREAM_CHUNK_BYTES = 1024 * 1024;
var ReadState = class {
  constructor(parser, opts) {
    this.parser = parser;
    this.opts = opts;
  }
  parser;
  opts;
  hash = createHash8("sha256");
  /** Digest computed by a ParallelHasher instead of `hash`. */
  digest = null;
  rawBytes = 0;
  compressed = false;
  aborted = false;
  /** Accounts one raw chunk: hash and progress. */
  tapRaw(chunk) {
    if (this.opts.hash !== false) this.hash.update(chunk);
    this.countRaw(chunk.length);
  }
  /** Accounts raw bytes hashed elsewhere: progress only. */
  countRaw(n) {
    this.rawBytes += n;
    if (this.opts.onProgress !== void 0) this.opts.onProgress(this.rawBytes);
  }
};
async function readCapture(file2, sink, opts = {}) {
  const anomalies = opts.anomalies ?? new AnomalyCounter();
  const parser = new CaptureParser(file2, sink, anomalies, opts.onSecrets ?? null);
  const st = new ReadState(parser, opts);
  if (file2 === "-") await readStream(opts.input ?? process.stdin, st);
  else await readFile(file2, st);
  if (!st.aborted && parser.error === null) parser.end();
  return {
    file: file2,
    format: parser.format,
    compressed: st.compressed,
    linkTypes: parser.linkTypes.slice(),
    packets: parser.packets,
    bytes: parser.bytes,
    fileBytes: parser.offset,
    truncatedFrames: parser.truncatedFrames,
    firstTs: Number.isNaN(parser.firstTs) ? null : parser.firstTs,
    lastTs: Number.isNaN(parser.lastTs) ? null : parser.lastTs,
    sha256: opts.hash === false ? "" : st.digest ?? st.hash.digest("hex"),
    secrets: parser.secrets,
    keyLog: parser.keyLog,
    error: parser.error,
    aborted: st.aborted,
    anomalies
  };
}
async function readFile(file2, st) {
  const { parser, opts } = st;
  let fh;
  try {
    fh = await open2(file2, "r");
  } catch (e) {
    parser.fail("capture.open_failed", `cannot open: ${errorText(e)}`);
    return;
  }
  const bufferBytes = opts.bufferBytes ?? READ_BUFFER_BYTES;
  let hasher = null;
  let gzip = false;
  let ahead = null;
  try {
    const info2 = await fh.stat();
    if (info2.isDirectory()) {
      parser.fail("capture.open_failed", "cannot open: it is a directory, not a capture file");
      return;
    }
    const size2 = info2.size;
    if (opts.hash !== false && (opts.parallelHash ?? size2 >= PARALLEL_HASH_MIN_BYTES)) hasher = new ParallelHasher(bufferBytes);
    const own = hasher === null ? [new Uint8Array(bufferBytes), new Uint8Array(bufferBytes)] : [];
    const slots = hasher !== null ? hasher.slots : own.length;
    const read = (slot, buf) => fh.read(buf, 0, buf.length, null).then((r) => ({ slot, chunk: buf.subarray(0, r.bytesRead) }));
    const readInto = (slot) => {
      const buf = hasher !== null ? hasher.free(slot) : own[slot];
      if (buf !== null) return read(slot, buf);
      return hasher.slot(slot).then((b) => read(slot, b));
    };
    ahead = readInto(0);
    let first = true;
    for (; ; ) {
      if (opts.signal?.aborted) {
        st.aborted = true;
        break;
      }
      const { slot, chunk } = await ahead;
      ahead = null;
      const n = chunk.length;
      if (n === 0) break;
      if (first) {
        first = false;
        if (isGzip(chunk)) {
          gzip = true;
          break;
        }
      }
      if (hasher !== null) {
        hasher.submit(slot, n);
        st.countRaw(n);
      } else {
        st.tapRaw(chunk);
      }
      ahead = readInto((slot + 1) % slots);
      parser.push(chunk);
      if (parser.error !== null && parser.format === null) break;
    }
    if (hasher !== null && !gzip) {
      if (ahead !== null) await ahead;
      st.digest = await hasher.digest();
    }
  } catch (e) {
    parser.fail("capture.read_failed", `read failed: ${errorText(e)}`);
  } finally {
    if (ahead !== null) await ahead.catch(() => void 0);
    await fh.close();
    if (hasher !== null && st.digest === null) await hasher.close();
  }
  if (gzip) await readStream(createReadStream2(file2, { highWaterMark: STREAM_CHUNK_BYTES }), st);
}
async function readStream(raw, st) {
  const { parser, opts } = st;
  const onAbort = () => {
    st.aborted = true;
    raw.destroy();
  };
  if (opts.signal?.aborted) {
    st.aborted = true;
    return;
  }
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const it = raw[Symbol.asyncIterator]();
  try {
    const head = [];
    let headLen = 0;
    let done = false;
    while (headLen < 2) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const c = toBytes(r.value);
      st.tapRaw(c);
      head.push(c);
      headLen += c.length;
    }
    const first = head.length === 1 ? head[0] : concat(head, headLen);
    if (isGzip(first)) {
      st.compressed = true;
      await inflate(first, done ? null : it, st);
    } else {
      parser.push(first);
      while (!done) {
        const r = await it.next();
        if (r.done) break;
        const c = toBytes(r.value);
        st.tapRaw(c);
        parser.push(c);
      }
    }
  } catch (e) {
    if (!st.aborted) parser.fail("capture.read_failed", `read failed: ${errorText(e)}`);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    if (!raw.destroyed && raw !== process.stdin) raw.destroy();
  }
}
async function inflate(first, it, st) {
  const gunzip = createGunzip2({ chunkSize: 256 * 1024 });
  async function* compressed() {
    yield first;
    if (it === null) return;
    for (; ; ) {
      const r = await it.next();
      if (r.done) return;
      const c = toBytes(r.value);
      st.tapRaw(c);
      yield c;
    }
  }
  pipeline(Readable.from(compressed(), { objectMode: false }), gunzip, () => {
  });
  try {
    for await (const out of gunzip) st.parser.push(out);
  } catch (e) {
    if (!st.aborted) st.parser.fail("capture.read_failed", `gzip: ${errorText(e)}`);
  }
}
function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return Buffer.from(v, "latin1");
  return new Uint8Array(0);
}
function concat(parts, total) {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function errorText(e) {
  if (e instanceof Error) return e.message.replace(/, \w+ '.*'$/, "");
  return String(e);
}

// src/decode/address.ts
function formatIp2(bytes, version) {
  if (version === 4) return `${bytes[0] | 0}.${bytes[1] | 0}.${bytes[2] | 0}.${bytes[3] | 0}`;
  const groups = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] | 0) << 8 | (bytes[2 * i + 1] | 0));
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 65535) {
    return `::ffff:${bytes[12] | 0}.${bytes[13] | 0}.${bytes[14] | 0}.${bytes[15] | 0}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex2 = (g) => g.toString(16);
  if (bestStart < 0) return groups.map(hex2).join(":");
  const head = groups.slice(0, bestStart).map(hex2).join(":");
  const tail = groups.slice(bestStart + bestLen).map(hex2).join(":");
  return `${head}::${tail}`;
}

// src/decode/packet.ts
var DecodedPacket = class {
  /** 0 = no IP layer found, 4 or 6. */
  ipVersion = 0;
  src = new Uint8Array(16);
  dst = new Uint8Array(16);
  /**
   * Bytes 4..15 of `src`/`dst` may be non-zero (an IPv6 address was written). IPv4 addresses are kept
   * zero-padded, and the padding is redone only after an IPv6 packet instead of for every packet.
   */
  addressTails = false;
  /** IP protocol number of the transport (6 TCP, 17 UDP, ...). */
  protocol = 0;
  ttl = 0;
  /** IPv4 identification (0 for IPv6). */
  ipId = 0;
  srcPort = 0;
  dstPort = 0;
  /** TCP or UDP checksum field as sent (not verified). */
  l4Checksum = 0;
  // TCP only
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  /** TCP MSS option when present in a SYN, else 0. */
  mss = 0;
  /** Window scale shift from the SYN option, -1 when absent. */
  windowScale = -1;
  /** Buffer holding the transport payload. */
  data = new Uint8Array(0);
  payloadOffset = 0;
  payloadLength = 0;
  /** Outermost VLAN id (0 when untagged). */
  vlan = 0;
  /** Number of tunnel encapsulations peeled off (0 = none). */
  tunnelDepth = 0;
  /** Kind of the outermost tunnel (see TunnelType) when tunnelDepth > 0. */
  tunnelType = 0;
  /** Outer IP addresses of the outermost tunnel. */
  outerIpVersion = 0;
  outerSrc = new Uint8Array(16);
  outerDst = new Uint8Array(16);
  /** VXLAN VNI / Geneve VNI / GRE key / ERSPAN session id of the outermost tunnel, -1 if none. */
  tunnelId = -1;
  /**
   * Bytes the innermost IP header declares but the capture does not hold (snaplen cut or a short
   * frame); the transport payload then covers only what was captured.
   */
  truncatedBytes = 0;
  /** True when `data` is an IP datagram rebuilt from fragments rather than the frame itself. */
  reassembled = false;
  /** Length of the innermost IP datagram as its header declares it (flow byte counters); 0 = unknown. */
  ipLength = 0;
  reset() {
    this.ipVersion = 0;
    this.protocol = 0;
    this.ttl = 0;
    this.ipId = 0;
    this.l4Checksum = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.mss = 0;
    this.windowScale = -1;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.vlan = 0;
    this.tunnelDepth = 0;
    this.tunnelType = 0;
    this.outerIpVersion = 0;
    this.tunnelId = -1;
    this.truncatedBytes = 0;
    this.reassembled = false;
    this.ipLength = 0;
  }
};
var TcpFlag = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 };
var TunnelType = { NONE: 0, VXLAN: 1, GENEVE: 2, GRE: 3, ERSPAN: 4, TZSP: 5, IPIP: 6 };
var TUNNEL_NAMES = ["none", "vxlan", "geneve", "gre", "erspan", "tzsp", "ipip"];
var DecodeStatus = {
  OK: 0,
  /** Not TCP/UDP over IP (ARP, ICMP, ...): counted, not analysed. */
  NOT_ANALYSED: 1,
  MALFORMED: 2,
  /** An IP fragment held for reassembly; a later frame completes it. */
  FRAGMENT_HELD: 3
};

// src/decode/bytes.ts
function u16be(b, o) {
  return b[o] << 8 | b[o + 1];
}
function u24be(b, o) {
  return b[o] << 16 | b[o + 1] << 8 | b[o + 2];
}
function u32be(b, o) {
  return (b[o] << 24 | b[o + 1] << 16 | b[o + 2] << 8 | b[o + 3]) >>> 0;
}
function u16le(b, o) {
  return b[o] | b[o + 1] << 8;
}
function u32le(b, o) {
  return (b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24) >>> 0;
}

// src/decode/link-layer.ts
var NetworkType = {
  /** Nothing to decode further (ARP, LLC without SNAP, ...). */
  NONE: 0,
  IPV4: 4,
  IPV6: 6,
  /** Raw IP: the version nibble says which. */
  IP_BY_VERSION: 1
};
var EtherType = {
  IPV4: 2048,
  ARP: 2054,
  VLAN: 33024,
  RARP: 32821,
  IPV6: 34525,
  QINQ: 34984,
  /** Pre-standard QinQ outer tag still used by some switches. */
  QINQ_OLD: 37120,
  QINQ_OLD2: 37376,
  TEB: 25944
};
var MAX_VLAN_TAGS = 4;
var MAX_NFLOG_TLVS = 64;
var ETHERNET_HEADER = 14;
var SLL_HEADER = 16;
var SLL2_HEADER = 20;
var NFLOG_HEADER = 4;
var NFULA_PAYLOAD = 9;
var AF_INET = 2;
var AF_INET6_LINUX = 10;
var AF_INET6_BSD = 24;
var AF_INET6_FREEBSD = 28;
var AF_INET6_DARWIN = 30;
var LinkLayer = class {
  constructor(anomalies) {
    this.anomalies = anomalies;
  }
  anomalies;
  /** Offset of the network-layer header. */
  offset = 0;
  /** One of NetworkType. */
  network = NetworkType.NONE;
  /** VLAN id of the outermost tag seen by the last call, 0 when untagged. */
  vlan = 0;
  /** End of the bytes the network layer may use (NFLOG payloads end before the frame does). */
  end = 0;
  /** Decodes the link header of a captured frame of the given LINKTYPE_*: the bytes buf[start..end). */
  decode(buf, start, end, linkType) {
    this.vlan = 0;
    this.network = NetworkType.NONE;
    this.end = end;
    switch (linkType) {
      case LinkType.ETHERNET:
        return this.decodeEthernet(buf, start, end);
      case LinkType.RAW:
      case LinkType.RAW_BSD12:
      case LinkType.RAW_BSD14:
        return this.ip(start, NetworkType.IP_BY_VERSION);
      case LinkType.IPV4:
        return this.ip(start, NetworkType.IPV4);
      case LinkType.IPV6:
        return this.ip(start, NetworkType.IPV6);
      case LinkType.LINUX_SLL:
        if (end - start < SLL_HEADER) return this.truncated();
        return this.decodeEtherType(buf, start + SLL_HEADER, end, u16be(buf, start + 14), 0);
      case LinkType.LINUX_SLL2:
        if (end - start < SLL2_HEADER) return this.truncated();
        return this.decodeEtherType(buf, start + SLL2_HEADER, end, u16be(buf, start), 0);
      case LinkType.NULL:
        return this.decodeNull(buf, start, end, false);
      case LinkType.LOOP:
        return this.decodeNull(buf, start, end, true);
      case LinkType.NFLOG:
        return this.decodeNflog(buf, start, end);
      default:
        this.anomalies.add("link.unknown_type");
        return DecodeStatus.NOT_ANALYSED;
    }
  }
  /** Ethernet II / 802.3 frame at `off` (also used for frames inside VXLAN, GRE TEB, ERSPAN, TZSP). */
  decodeEthernet(buf, off, end) {
    this.vlan = 0;
    this.network = NetworkType.NONE;
    this.end = end;
    if (end - off < ETHERNET_HEADER) return this.truncated();
    return this.decodeEtherType(buf, off + ETHERNET_HEADER, end, u16be(buf, off + 12), 0);
  }
  /** Follows VLAN tags and 802.2 SNAP to an EtherType we decode. `off` is just after `type`. */
  decodeEtherType(buf, off, end, type, tags) {
    for (; ; ) {
      if (type === EtherType.IPV4) return this.ip(off, NetworkType.IPV4);
      if (type === EtherType.IPV6) return this.ip(off, NetworkType.IPV6);
      if (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD || type === EtherType.QINQ_OLD2) {
        if (tags >= MAX_VLAN_TAGS) {
          this.anomalies.add("link.vlan_too_deep");
          return DecodeStatus.NOT_ANALYSED;
        }
        if (end - off < 4) return this.truncated();
        if (tags === 0) this.vlan = u16be(buf, off) & 4095;
        tags++;
        type = u16be(buf, off + 2);
        off += 4;
        continue;
      }
      if (type <= 1500) {
        if (end - off >= 8 && buf[off] === 170 && buf[off + 1] === 170 && buf[off + 2] === 3 && buf[off + 3] === 0 && buf[off + 4] === 0 && buf[off + 5] === 0) {
          type = u16be(buf, off + 6);
          off += 8;
          continue;
        }
        return DecodeStatus.NOT_ANALYSED;
      }
      if (type !== EtherType.ARP && type !== EtherType.RARP) this.anomalies.add("link.unknown_ethertype");
      return DecodeStatus.NOT_ANALYSED;
    }
  }
  /** DLT_NULL (host byte order of the capturing machine) and DLT_LOOP (always big-endian). */
  decodeNull(buf, start, end, bigEndian) {
    if (end - start < 4) return this.truncated();
    let family = bigEndian ? u32be(buf, start) : u32le(buf, start);
    if (!bigEndian && family > 65535) family = u32be(buf, start);
    switch (family) {
      case AF_INET:
        return this.ip(start + 4, NetworkType.IPV4);
      case AF_INET6_LINUX:
      case AF_INET6_BSD:
      case AF_INET6_FREEBSD:
      case AF_INET6_DARWIN:
        return this.ip(start + 4, NetworkType.IPV6);
      default:
        this.anomalies.add("link.unknown_address_family");
        return DecodeStatus.NOT_ANALYSED;
    }
  }
  /**
   * NFLOG: a 4-byte header (family, version, resource id) then TLVs whose length and type are in
   * the capturing host's byte order, each padded to 4 bytes; the packet is the NFULA_PAYLOAD value.
   */
  decodeNflog(buf, start, end) {
    if (end - start < NFLOG_HEADER) return this.truncated();
    const family = buf[start];
    const network = family === AF_INET ? NetworkType.IPV4 : family === AF_INET6_LINUX ? NetworkType.IPV6 : NetworkType.IP_BY_VERSION;
    let off = start + NFLOG_HEADER;
    let little = true;
    if (end - off >= 4) {
      const le = u16le(buf, off);
      if (le < 4 || off + le > end) {
        const be = u16be(buf, off);
        if (be >= 4 && off + be <= end) little = false;
      }
    }
    for (let i = 0; i < MAX_NFLOG_TLVS; i++) {
      if (end - off < 4) break;
      const len = little ? u16le(buf, off) : u16be(buf, off);
      const type = (little ? u16le(buf, off + 2) : u16be(buf, off + 2)) & 32767;
      if (len < 4 || off + len > end) return this.truncated();
      if (type === NFULA_PAYLOAD) {
        this.end = off + len;
        return this.ip(off + 4, network);
      }
      off += len + 3 & ~3;
    }
    return DecodeStatus.NOT_ANALYSED;
  }
  ip(off, network) {
    this.offset = off;
    this.network = network;
    return DecodeStatus.OK;
  }
  truncated() {
    this.anomalies.add("link.truncated");
    return DecodeStatus.MALFORMED;
  }
};

// src/decode/ipv4.ts
var MIN_HEADER = 20;
var OPT_END = 0;
var OPT_NOP = 1;
var FLAG_MF = 8192;
var OFFSET_MASK = 8191;
var Ipv4Header = class {
  /** When true the header checksum is verified and `ip.bad_checksum` counted (never dropped). */
  constructor(anomalies, verifyChecksum) {
    this.anomalies = anomalies;
    this.verifyChecksum = verifyChecksum;
  }
  anomalies;
  verifyChecksum;
  headerLength = 0;
  totalLength = 0;
  protocol = 0;
  ttl = 0;
  id = 0;
  /** Fragment offset in bytes. */
  fragmentOffset = 0;
  moreFragments = false;
  /** Offset of the transport header. */
  payloadOffset = 0;
  /** End of the datagram within the buffer: min(total length, captured bytes). */
  end = 0;
  /** Declared bytes missing from the capture. */
  missing = 0;
  /**
   * `snapTruncated` tells a frame cut by the capture's snaplen (expected, not an anomaly) from a
   * datagram whose total length claims bytes the frame never had (malformed).
   */
  parse(buf, off, end, snapTruncated) {
    if (end - off < MIN_HEADER) {
      this.anomalies.add("ip.truncated");
      return DecodeStatus.MALFORMED;
    }
    const vihl = buf[off];
    if (vihl >> 4 !== 4) {
      this.anomalies.add("ip.bad_version");
      return DecodeStatus.MALFORMED;
    }
    const hlen = (vihl & 15) * 4;
    if (hlen < MIN_HEADER) {
      this.anomalies.add("ip.bad_header_length");
      return DecodeStatus.MALFORMED;
    }
    if (off + hlen > end) {
      this.anomalies.add(snapTruncated ? "ip.truncated" : "ip.bad_header_length");
      return DecodeStatus.MALFORMED;
    }
    let total = u16be(buf, off + 2);
    if (total === 0) {
      this.anomalies.add("ip.zero_total_length");
      total = end - off;
    } else if (total < hlen) {
      this.anomalies.add("ip.bad_total_length");
      return DecodeStatus.MALFORMED;
    }
    this.missing = 0;
    if (off + total > end) {
      this.missing = off + total - end;
      if (!snapTruncated) this.anomalies.add("ip.bad_total_length");
      this.end = end;
    } else {
      this.end = off + total;
    }
    this.headerLength = hlen;
    this.totalLength = total;
    this.ttl = buf[off + 8];
    this.protocol = buf[off + 9];
    this.id = u16be(buf, off + 4);
    const frag = u16be(buf, off + 6);
    this.fragmentOffset = (frag & OFFSET_MASK) * 8;
    this.moreFragments = (frag & FLAG_MF) !== 0;
    this.payloadOffset = off + hlen;
    if (hlen > MIN_HEADER) this.checkOptions(buf, off + MIN_HEADER, off + hlen);
    if (this.verifyChecksum && !checksumOk(buf, off, hlen)) this.anomalies.add("ip.bad_checksum");
    return DecodeStatus.OK;
  }
  /** Walks the options only to validate their lengths: none of them changes how we decode. */
  checkOptions(buf, p, end) {
    while (p < end) {
      const kind = buf[p];
      if (kind === OPT_END) return;
      if (kind === OPT_NOP) {
        p++;
        continue;
      }
      if (p + 1 >= end) break;
      const len = buf[p + 1];
      if (len < 2 || p + len > end) break;
      p += len;
    }
    if (p !== end) this.anomalies.add("ip.bad_option");
  }
};
function checksumOk(buf, off, hlen) {
  let hi = 0;
  let lo = 0;
  const end = off + hlen;
  for (let i = off; i < end; i += 2) {
    hi += buf[i];
    lo += buf[i + 1];
  }
  let sum = (hi << 8) + lo;
  sum = (sum & 65535) + (sum >>> 16);
  sum = (sum & 65535) + (sum >>> 16);
  return sum === 65535;
}

// src/decode/ipv6.ts
var FIXED_HEADER = 40;
var MAX_IPV6_EXTENSION_HEADERS = 16;
var IpProto = {
  HOP_BY_HOP: 0,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  NO_NEXT: 59,
  DEST_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140
};
var Ipv6Header = class {
  constructor(anomalies) {
    this.anomalies = anomalies;
  }
  anomalies;
  hopLimit = 0;
  /** Protocol of what follows the chain (or the fragment's next header when `isFragment`). */
  protocol = 0;
  payloadOffset = 0;
  /** End of the datagram within the buffer: min(payload length, captured bytes). */
  end = 0;
  /** Datagram length as declared (fixed header + payload length), or as captured when that is 0. */
  totalLength = 0;
  missing = 0;
  isFragment = false;
  fragmentOffset = 0;
  moreFragments = false;
  fragmentId = 0;
  parse(buf, off, end, snapTruncated) {
    if (end - off < FIXED_HEADER) {
      this.anomalies.add("ip.truncated");
      return DecodeStatus.MALFORMED;
    }
    if (buf[off] >> 4 !== 6) {
      this.anomalies.add("ip.bad_version");
      return DecodeStatus.MALFORMED;
    }
    const payloadLength = u16be(buf, off + 4);
    let next = buf[off + 6];
    this.hopLimit = buf[off + 7];
    this.isFragment = false;
    this.missing = 0;
    this.totalLength = FIXED_HEADER + payloadLength;
    if (payloadLength === 0 && end - off > FIXED_HEADER) {
      if (next !== IpProto.HOP_BY_HOP) this.anomalies.add("ip.zero_total_length");
      this.totalLength = end - off;
      this.end = end;
    } else if (off + this.totalLength > end) {
      this.missing = off + this.totalLength - end;
      if (!snapTruncated) this.anomalies.add("ip.bad_total_length");
      this.end = end;
    } else {
      this.end = off + this.totalLength;
    }
    const limit = this.end;
    let p = off + FIXED_HEADER;
    for (let count = 0; ; count++) {
      if (count > MAX_IPV6_EXTENSION_HEADERS) return this.badChain(snapTruncated);
      switch (next) {
        case IpProto.HOP_BY_HOP:
        case IpProto.ROUTING:
        case IpProto.DEST_OPTIONS:
        case IpProto.MOBILITY:
        case IpProto.HIP:
        case IpProto.SHIM6: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const len = (buf[p + 1] + 1) * 8;
          if (p + len > limit) return this.badChain(snapTruncated);
          next = buf[p];
          p += len;
          break;
        }
        case IpProto.AH: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const len = (buf[p + 1] + 2) * 4;
          if (p + len > limit) return this.badChain(snapTruncated);
          next = buf[p];
          p += len;
          break;
        }
        case IpProto.FRAGMENT: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const fo = u16be(buf, p + 2);
          next = buf[p];
          this.fragmentOffset = fo & 65528;
          this.moreFragments = (fo & 1) !== 0;
          this.fragmentId = u32be(buf, p + 4);
          p += 8;
          if (this.fragmentOffset !== 0 || this.moreFragments) {
            this.isFragment = true;
            this.protocol = next;
            this.payloadOffset = p;
            return DecodeStatus.OK;
          }
          break;
        }
        default:
          this.protocol = next;
          this.payloadOffset = p;
          return DecodeStatus.OK;
      }
    }
  }
  badChain(snapTruncated) {
    this.anomalies.add(snapTruncated && this.missing > 0 ? "ip.truncated" : "ipv6.bad_extension_header");
    return DecodeStatus.MALFORMED;
  }
};

// src/decode/ip-fragments.ts
var MAX_FRAGMENT_DATAGRAMS = 1024;
var MAX_DATAGRAM_BYTES = 65535;
var MAX_FRAGMENTS_PER_DATAGRAM = 64;
var MAX_FRAGMENT_BUFFER_BYTES = 16 * 1024 * 1024;
var FRAGMENT_TIMEOUT_S = 30;
var DEFAULT_FRAGMENT_LIMITS = {
  maxDatagrams: MAX_FRAGMENT_DATAGRAMS,
  maxDatagramBytes: MAX_DATAGRAM_BYTES,
  maxFragmentsPerDatagram: MAX_FRAGMENTS_PER_DATAGRAM,
  maxBufferBytes: MAX_FRAGMENT_BUFFER_BYTES,
  timeoutSeconds: FRAGMENT_TIMEOUT_S
};
var FragmentResult = { HELD: 0, COMPLETE: 1, DROPPED: 2 };
var HEADER_ROOM = 40;
var INITIAL_CAPACITY = 2048;
var EMPTY3 = new Uint8Array(0);
var PendingDatagram = class {
  /** Source address in bytes 0..15, destination in 16..31. */
  key = new Uint8Array(32);
  version = 0;
  id = 0;
  protocol = 0;
  ttl = 0;
  hash = 0;
  firstTs = 0;
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  totalLength = -1;
  buffer;
  /** Sorted, disjoint, non-adjacent [start, end) ranges of payload received. */
  ranges;
  rangeCount = 0;
  fragments = 0;
  older = null;
  newer = null;
  nextInBucket = null;
  constructor(maxFragments) {
    this.buffer = EMPTY3;
    this.ranges = new Int32Array(maxFragments * 2 + 2);
  }
};
var FragmentReassembler = class {
  constructor(anomalies, limits) {
    this.anomalies = anomalies;
    this.limits = { ...DEFAULT_FRAGMENT_LIMITS, ...limits };
  }
  anomalies;
  /** The rebuilt datagram (IP header + payload) after `add` returned COMPLETE. */
  datagram = new Uint8Array(0);
  limits;
  table = /* @__PURE__ */ new Map();
  oldest = null;
  newest = null;
  count = 0;
  bufferBytes = 0;
  /** Datagrams currently waiting for fragments. */
  get pending() {
    return this.count;
  }
  /** Bytes currently held. */
  get heldBytes() {
    return this.bufferBytes;
  }
  /**
   * Adds one fragment. Addresses are read from `buf` at `srcOff`/`dstOff` (4 bytes for IPv4, 16 for
   * IPv6); `offset` is the fragment offset in bytes; the payload is buf[payOff, payOff + payLen).
   */
  add(version, buf, srcOff, dstOff, id, protocol, ttl, offset, more, payOff, payLen, ts) {
    const addrLen = version === 4 ? 4 : 16;
    const hash2 = this.hashKey(version, buf, srcOff, dstOff, addrLen, id, protocol);
    let d = this.find(hash2, version, buf, srcOff, dstOff, addrLen, id, protocol);
    const end = offset + payLen;
    const maxPayload = version === 4 ? this.limits.maxDatagramBytes - 20 : this.limits.maxDatagramBytes;
    if (end > maxPayload || d !== null && d.fragments >= this.limits.maxFragmentsPerDatagram) {
      if (d !== null) this.remove(d);
      this.anomalies.add("ip.fragment_limit");
      return FragmentResult.DROPPED;
    }
    if (d === null) {
      d = this.create(hash2, version, buf, srcOff, dstOff, addrLen, id, protocol, ts);
    }
    d.fragments++;
    if (offset === 0) {
      d.protocol = protocol;
      d.ttl = ttl;
    }
    let stop = end;
    if (!more) {
      if (d.totalLength >= 0 && d.totalLength !== end) {
        this.anomalies.add("ip.fragment_overlap");
        stop = Math.min(end, d.totalLength);
      } else {
        d.totalLength = end;
      }
    } else if (d.totalLength >= 0 && end > d.totalLength) {
      this.anomalies.add("ip.fragment_overlap");
      stop = d.totalLength;
    }
    if (stop > offset) {
      if (!this.ensureCapacity(d, HEADER_ROOM + stop)) {
        this.remove(d);
        this.anomalies.add("ip.fragment_limit");
        return FragmentResult.DROPPED;
      }
      if (this.copyNew(d, buf, payOff, offset, stop)) this.anomalies.add("ip.fragment_overlap");
      this.addRange(d, offset, stop);
    }
    if (d.totalLength >= 0 && d.rangeCount === 1 && d.ranges[0] === 0 && d.ranges[1] === d.totalLength) {
      this.complete(d);
      return FragmentResult.COMPLETE;
    }
    return FragmentResult.HELD;
  }
  /** Some datagram is waiting for fragments (expire() has work to do). */
  get holding() {
    return this.oldest !== null;
  }
  /** Drops datagrams whose first fragment is older than the timeout. Cheap when nothing is pending. */
  expire(ts) {
    const timeout = this.limits.timeoutSeconds;
    while (this.oldest !== null && this.oldest.firstTs + timeout < ts) {
      this.remove(this.oldest);
      this.anomalies.add("ip.fragment_timeout");
    }
  }
  /** End of capture: whatever is still incomplete never will be. */
  flush() {
    while (this.oldest !== null) {
      this.remove(this.oldest);
      this.anomalies.add("ip.fragment_timeout");
    }
  }
  hashKey(version, buf, srcOff, dstOff, addrLen, id, protocol) {
    let h = Math.imul(2166136261 ^ version, 16777619);
    for (let i = 0; i < addrLen; i++) h = Math.imul(h ^ buf[srcOff + i], 16777619);
    for (let i = 0; i < addrLen; i++) h = Math.imul(h ^ buf[dstOff + i], 16777619);
    h = Math.imul(h ^ id, 16777619);
    if (version === 4) h = Math.imul(h ^ protocol, 16777619);
    return h | 0;
  }
  find(hash2, version, buf, srcOff, dstOff, addrLen, id, protocol) {
    let d = this.table.get(hash2) ?? null;
    while (d !== null) {
      if (d.version === version && d.id === id && (version !== 4 || d.protocol === protocol) && sameBytes2(d.key, 0, buf, srcOff, addrLen) && sameBytes2(d.key, 16, buf, dstOff, addrLen)) return d;
      d = d.nextInBucket;
    }
    return null;
  }
  create(hash2, version, buf, srcOff, dstOff, addrLen, id, protocol, ts) {
    if (this.count >= this.limits.maxDatagrams && this.oldest !== null) {
      this.remove(this.oldest);
      this.anomalies.add("ip.fragment_limit");
    }
    const d = new PendingDatagram(this.limits.maxFragmentsPerDatagram);
    d.version = version;
    d.id = id;
    d.protocol = protocol;
    d.hash = hash2;
    d.firstTs = ts;
    for (let i = 0; i < addrLen; i++) {
      d.key[i] = buf[srcOff + i];
      d.key[16 + i] = buf[dstOff + i];
    }
    d.nextInBucket = this.table.get(hash2) ?? null;
    this.table.set(hash2, d);
    d.older = this.newest;
    if (this.newest !== null) this.newest.newer = d;
    this.newest = d;
    if (this.oldest === null) this.oldest = d;
    this.count++;
    this.bufferBytes += d.buffer.length;
    return d;
  }
  remove(d) {
    let head = this.table.get(d.hash) ?? null;
    if (head === d) {
      if (d.nextInBucket === null) this.table.delete(d.hash);
      else this.table.set(d.hash, d.nextInBucket);
    } else {
      while (head !== null && head.nextInBucket !== d) head = head.nextInBucket;
      if (head !== null) head.nextInBucket = d.nextInBucket;
    }
    if (d.older !== null) d.older.newer = d.newer;
    else this.oldest = d.newer;
    if (d.newer !== null) d.newer.older = d.older;
    else this.newest = d.older;
    d.older = d.newer = d.nextInBucket = null;
    this.count--;
    this.bufferBytes -= d.buffer.length;
  }
  /** Grows the datagram's buffer, evicting the oldest other datagrams if the global cap requires. */
  ensureCapacity(d, need) {
    const cap = d.buffer.length;
    if (need <= cap) return true;
    const newCap = Math.min(Math.max(need, cap * 2, INITIAL_CAPACITY), HEADER_ROOM + this.limits.maxDatagramBytes);
    const grow2 = newCap - cap;
    while (this.bufferBytes + grow2 > this.limits.maxBufferBytes && this.oldest !== null && this.oldest !== d) {
      this.remove(this.oldest);
      this.anomalies.add("ip.fragment_limit");
    }
    if (this.bufferBytes + grow2 > this.limits.maxBufferBytes) return false;
    const next = new Uint8Array(newCap);
    next.set(d.buffer);
    d.buffer = next;
    this.bufferBytes += grow2;
    return true;
  }
  /** Copies the parts of [start, stop) not yet received; returns true when some part already was. */
  copyNew(d, buf, payOff, start, stop) {
    const r = d.ranges;
    let cur = start;
    let overlap = false;
    for (let i = 0; i < d.rangeCount && cur < stop; i++) {
      const a = r[2 * i];
      const b = r[2 * i + 1];
      if (b <= cur) continue;
      if (a >= stop) break;
      overlap = true;
      if (a > cur) copyBytes(d.buffer, HEADER_ROOM + cur, buf, payOff + (cur - start), a - cur);
      cur = b;
    }
    if (cur < stop) copyBytes(d.buffer, HEADER_ROOM + cur, buf, payOff + (cur - start), stop - cur);
    return overlap;
  }
  /** Inserts [start, stop) and merges overlapping or touching ranges, keeping the list sorted. */
  addRange(d, start, stop) {
    const r = d.ranges;
    let n = d.rangeCount;
    let i = 0;
    while (i < n && r[2 * i + 1] < start) i++;
    let j = i;
    let s = start;
    let e = stop;
    while (j < n && r[2 * j] <= stop) {
      if (r[2 * j] < s) s = r[2 * j];
      if (r[2 * j + 1] > e) e = r[2 * j + 1];
      j++;
    }
    const removed = j - i;
    if (removed === 0) {
      r.copyWithin(2 * i + 2, 2 * i, 2 * n);
      n++;
    } else if (removed > 1) {
      r.copyWithin(2 * i + 2, 2 * j, 2 * n);
      n -= removed - 1;
    }
    r[2 * i] = s;
    r[2 * i + 1] = e;
    d.rangeCount = n;
  }
  complete(d) {
    this.remove(d);
    const total = d.totalLength;
    const b = d.buffer;
    if (d.version === 4) {
      const o = HEADER_ROOM - 20;
      b.fill(0, o, HEADER_ROOM);
      b[o] = 69;
      const len = 20 + total;
      b[o + 2] = len >> 8;
      b[o + 3] = len & 255;
      b[o + 4] = d.id >> 8;
      b[o + 5] = d.id & 255;
      b[o + 8] = d.ttl;
      b[o + 9] = d.protocol;
      for (let i = 0; i < 4; i++) {
        b[o + 12 + i] = d.key[i];
        b[o + 16 + i] = d.key[16 + i];
      }
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += b[o + i] << 8 | b[o + i + 1];
      while (sum > 65535) sum = (sum & 65535) + (sum >>> 16);
      const ck = ~sum & 65535;
      b[o + 10] = ck >> 8;
      b[o + 11] = ck & 255;
      this.datagram = b.subarray(o, HEADER_ROOM + total);
    } else {
      const o = HEADER_ROOM - 40;
      b.fill(0, o, HEADER_ROOM);
      b[o] = 96;
      b[o + 4] = total >> 8;
      b[o + 5] = total & 255;
      b[o + 6] = d.protocol;
      b[o + 7] = d.ttl;
      for (let i = 0; i < 16; i++) {
        b[o + 8 + i] = d.key[i];
        b[o + 24 + i] = d.key[16 + i];
      }
      this.datagram = b.subarray(o, HEADER_ROOM + total);
    }
  }
};
function sameBytes2(a, aOff, b, bOff, n) {
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}
function copyBytes(dst, dstOff, src, srcOff, n) {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}

// src/decode/tcp.ts
var MIN_HEADER2 = 20;
var OPT_END2 = 0;
var OPT_NOP2 = 1;
var OPT_MSS = 2;
var OPT_WSCALE = 3;
var MAX_WINDOW_SCALE = 14;
var TcpDecoder = class {
  constructor(anomalies) {
    this.anomalies = anomalies;
  }
  anomalies;
  decode(buf, off, end, missing, out) {
    if (end - off < MIN_HEADER2) {
      this.anomalies.add("tcp.truncated");
      return DecodeStatus.MALFORMED;
    }
    const doff = (buf[off + 12] >> 4) * 4;
    if (doff < MIN_HEADER2) {
      this.anomalies.add("tcp.bad_data_offset");
      return DecodeStatus.MALFORMED;
    }
    if (off + doff > end) {
      this.anomalies.add(off + doff <= end + missing ? "tcp.truncated" : "tcp.bad_data_offset");
      return DecodeStatus.MALFORMED;
    }
    out.srcPort = u16be(buf, off);
    out.dstPort = u16be(buf, off + 2);
    out.seq = u32be(buf, off + 4);
    out.ack = u32be(buf, off + 8);
    out.tcpFlags = buf[off + 13];
    out.window = u16be(buf, off + 14);
    out.l4Checksum = u16be(buf, off + 16);
    out.mss = 0;
    out.windowScale = -1;
    if (doff > MIN_HEADER2) this.parseOptions(buf, off + MIN_HEADER2, off + doff, out);
    out.data = buf;
    out.payloadOffset = off + doff;
    out.payloadLength = end - (off + doff);
    return DecodeStatus.OK;
  }
  /** MSS and window scale are only meaningful in a SYN (RFC 9293 §3.7.1, RFC 7323 §2.2). */
  parseOptions(buf, p, end, out) {
    const syn = (out.tcpFlags & TcpFlag.SYN) !== 0;
    while (p < end) {
      const kind = buf[p];
      if (kind === OPT_END2) return;
      if (kind === OPT_NOP2) {
        p++;
        continue;
      }
      if (p + 1 >= end) break;
      const len = buf[p + 1];
      if (len < 2 || p + len > end) break;
      if (kind === OPT_MSS) {
        if (len !== 4) break;
        if (syn) out.mss = u16be(buf, p + 2);
      } else if (kind === OPT_WSCALE) {
        if (len !== 3) break;
        if (syn) out.windowScale = Math.min(buf[p + 2], MAX_WINDOW_SCALE);
      }
      p += len;
    }
    if (p !== end) this.anomalies.add("tcp.bad_option");
  }
};

// src/decode/udp.ts
var HEADER = 8;
var UdpDecoder = class {
  constructor(anomalies) {
    this.anomalies = anomalies;
  }
  anomalies;
  /** `missing` > 0: the IP layer declared more bytes than were captured (snaplen). */
  decode(buf, off, end, missing, out) {
    if (end - off < HEADER) {
      this.anomalies.add("udp.truncated");
      return DecodeStatus.MALFORMED;
    }
    const len = u16be(buf, off + 4);
    if (len < HEADER) {
      this.anomalies.add("udp.bad_length");
      return DecodeStatus.MALFORMED;
    }
    let stop = off + len;
    if (stop > end) {
      if (stop > end + missing) this.anomalies.add("udp.bad_length");
      stop = end;
    }
    out.srcPort = u16be(buf, off);
    out.dstPort = u16be(buf, off + 2);
    out.l4Checksum = u16be(buf, off + 6);
    out.data = buf;
    out.payloadOffset = off + HEADER;
    out.payloadLength = stop - (off + HEADER);
    return DecodeStatus.OK;
  }
};

// src/decode/tunnels.ts
var InnerKind = { ...NetworkType, ETHERNET: 100 };
var TunnelParse = {
  /** A tunnel: decode `inner` at `innerOffset`. */
  TUNNEL: 0,
  /** Not a tunnel after all (e.g. other traffic on the port): keep the packet as plain UDP. */
  NOT_TUNNEL: 1,
  /** Header cut short or invalid; counted. */
  MALFORMED: 2,
  /** A tunnel whose payload we do not decode; counted. */
  UNSUPPORTED: 3
};
var UdpPort = { VXLAN: 4789, VXLAN_LINUX: 8472, GENEVE: 6081, TZSP: 37008 };
var VXLAN_HEADER = 8;
var VXLAN_FLAG_VNI = 8;
var GENEVE_HEADER = 8;
var TZSP_HEADER = 4;
var TZSP_VERSION = 1;
var TZSP_TYPE_RECEIVED = 0;
var TZSP_TYPE_TRANSMIT = 1;
var TZSP_ENCAP_ETHERNET = 1;
var TZSP_TAG_PADDING = 0;
var TZSP_TAG_END = 1;
var GRE_CHECKSUM = 32768;
var GRE_ROUTING = 16384;
var GRE_KEY = 8192;
var GRE_SEQUENCE = 4096;
var GRE_VERSION = 7;
var GreProtocol = {
  IPV4: 2048,
  IPV6: 34525,
  TEB: 25944,
  ERSPAN_1_2: 35006,
  ERSPAN_3: 8939
};
var ERSPAN2_HEADER = 8;
var ERSPAN3_HEADER = 12;
var ERSPAN3_SUBHEADER = 8;
var ERSPAN_VER_II = 1;
var ERSPAN_VER_III = 2;
var ERSPAN3_FRAME_ETHERNET = 0;
var ERSPAN3_FRAME_IP = 2;
var TunnelHeader = class {
  constructor(anomalies) {
    this.anomalies = anomalies;
  }
  anomalies;
  type = TunnelType.NONE;
  /** VNI / GRE key / ERSPAN session id, -1 when the header has none. */
  id = -1;
  inner = InnerKind.NONE;
  innerOffset = 0;
  /** VXLAN (RFC 7348): flags with the I bit, 24 reserved bits, VNI, reserved; Ethernet follows. */
  parseVxlan(buf, off, end) {
    if (end - off < VXLAN_HEADER) return this.truncated();
    if ((buf[off] & VXLAN_FLAG_VNI) === 0) {
      this.anomalies.add("tunnel.bad_vxlan");
      return TunnelParse.NOT_TUNNEL;
    }
    return this.found(TunnelType.VXLAN, u24be(buf, off + 4), InnerKind.ETHERNET, off + VXLAN_HEADER);
  }
  /** Geneve (RFC 8926): version 0, options length in 4-byte words, protocol type, VNI. */
  parseGeneve(buf, off, end) {
    if (end - off < GENEVE_HEADER) return this.truncated();
    if (buf[off] >> 6 !== 0) {
      this.anomalies.add("tunnel.bad_geneve");
      return TunnelParse.NOT_TUNNEL;
    }
    const inner = off + GENEVE_HEADER + (buf[off] & 63) * 4;
    if (inner > end) return this.truncated();
    const kind = this.kindOfEtherType(u16be(buf, off + 2));
    if (kind === InnerKind.NONE) return this.unsupported();
    return this.found(TunnelType.GENEVE, u24be(buf, off + 4), kind, inner);
  }
  /**
   * TZSP: version 1, type, encapsulation, then tagged fields (PADDING and END are single bytes,
   * the others tag + length + value) up to END; the captured frame follows.
   */
  parseTzsp(buf, off, end) {
    if (end - off < TZSP_HEADER) return this.truncated();
    if (buf[off] !== TZSP_VERSION) {
      this.anomalies.add("tunnel.bad_tzsp");
      return TunnelParse.NOT_TUNNEL;
    }
    const type = buf[off + 1];
    if (type !== TZSP_TYPE_RECEIVED && type !== TZSP_TYPE_TRANSMIT) return TunnelParse.UNSUPPORTED;
    const encap = u16be(buf, off + 2);
    let p = off + TZSP_HEADER;
    for (; ; ) {
      if (p >= end) return this.truncated();
      const tag = buf[p];
      if (tag === TZSP_TAG_END) {
        p++;
        break;
      }
      if (tag === TZSP_TAG_PADDING) {
        p++;
        continue;
      }
      if (p + 2 > end) return this.truncated();
      p += 2 + buf[p + 1];
    }
    if (encap !== TZSP_ENCAP_ETHERNET) return this.unsupported();
    return this.found(TunnelType.TZSP, -1, InnerKind.ETHERNET, p);
  }
  /**
   * GRE (RFC 2784 with the RFC 2890 key and sequence fields). ERSPAN rides on GRE: protocol 0x88BE
   * with the sequence bit is type II (8-byte header), without it type I (no header); 0x22EB is
   * type III (12-byte header, plus an 8-byte platform subheader when its O bit is set).
   */
  parseGre(buf, off, end) {
    if (end - off < 4) return this.truncated();
    const flags = u16be(buf, off);
    const proto = u16be(buf, off + 2);
    if ((flags & GRE_VERSION) !== 0 || (flags & GRE_ROUTING) !== 0) {
      this.anomalies.add("tunnel.bad_gre");
      return TunnelParse.UNSUPPORTED;
    }
    let p = off + 4;
    if ((flags & GRE_CHECKSUM) !== 0) p += 4;
    let key = -1;
    if ((flags & GRE_KEY) !== 0) {
      if (p + 4 > end) return this.truncated();
      key = u32be(buf, p);
      p += 4;
    }
    const hasSequence = (flags & GRE_SEQUENCE) !== 0;
    if (hasSequence) p += 4;
    if (p > end) return this.truncated();
    switch (proto) {
      case GreProtocol.IPV4:
        return this.found(TunnelType.GRE, key, InnerKind.IPV4, p);
      case GreProtocol.IPV6:
        return this.found(TunnelType.GRE, key, InnerKind.IPV6, p);
      case GreProtocol.TEB:
        return this.found(TunnelType.GRE, key, InnerKind.ETHERNET, p);
      case GreProtocol.ERSPAN_1_2: {
        if (!hasSequence) return this.found(TunnelType.ERSPAN, -1, InnerKind.ETHERNET, p);
        if (end - p < ERSPAN2_HEADER) return this.truncated();
        if (buf[p] >> 4 !== ERSPAN_VER_II) return this.badErspan();
        return this.found(TunnelType.ERSPAN, u16be(buf, p + 2) & 1023, InnerKind.ETHERNET, p + ERSPAN2_HEADER);
      }
      case GreProtocol.ERSPAN_3: {
        if (end - p < ERSPAN3_HEADER) return this.truncated();
        if (buf[p] >> 4 !== ERSPAN_VER_III) return this.badErspan();
        const session = u16be(buf, p + 2) & 1023;
        const frameType = buf[p + 10] >> 2 & 31;
        let inner = p + ERSPAN3_HEADER;
        if ((buf[p + 11] & 1) !== 0) inner += ERSPAN3_SUBHEADER;
        if (inner > end) return this.truncated();
        if (frameType === ERSPAN3_FRAME_ETHERNET) return this.found(TunnelType.ERSPAN, session, InnerKind.ETHERNET, inner);
        if (frameType === ERSPAN3_FRAME_IP) return this.found(TunnelType.ERSPAN, session, InnerKind.IP_BY_VERSION, inner);
        return this.badErspan();
      }
      default:
        this.anomalies.add("tunnel.unknown_gre_protocol");
        return TunnelParse.UNSUPPORTED;
    }
  }
  /** IP-in-IP (protocol 4) and IPv6-in-IP (41): no header of its own. */
  parseIpInIp(protocol, off) {
    return this.found(TunnelType.IPIP, -1, protocol === 4 ? InnerKind.IPV4 : InnerKind.IPV6, off);
  }
  kindOfEtherType(type) {
    if (type === GreProtocol.TEB) return InnerKind.ETHERNET;
    if (type === GreProtocol.IPV4) return InnerKind.IPV4;
    if (type === GreProtocol.IPV6) return InnerKind.IPV6;
    return InnerKind.NONE;
  }
  found(type, id, inner, innerOffset) {
    this.type = type;
    this.id = id;
    this.inner = inner;
    this.innerOffset = innerOffset;
    return TunnelParse.TUNNEL;
  }
  truncated() {
    this.anomalies.add("tunnel.truncated");
    return TunnelParse.MALFORMED;
  }
  unsupported() {
    this.anomalies.add("tunnel.unknown_payload");
    return TunnelParse.UNSUPPORTED;
  }
  badErspan() {
    this.anomalies.add("tunnel.bad_erspan");
    return TunnelParse.MALFORMED;
  }
};

// src/decode/packet-decoder.ts
var MAX_TUNNEL_DEPTH = 4;
var PacketDecoder = class {
  constructor(anomalies, opts = {}) {
    this.anomalies = anomalies;
    this.link = new LinkLayer(anomalies);
    this.ip4 = new Ipv4Header(anomalies, opts.verifyIpChecksum ?? true);
    this.ip6 = new Ipv6Header(anomalies);
    this.tcp = new TcpDecoder(anomalies);
    this.udp = new UdpDecoder(anomalies);
    this.tunnel = new TunnelHeader(anomalies);
    this.fragments = new FragmentReassembler(anomalies, opts.fragments);
    this.decodeTunnels = opts.decodeTunnels ?? true;
    this.maxTunnelDepth = opts.maxTunnelDepth ?? MAX_TUNNEL_DEPTH;
    for (const p of opts.vxlanPorts ?? [UdpPort.VXLAN, UdpPort.VXLAN_LINUX]) this.udpTunnelPorts[p & 65535] = TunnelType.VXLAN;
    for (const p of opts.genevePorts ?? [UdpPort.GENEVE]) this.udpTunnelPorts[p & 65535] = TunnelType.GENEVE;
    for (const p of opts.tzspPorts ?? [UdpPort.TZSP]) this.udpTunnelPorts[p & 65535] = TunnelType.TZSP;
  }
  anomalies;
  link;
  ip4;
  ip6;
  tcp;
  udp;
  tunnel;
  fragments;
  /** Flat table: UDP destination port → TunnelType (0 = plain UDP). */
  udpTunnelPorts = new Uint8Array(65536);
  decodeTunnels;
  maxTunnelDepth;
  snapTruncated = false;
  ts = 0;
  /** Stamp of a decode() call (the number API). */
  oneOff = new MutableStamp();
  /**
   * Decodes one frame into `out` (overwritten) and returns a DecodeStatus. `ts` is the capture time
   * in seconds (drives fragment timeouts); `origLen` is the length on the wire, so a frame cut by
   * the snaplen is told apart from one whose IP length lies.
   */
  decode(data, linkType, ts, out, origLen = data.length) {
    return this.decodeBytes(data, 0, data.length, linkType, this.oneOff.set(ts, 0), out, origLen);
  }
  /**
   * decode() of a frame that is buf[start..end), without a view of its own: the readers hand out
   * frames as offsets into their read buffer, and a view per packet would be the hot path's one
   * allocation. The packet's offsets (`payloadOffset`) are then offsets into `buf`. The capture time
   * comes as a stamp, not a number, for the same reason (see PacketStamp).
   */
  decodeBytes(buf, start, end, linkType, at, out, origLen) {
    out.reset();
    this.snapTruncated = origLen > end - start;
    this.ts = at.ts;
    if (this.fragments.holding) this.fragments.expire(at.ts);
    const st = this.link.decode(buf, start, end, linkType);
    if (st !== DecodeStatus.OK) return st;
    out.vlan = this.link.vlan;
    return this.decodeNetwork(buf, this.link.offset, this.link.end, this.link.network, out);
  }
  /** End of capture: counts datagrams still waiting for fragments as timed out. */
  flush() {
    this.fragments.flush();
  }
  /** Datagrams currently held for reassembly (for statistics and tests). */
  get pendingFragments() {
    return this.fragments.pending;
  }
  decodeNetwork(buf, off, end, network, out) {
    if (network === NetworkType.IP_BY_VERSION) {
      if (off >= end) {
        this.anomalies.add("ip.truncated");
        return DecodeStatus.MALFORMED;
      }
      const v = buf[off] >> 4;
      if (v === 4) network = NetworkType.IPV4;
      else if (v === 6) network = NetworkType.IPV6;
      else {
        this.anomalies.add("ip.bad_version");
        return DecodeStatus.MALFORMED;
      }
    }
    if (network === NetworkType.IPV4) return this.decodeIpv4(buf, off, end, out);
    if (network === NetworkType.IPV6) return this.decodeIpv6(buf, off, end, out);
    return DecodeStatus.NOT_ANALYSED;
  }
  decodeIpv4(buf, off, end, out) {
    const h = this.ip4;
    const st = h.parse(buf, off, end, this.snapTruncated);
    if (st !== DecodeStatus.OK) return st;
    out.ipVersion = 4;
    if (out.addressTails) {
      out.src.fill(0, 4);
      out.dst.fill(0, 4);
      out.addressTails = false;
    }
    copyIpv4(buf, off + 12, out.src);
    copyIpv4(buf, off + 16, out.dst);
    out.ttl = h.ttl;
    out.ipId = h.id;
    out.protocol = h.protocol;
    out.truncatedBytes = h.missing;
    out.ipLength = h.totalLength;
    if (h.fragmentOffset !== 0 || h.moreFragments) {
      if (h.missing > 0) {
        this.anomalies.add("ip.fragment_truncated");
        return DecodeStatus.MALFORMED;
      }
      const r = this.fragments.add(
        4,
        buf,
        off + 12,
        off + 16,
        h.id,
        h.protocol,
        h.ttl,
        h.fragmentOffset,
        h.moreFragments,
        h.payloadOffset,
        h.end - h.payloadOffset,
        this.ts
      );
      if (r === FragmentResult.HELD) return DecodeStatus.FRAGMENT_HELD;
      if (r === FragmentResult.DROPPED) return DecodeStatus.MALFORMED;
      out.reassembled = true;
      const dg = this.fragments.datagram;
      return this.decodeIpv4(dg, 0, dg.length, out);
    }
    return this.decodeTransport(buf, h.payloadOffset, h.end, h.protocol, h.missing, out);
  }
  decodeIpv6(buf, off, end, out) {
    const h = this.ip6;
    const st = h.parse(buf, off, end, this.snapTruncated);
    if (st !== DecodeStatus.OK) return st;
    out.ipVersion = 6;
    out.addressTails = true;
    copyIpv6(buf, off + 8, out.src);
    copyIpv6(buf, off + 24, out.dst);
    out.ttl = h.hopLimit;
    out.ipId = 0;
    out.protocol = h.protocol;
    out.truncatedBytes = h.missing;
    out.ipLength = h.totalLength;
    if (h.isFragment) {
      if (h.missing > 0) {
        this.anomalies.add("ip.fragment_truncated");
        return DecodeStatus.MALFORMED;
      }
      const r = this.fragments.add(
        6,
        buf,
        off + 8,
        off + 24,
        h.fragmentId,
        h.protocol,
        h.hopLimit,
        h.fragmentOffset,
        h.moreFragments,
        h.payloadOffset,
        h.end - h.payloadOffset,
        this.ts
      );
      if (r === FragmentResult.HELD) return DecodeStatus.FRAGMENT_HELD;
      if (r === FragmentResult.DROPPED) return DecodeStatus.MALFORMED;
      out.reassembled = true;
      const dg = this.fragments.datagram;
      return this.decodeIpv6(dg, 0, dg.length, out);
    }
    return this.decodeTransport(buf, h.payloadOffset, h.end, h.protocol, h.missing, out);
  }
  decodeTransport(buf, off, end, protocol, missing, out) {
    while (protocol === IpProto.AH) {
      if (end - off < 8) {
        this.anomalies.add("ip.truncated");
        return DecodeStatus.MALFORMED;
      }
      protocol = buf[off];
      off += (buf[off + 1] + 2) * 4;
      if (off > end) {
        this.anomalies.add("ip.truncated");
        return DecodeStatus.MALFORMED;
      }
      out.protocol = protocol;
    }
    switch (protocol) {
      case IpProto.TCP:
        return this.tcp.decode(buf, off, end, missing, out);
      case IpProto.UDP: {
        const st = this.udp.decode(buf, off, end, missing, out);
        if (st !== DecodeStatus.OK || !this.decodeTunnels) return st;
        const kind = this.udpTunnelPorts[out.dstPort];
        if (kind === TunnelType.NONE) return st;
        const pOff = out.payloadOffset;
        const pEnd = pOff + out.payloadLength;
        const t = this.tunnel;
        const r = kind === TunnelType.VXLAN ? t.parseVxlan(buf, pOff, pEnd) : kind === TunnelType.GENEVE ? t.parseGeneve(buf, pOff, pEnd) : t.parseTzsp(buf, pOff, pEnd);
        return this.decodeTunnel(buf, pEnd, r, out);
      }
      case IpProto.GRE:
        if (!this.decodeTunnels) break;
        return this.decodeTunnel(buf, end, this.tunnel.parseGre(buf, off, end), out);
      case IpProto.IPIP:
      case IpProto.IPV6:
        if (!this.decodeTunnels) break;
        return this.decodeTunnel(buf, end, this.tunnel.parseIpInIp(protocol, off), out);
      default:
        break;
    }
    this.anomalies.add("ip.unsupported_protocol");
    return DecodeStatus.NOT_ANALYSED;
  }
  /** Enters the tunnel just parsed: records the outermost one, then decodes the inner packet. */
  decodeTunnel(buf, end, parse2, out) {
    if (parse2 === TunnelParse.NOT_TUNNEL) return DecodeStatus.OK;
    if (parse2 === TunnelParse.MALFORMED) return DecodeStatus.MALFORMED;
    if (parse2 === TunnelParse.UNSUPPORTED) return DecodeStatus.NOT_ANALYSED;
    if (out.tunnelDepth >= this.maxTunnelDepth) {
      this.anomalies.add("tunnel.too_deep");
      return DecodeStatus.NOT_ANALYSED;
    }
    const t = this.tunnel;
    if (out.tunnelDepth === 0) {
      out.tunnelType = t.type;
      out.tunnelId = t.id;
      out.outerIpVersion = out.ipVersion;
      out.outerSrc.set(out.src);
      out.outerDst.set(out.dst);
    }
    out.tunnelDepth++;
    out.srcPort = 0;
    out.dstPort = 0;
    out.payloadOffset = 0;
    out.payloadLength = 0;
    const inner = t.inner;
    const innerOff = t.innerOffset;
    if (inner === InnerKind.ETHERNET) {
      const st = this.link.decodeEthernet(buf, innerOff, end);
      if (st !== DecodeStatus.OK) return st;
      if (out.vlan === 0) out.vlan = this.link.vlan;
      return this.decodeNetwork(buf, this.link.offset, end, this.link.network, out);
    }
    return this.decodeNetwork(buf, innerOff, end, inner, out);
  }
};
function copyIpv4(buf, off, to) {
  to[0] = buf[off];
  to[1] = buf[off + 1];
  to[2] = buf[off + 2];
  to[3] = buf[off + 3];
}
function copyIpv6(buf, off, to) {
  for (let i = 0; i < 16; i++) to[i] = buf[off + i];
}

// src/flow/duplicate-filter.ts
var DUPLICATE_WINDOW_S = 5e-3;
var SLOTS = 512;
var MASK = SLOTS - 1;
var DuplicateFilter = class {
  constructor(pkt) {
    this.pkt = pkt;
    this.src = new Int32Array(pkt.src.buffer, pkt.src.byteOffset, 4);
    this.dst = new Int32Array(pkt.dst.buffer, pkt.dst.byteOffset, 4);
  }
  pkt;
  src;
  dst;
  addr = new Int32Array(SLOTS);
  seq = new Int32Array(SLOTS);
  ack = new Int32Array(SLOTS);
  idSum = new Int32Array(SLOTS);
  shape = new Int32Array(SLOTS);
  ts = new Float64Array(SLOTS).fill(-Infinity);
  /**
   * True when the decoded packet, captured at `at`, is a copy of one seen within the window; otherwise
   * it is remembered.
   */
  isDuplicate(at) {
    const ts = at.ts;
    const p = this.pkt;
    const s = this.src;
    const d = this.dst;
    let addr = s[0] ^ Math.imul(d[0], 2654435761);
    if (p.ipVersion === 6) addr ^= Math.imul(s[1] ^ s[2] ^ s[3], 2246822507) ^ Math.imul(d[1] ^ d[2] ^ d[3], 3266489909);
    addr ^= Math.imul(p.srcPort << 16 | p.dstPort, 668265263);
    const seq = p.seq | 0;
    const ack = p.ack | 0;
    const idSum = p.ipId << 16 | p.l4Checksum;
    const shape = p.payloadLength << 16 ^ p.tcpFlags << 8 ^ p.protocol;
    let h = addr ^ Math.imul(seq, 374761393) ^ Math.imul(ack ^ idSum, 3550635116) ^ shape;
    h ^= h >>> 15;
    h = Math.imul(h, 739982445);
    h ^= h >>> 12;
    const i = h & MASK;
    if (this.addr[i] === addr && this.seq[i] === seq && this.ack[i] === ack && this.idSum[i] === idSum && this.shape[i] === shape) {
      const dt = ts - this.ts[i];
      if (dt <= DUPLICATE_WINDOW_S && dt >= -DUPLICATE_WINDOW_S) return true;
    }
    this.addr[i] = addr;
    this.seq[i] = seq;
    this.ack[i] = ack;
    this.idSum[i] = idSum;
    this.shape[i] = shape;
    this.ts[i] = ts;
    return false;
  }
};

// src/flow/tcp-state.ts
var EndpointState = {
  INACTIVE: 0,
  SYN_SENT: 1,
  SYN_ACK_SENT: 2,
  /** Seen only midstream (no SYN). */
  PARTIAL: 3,
  ESTABLISHED: 4,
  CLOSED: 5,
  RESET: 6
};
var HistoryLetter = {
  SYN: 0,
  // S: SYN without ACK
  SYN_ACK: 1,
  // H: SYN+ACK
  ACK: 2,
  // A: pure ACK (no payload, no SYN/FIN/RST)
  DATA: 3,
  // D: payload
  FIN: 4,
  // F
  RST: 5,
  // R
  GAP: 6
  // G: content gap
};
var HISTORY_CHARS = "SHADFRG";
var HISTORY_CHARS_RESP = "shadfrg";
function inactive(s) {
  return s === EndpointState.INACTIVE || s === EndpointState.PARTIAL;
}
function tcpConnState(os, rs, history, origBytes, respBytes) {
  const E = EndpointState;
  if (rs === E.RESET) {
    if (os === E.SYN_SENT || os === E.SYN_ACK_SENT || os === E.RESET && origBytes === 0 && respBytes === 0) {
      return "REJ";
    }
    return inactive(os) ? "RSTRH" : "RSTR";
  }
  if (os === E.RESET) {
    if (inactive(rs)) return /^\^?S[^HAFGIQ]*R/.test(history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (rs === E.CLOSED && os === E.CLOSED) return "SF";
  if (os === E.CLOSED) return inactive(rs) ? "SH" : "S2";
  if (rs === E.CLOSED) return inactive(os) ? "SHR" : "S3";
  if (os === E.SYN_SENT && rs === E.INACTIVE) return "S0";
  if (os === E.ESTABLISHED && rs === E.ESTABLISHED) return "S1";
  return "OTH";
}
function udpConnState(origPackets, respPackets) {
  if (origPackets > 0) return respPackets > 0 ? "SF" : "S0";
  return respPackets > 0 ? "SHR" : "OTH";
}

// src/flow/flow.ts
var Flow = class {
  constructor(captureAnomalies) {
    this.captureAnomalies = captureAnomalies;
  }
  captureAnomalies;
  /** Sequence number within the engine (ids are built from it when a record is made). */
  n = 0;
  /** Flow table hash (30 bits). */
  hash = 0;
  ipVersion = 4;
  protocol = 0;
  clientAddr = new Uint8Array(16);
  serverAddr = new Uint8Array(16);
  clientPort = 0;
  serverPort = 0;
  // Lookup keys of the endpoints, set by the flow table (see FlowTable.hashOf).
  clientKey = 0;
  clientPortKey = 0;
  serverKey = 0;
  serverPortKey = 0;
  /** Roles were inferred from ports because no SYN / SYN-ACK opened the flow (TCP). */
  midstream = false;
  packets0 = 0;
  packets1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  payload0 = 0;
  payload1 = 0;
  missing0 = 0;
  missing1 = 0;
  firstTs = 0;
  lastTs = 0;
  firstFrame = 0;
  lastFrame = 0;
  history = "";
  historyMask = 0;
  state0 = EndpointState.INACTIVE;
  state1 = EndpointState.INACTIVE;
  /** Reported already (FIN both ways or RST); kept briefly so trailing packets attach here. */
  closed = false;
  vlan = 0;
  tunnelType = 0;
  tunnelId = -1;
  outerIpVersion = 0;
  outerSrc = null;
  outerDst = null;
  // Table links: hash chain, and the LRU (open) or linger (closed) list.
  bucketNext = null;
  listPrev = null;
  listNext = null;
  /** When the flow was last moved to the tail of the activity list: packet count and capture time. */
  listStamp = 0;
  listTs = 0;
  reassembler = null;
  /** Receives the stream; null when there is none or it was detached after throwing. */
  session = null;
  /** Asked for evidence at the end; kept after a detach so what was found is not lost. */
  describer = null;
  anomalies = null;
  communityId = null;
  /**
   * Initial sequence numbers of the client's SYN and the server's SYN-ACK; for a connection picked
   * up midstream, the client's and the server's sequence numbers as its first packet gives them
   * (-1: not seen).
   */
  clientIsn = -1;
  serverIsn = -1;
  /** Shared with the flow that is this connection seen on the other side of a NAT (NatLinker). */
  natLink = null;
  /** This flow is the view of such a connection captured second: connection counts leave it out. */
  natRepeat = false;
  /** Counts an anomaly for this flow and for the capture. */
  add(code, n = 1) {
    if (this.anomalies === null) this.anomalies = new AnomalyCounter();
    this.anomalies.add(code, n);
    this.captureAnomalies.add(code, n);
  }
  addHistory(dir, letter) {
    const bit = 1 << letter + (dir << 3);
    if ((this.historyMask & bit) !== 0) return;
    this.historyMask |= bit;
    this.history += dir === 0 ? HISTORY_CHARS[letter] : HISTORY_CHARS_RESP[letter];
  }
  onData(dir, data, start, end, at) {
    const s = this.session;
    if (s === null) return;
    try {
      s.onData(dir, data, start, end, at);
    } catch {
      this.detach();
    }
  }
  onGap(dir, bytes) {
    if (dir === 0) this.missing0 += bytes;
    else this.missing1 += bytes;
    this.addHistory(dir, HistoryLetter.GAP);
    const s = this.session;
    if (s === null) return;
    try {
      s.onGap(dir, bytes);
    } catch {
      this.detach();
    }
  }
  onEnd(dir) {
    const s = this.session;
    if (s === null) return;
    try {
      s.onEnd(dir);
    } catch {
      this.detach();
    }
  }
  /** A session that threw is not called again for this flow; what it found so far is kept. */
  detach() {
    this.add("dissector.exception");
    this.session = null;
  }
};

// src/flow/server-ports.ts
var KNOWN_SERVER_PORTS = [
  6443,
  443,
  8443,
  10250,
  10255,
  10256,
  10257,
  10259,
  2379,
  2380,
  8132,
  8131,
  22,
  8080,
  80,
  53,
  9443,
  4443,
  5473,
  179,
  9099,
  9100,
  9090,
  123,
  4789,
  6081,
  8472,
  3e3,
  5e3,
  8e3,
  8888
];
var table = new Uint8Array(65536);
for (const p of KNOWN_SERVER_PORTS) table[p] = 1;
function isKnownServerPort(port) {
  return table[port & 65535] === 1;
}
var PRIVILEGED_PORTS = 1024;
function srcLooksLikeServer(srcPort, dstPort, byLowerPort) {
  const s = isKnownServerPort(srcPort);
  const d = isKnownServerPort(dstPort);
  if (s !== d) return s;
  const sp = srcPort < PRIVILEGED_PORTS;
  const dp = dstPort < PRIVILEGED_PORTS;
  if (sp !== dp) return sp;
  return byLowerPort && srcPort < dstPort;
}

// src/flow/flow-table.ts
var SWEEP_INTERVAL = 1;
var CLOSED_LINGER = 5;
var LRU_SLACK_PACKETS = 8192;
var LRU_SLACK_SECONDS = 1;
var MAX_BUCKETS = 1 << 22;
var INITIAL_BUCKETS = 1024;
var PROTO_TCP = 6;
function endpointHash(key, portKey) {
  const h = Math.imul(portKey + 1, 2654435761);
  return Math.imul(h << 13 | h >>> 19, 2246822507) ^ Math.imul(key, 3432918353);
}
function fmix32(x) {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 2246822507);
  h ^= h >>> 13;
  h = Math.imul(h, 3266489909);
  h ^= h >>> 16;
  return h >>> 0;
}
var KEY_MASK = 1073741823;
function ipv6Key(a) {
  let h = 2166136261;
  for (let i = 0; i < 16; i += 4) {
    const w = a[i] << 24 | a[i + 1] << 16 | a[i + 2] << 8 | a[i + 3];
    h = Math.imul(h ^ w, 2246822507);
    h = h << 13 | h >>> 19;
  }
  return fmix32(h) & KEY_MASK;
}
function sameBytes3(a, b, len) {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}
var FlowTable = class {
  constructor(opts, expiry, anomalies) {
    this.opts = opts;
    this.expiry = expiry;
    this.anomalies = anomalies;
    this.lruSlackPackets = Math.min(LRU_SLACK_PACKETS, Math.floor(opts.maxFlows / 16));
  }
  opts;
  expiry;
  anomalies;
  /** Direction of the last packet given to process(). */
  dir = 0;
  /** The last process() created the flow. */
  isNew = false;
  buckets = new Array(INITIAL_BUCKETS).fill(null);
  mask = INITIAL_BUCKETS - 1;
  count = 0;
  openCount = 0;
  // Open flows, least recently active first; closed flows in the order they closed.
  lruHead = null;
  lruTail = null;
  closedHead = null;
  closedTail = null;
  nextSweepTs = -Infinity;
  flowCounter = 0;
  /** Packets given to process(); stamps a flow's move to the tail of the activity list. */
  packetCount = 0;
  lruSlackPackets;
  // Lookup keys of the packet being processed (set by hashOf): source and destination endpoint.
  srcKey = 0;
  srcPortKey = 0;
  dstKey = 0;
  dstPortKey = 0;
  /** Flows held (open and lingering closed). */
  get size() {
    return this.count;
  }
  get activeFlows() {
    return this.openCount;
  }
  /** Hash bucket count (grows with the table, bounded by MAX_BUCKETS). */
  get bucketCount() {
    return this.buckets.length;
  }
  /**
   * Finds or creates the flow of a TCP/UDP packet and accounts the packet to it (counters, TCP
   * state, history). Sets `dir` and `isNew`. A closed flow is returned as is (not accounted);
   * a SYN on the tuple of a closed flow starts a new one. `at`: the packet's time and frame number.
   */
  process(pkt, at) {
    if (at.ts >= this.nextSweepTs) {
      this.sweep(at.ts);
      this.nextSweepTs = at.ts + SWEEP_INTERVAL;
    }
    this.packetCount++;
    const h = this.hashOf(pkt);
    let flow = this.find(h, pkt);
    const tcp = pkt.protocol === PROTO_TCP;
    if (flow !== null && flow.closed) {
      if (tcp && (pkt.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        this.remove(flow);
        flow = null;
      } else {
        this.isNew = false;
        return flow;
      }
    }
    if (flow !== null && tcp && (pkt.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
      const st = this.dir === 0 ? flow.state0 : flow.state1;
      if (st !== EndpointState.INACTIVE && st !== EndpointState.SYN_SENT) {
        this.expiry.expire(flow, "idle");
        this.remove(flow);
        flow = null;
      }
    }
    if (flow === null) {
      flow = this.create(h, pkt, at);
      this.isNew = true;
    } else {
      this.isNew = false;
      this.touch(flow, at);
    }
    this.account(flow, this.dir, pkt, at);
    return flow;
  }
  /** Marks a flow reported (FIN both ways / RST): it lingers for trailing packets, then goes. */
  markClosed(flow) {
    if (flow.closed) return;
    flow.closed = true;
    this.unlink(flow);
    this.openCount--;
    flow.listPrev = this.closedTail;
    flow.listNext = null;
    if (this.closedTail !== null) this.closedTail.listNext = flow;
    else this.closedHead = flow;
    this.closedTail = flow;
  }
  /** Open flows, least recently active first (a copy: callers may end them while iterating). */
  openFlows() {
    const out = [];
    for (let f = this.lruHead; f !== null; f = f.listNext) out.push(f);
    return out;
  }
  /** Removes a flow (open or closed) from the table. */
  remove(flow) {
    const idx = flow.hash & this.mask;
    let prev = null;
    for (let f = this.buckets[idx]; f !== null; f = f.bucketNext) {
      if (f === flow) {
        if (prev === null) this.buckets[idx] = f.bucketNext;
        else prev.bucketNext = f.bucketNext;
        break;
      }
      prev = f;
    }
    flow.bucketNext = null;
    this.unlink(flow);
    if (!flow.closed) this.openCount--;
    this.count--;
  }
  /**
   * A packet this table does not account (another shard's) was captured at `at`: the idle sweep runs
   * when it would have for it.
   */
  tick(at) {
    if (at.ts >= this.nextSweepTs) {
      this.sweep(at.ts);
      this.nextSweepTs = at.ts + SWEEP_INTERVAL;
    }
  }
  /** Ends flows idle for `idleTimeout` and drops closed flows past their linger time. */
  sweep(now) {
    const idleBefore = now - this.opts.idleTimeout;
    while (this.lruHead !== null && this.lruHead.lastTs <= idleBefore) {
      const f = this.lruHead;
      this.expiry.expire(f, "idle");
      this.remove(f);
    }
    const lingerBefore = now - CLOSED_LINGER;
    while (this.closedHead !== null && this.closedHead.lastTs <= lingerBefore) this.remove(this.closedHead);
  }
  /** Sets the packet's endpoint keys and returns the flow hash (symmetric in the endpoints). */
  hashOf(pkt) {
    if (pkt.ipVersion === 4) {
      const s = pkt.src;
      const d = pkt.dst;
      const sw = s[0] << 24 | s[1] << 16 | s[2] << 8 | s[3];
      const dw = d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3];
      this.srcKey = sw >>> 2;
      this.srcPortKey = pkt.srcPort | (sw & 3) << 16;
      this.dstKey = dw >>> 2;
      this.dstPortKey = pkt.dstPort | (dw & 3) << 16;
    } else {
      this.srcKey = ipv6Key(pkt.src);
      this.srcPortKey = pkt.srcPort;
      this.dstKey = ipv6Key(pkt.dst);
      this.dstPortKey = pkt.dstPort;
    }
    const sum = endpointHash(this.srcKey, this.srcPortKey) + endpointHash(this.dstKey, this.dstPortKey) | 0;
    return fmix32(sum ^ Math.imul(pkt.protocol | pkt.ipVersion << 8, 16777619)) & KEY_MASK;
  }
  find(h, pkt) {
    const sk = this.srcKey;
    const sp = this.srcPortKey;
    const dk = this.dstKey;
    const dp = this.dstPortKey;
    for (let f = this.buckets[h & this.mask]; f !== null; f = f.bucketNext) {
      if (f.hash !== h || f.protocol !== pkt.protocol || f.ipVersion !== pkt.ipVersion) continue;
      const v6 = f.ipVersion === 6;
      if (f.clientKey === sk && f.clientPortKey === sp && f.serverKey === dk && f.serverPortKey === dp && (!v6 || sameBytes3(f.clientAddr, pkt.src, 16) && sameBytes3(f.serverAddr, pkt.dst, 16))) {
        this.dir = 0;
        return f;
      }
      if (f.clientKey === dk && f.clientPortKey === dp && f.serverKey === sk && f.serverPortKey === sp && (!v6 || sameBytes3(f.clientAddr, pkt.dst, 16) && sameBytes3(f.serverAddr, pkt.src, 16))) {
        this.dir = 1;
        return f;
      }
    }
    return null;
  }
  create(h, pkt, at) {
    const ts = at.ts;
    while (this.count >= this.opts.maxFlows && this.count > 0) this.makeRoom();
    const flow = new Flow(this.anomalies);
    flow.n = ++this.flowCounter;
    flow.hash = h;
    flow.ipVersion = pkt.ipVersion === 6 ? 6 : 4;
    flow.protocol = pkt.protocol;
    let srcIsClient;
    if (pkt.protocol === PROTO_TCP && (pkt.tcpFlags & TcpFlag.SYN) !== 0) {
      srcIsClient = (pkt.tcpFlags & TcpFlag.ACK) === 0;
    } else {
      srcIsClient = !srcLooksLikeServer(pkt.srcPort, pkt.dstPort, pkt.protocol === PROTO_TCP);
      if (pkt.protocol === PROTO_TCP) {
        flow.midstream = true;
        flow.add("flow.midstream");
      }
    }
    if (srcIsClient) {
      flow.clientAddr.set(pkt.src);
      flow.serverAddr.set(pkt.dst);
      flow.clientPort = pkt.srcPort;
      flow.serverPort = pkt.dstPort;
      flow.clientKey = this.srcKey;
      flow.clientPortKey = this.srcPortKey;
      flow.serverKey = this.dstKey;
      flow.serverPortKey = this.dstPortKey;
      this.dir = 0;
    } else {
      flow.clientAddr.set(pkt.dst);
      flow.serverAddr.set(pkt.src);
      flow.clientPort = pkt.dstPort;
      flow.serverPort = pkt.srcPort;
      flow.clientKey = this.dstKey;
      flow.clientPortKey = this.dstPortKey;
      flow.serverKey = this.srcKey;
      flow.serverPortKey = this.srcPortKey;
      this.dir = 1;
    }
    if (flow.midstream && (pkt.tcpFlags & TcpFlag.ACK) !== 0) {
      const seq = pkt.seq >>> 0;
      const ack = pkt.ack >>> 0;
      flow.clientIsn = srcIsClient ? seq : ack;
      flow.serverIsn = srcIsClient ? ack : seq;
    }
    flow.firstTs = ts;
    flow.lastTs = ts;
    flow.firstFrame = at.frame;
    flow.vlan = pkt.vlan;
    if (pkt.tunnelDepth > 0) {
      flow.tunnelType = pkt.tunnelType;
      flow.tunnelId = pkt.tunnelId;
      flow.outerIpVersion = pkt.outerIpVersion;
      flow.outerSrc = pkt.outerSrc.slice();
      flow.outerDst = pkt.outerDst.slice();
    }
    const idx = h & this.mask;
    flow.bucketNext = this.buckets[idx];
    this.buckets[idx] = flow;
    this.count++;
    this.openCount++;
    this.appendLru(flow, ts);
    if (this.count > this.buckets.length && this.buckets.length < MAX_BUCKETS) this.grow();
    return flow;
  }
  /** Frees one slot: a lingering closed flow if any, else the least recently active open flow. */
  makeRoom() {
    if (this.closedHead !== null) {
      this.remove(this.closedHead);
      return;
    }
    const victim = this.lruHead;
    victim.add("flow.evicted");
    this.expiry.expire(victim, "evicted");
    this.remove(victim);
  }
  account(flow, dir, pkt, at) {
    const payload = pkt.payloadLength + pkt.truncatedBytes;
    const ipBytes = pkt.ipLength > 0 ? pkt.ipLength : payload + (pkt.ipVersion === 4 ? 20 : 40) + (pkt.protocol === PROTO_TCP ? 20 : 8);
    if (dir === 0) {
      flow.packets0++;
      flow.bytes0 += ipBytes;
      flow.payload0 += payload;
    } else {
      flow.packets1++;
      flow.bytes1 += ipBytes;
      flow.payload1 += payload;
    }
    if (at.ts > flow.lastTs) flow.lastTs = at.ts;
    flow.lastFrame = at.frame;
    if (pkt.protocol === PROTO_TCP) {
      const flags = pkt.tcpFlags;
      if ((flags & TcpFlag.SYN) !== 0) {
        if (dir === 0 && (flags & TcpFlag.ACK) === 0) flow.clientIsn = pkt.seq >>> 0;
        else if (dir === 1 && (flags & TcpFlag.ACK) !== 0) flow.serverIsn = pkt.seq >>> 0;
      }
      this.updateTcp(flow, dir, flags, payload);
    } else if (payload > 0) flow.addHistory(dir, HistoryLetter.DATA);
  }
  /** Zeek-like endpoint state machine and history letters. */
  updateTcp(flow, dir, flags, payload) {
    const E = EndpointState;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ack = (flags & TcpFlag.ACK) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    let e = dir === 0 ? flow.state0 : flow.state1;
    let p = dir === 0 ? flow.state1 : flow.state0;
    if (syn) flow.addHistory(dir, ack ? HistoryLetter.SYN_ACK : HistoryLetter.SYN);
    if (fin) flow.addHistory(dir, HistoryLetter.FIN);
    if (rst) flow.addHistory(dir, HistoryLetter.RST);
    if (ack && !syn && !fin && !rst && payload === 0) flow.addHistory(dir, HistoryLetter.ACK);
    if (payload > 0) flow.addHistory(dir, HistoryLetter.DATA);
    if (rst) {
      e = E.RESET;
    } else {
      if (syn) {
        if (ack) {
          if (e === E.INACTIVE || e === E.SYN_SENT) e = E.SYN_ACK_SENT;
          if (p === E.SYN_SENT) p = E.ESTABLISHED;
        } else if (e === E.INACTIVE) {
          e = E.SYN_SENT;
        }
      } else if (e === E.INACTIVE) {
        e = E.PARTIAL;
      } else if (ack && (e === E.SYN_SENT || e === E.SYN_ACK_SENT)) {
        e = E.ESTABLISHED;
      }
      if (!syn && ack && p === E.SYN_ACK_SENT && e === E.ESTABLISHED) p = E.ESTABLISHED;
      if (fin && e !== E.RESET) e = E.CLOSED;
    }
    if (dir === 0) {
      flow.state0 = e;
      flow.state1 = p;
    } else {
      flow.state1 = e;
      flow.state0 = p;
    }
  }
  touch(flow, at) {
    if (flow === this.lruTail) return;
    if (this.packetCount - flow.listStamp < this.lruSlackPackets && at.ts - flow.listTs < LRU_SLACK_SECONDS) return;
    this.unlink(flow);
    this.appendLru(flow, at.ts);
  }
  appendLru(flow, ts) {
    flow.listStamp = this.packetCount;
    flow.listTs = ts;
    flow.listPrev = this.lruTail;
    flow.listNext = null;
    if (this.lruTail !== null) this.lruTail.listNext = flow;
    else this.lruHead = flow;
    this.lruTail = flow;
  }
  /** Takes a flow out of whichever list (open LRU or closed linger) holds it. */
  unlink(flow) {
    const prev = flow.listPrev;
    const next = flow.listNext;
    if (prev !== null) prev.listNext = next;
    else if (this.lruHead === flow) this.lruHead = next;
    else if (this.closedHead === flow) this.closedHead = next;
    if (next !== null) next.listPrev = prev;
    else if (this.lruTail === flow) this.lruTail = prev;
    else if (this.closedTail === flow) this.closedTail = prev;
    flow.listPrev = null;
    flow.listNext = null;
  }
  grow() {
    const old = this.buckets;
    const size2 = old.length * 2;
    const next = new Array(size2).fill(null);
    const mask = size2 - 1;
    for (let i = 0; i < old.length; i++) {
      let f = old[i];
      while (f !== null) {
        const after = f.bucketNext;
        const idx = f.hash & mask;
        f.bucketNext = next[idx];
        next[idx] = f;
        f = after;
      }
    }
    this.buckets = next;
    this.mask = mask;
  }
};

// src/flow/nat-linker.ts
var NAT_WINDOW_S = 0.05;
var MAX_REMEMBERED = 16384;
var NatLinker = class {
  /**
   * Flows by a small-integer digest of their initial sequence numbers (no string or object made per
   * connection); a match is confirmed on the flows' own numbers. A digest shared by another pair in
   * the window keeps the newer flow only.
   */
  recent = /* @__PURE__ */ new Map();
  /**
   * A flow's SYN-ACK was seen (both initial sequence numbers are known), or the first packet of a
   * flow picked up midstream: link it, or remember it.
   */
  handshake(flow) {
    const c = flow.clientIsn;
    const s = flow.serverIsn;
    if (c <= 0 || s <= 0 || flow.natLink !== null) return;
    const key = (c ^ Math.imul(s, 2654435761)) & 1073741823;
    const seen = this.recent.get(key);
    if (seen !== void 0 && seen !== flow && seen.clientIsn === c && seen.serverIsn === s && Math.abs(flow.firstTs - seen.firstTs) <= NAT_WINDOW_S && natPair(seen, flow)) {
      const link = seen.natLink ?? `${c.toString(16)}-${s.toString(16)}@${seen.firstFrame}`;
      seen.natLink = link;
      flow.natLink = link;
      const seenFirst = seen.firstTs < flow.firstTs || seen.firstTs === flow.firstTs && seen.firstFrame < flow.firstFrame;
      (seenFirst ? flow : seen).natRepeat = true;
      return;
    }
    if (seen !== void 0) this.recent.delete(key);
    this.recent.set(key, flow);
    if (this.recent.size > MAX_REMEMBERED) this.forgetBefore(flow.firstTs - NAT_WINDOW_S);
  }
  /** Drops flows whose SYN came before `ts`, and the oldest beyond half the limit (the map is in the order seen). */
  forgetBefore(ts) {
    for (const [key, seen] of this.recent) {
      if (seen.firstTs >= ts && this.recent.size <= MAX_REMEMBERED / 2) return;
      this.recent.delete(key);
    }
  }
};
function natPair(a, b) {
  if (a.ipVersion !== b.ipVersion || a.clientPort !== b.clientPort) return false;
  const n = a.ipVersion === 4 ? 4 : 16;
  return sameBytes4(a.clientAddr, b.clientAddr, n) || a.serverPort === b.serverPort && sameBytes4(a.serverAddr, b.serverAddr, n);
}
function sameBytes4(a, b, n) {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

// src/flow/seq.ts
function seqDiff(a, b) {
  return a - b | 0;
}
function seqAdd(a, n) {
  return a + n | 0;
}

// src/flow/tcp-reassembler.ts
var MAX_OOO_BYTES_PER_DIRECTION = 1 << 20;
var MAX_OOO_SEGMENTS = 256;
var MAX_OOO_BYTES_GLOBAL = 64 << 20;
var DEFAULT_LIMITS = {
  maxBytesPerDirection: MAX_OOO_BYTES_PER_DIRECTION,
  maxSegments: MAX_OOO_SEGMENTS
};
var OooSegment = class {
  constructor(seq, bytes, missing, at) {
    this.seq = seq;
    this.bytes = bytes;
    this.missing = missing;
    this.ts = at.ts;
    this.frame = at.frame;
  }
  seq;
  bytes;
  missing;
  // Initial values: a number field declared without one starts undefined, is tracked as tagged and
  // would box its double on every segment.
  ts = 0;
  frame = 0;
  get total() {
    return this.bytes.length + this.missing;
  }
};
var HalfStream = class {
  started = false;
  ended = false;
  /** Next sequence number expected in order (32 bits, held as a signed integer: see seqAdd). */
  nextSeq = 0;
  /** Sorted by sequence, non-overlapping, every one starting after nextSeq. */
  segs = [];
  bufferedBytes = 0;
};
var TcpReassembler = class {
  constructor(handler, anomalies, budget, limits = DEFAULT_LIMITS) {
    this.handler = handler;
    this.anomalies = anomalies;
    this.budget = budget;
    this.limits = limits;
  }
  handler;
  anomalies;
  budget;
  limits;
  // Two fields rather than an array: one load less on every segment.
  half0 = new HalfStream();
  half1 = new HalfStream();
  /**
   * One TCP segment from `dir`. Its payload is `data[off, off+len)`; `missingTail` more payload
   * bytes were on the wire but not captured (snaplen); `at` is its packet's time and frame. `seq` may
   * be given signed (`seq | 0`: a small integer, passed without allocating) or unsigned. Never throws.
   */
  segment(dir, seq, flags, data, off, len, missingTail, at) {
    const h = dir === 0 ? this.half0 : this.half1;
    const total = len + missingTail;
    if (h.ended) {
      if (total > 0) {
        const rel = seqDiff(seq, h.nextSeq);
        this.anomalies.add(rel + total <= 0 ? "tcp.retransmission" : "tcp.data_after_close");
      }
      return;
    }
    if ((flags & TcpFlag.RST) !== 0) {
      this.endDirection(dir, false, 0);
      return;
    }
    let dataSeq = seq | 0;
    if ((flags & TcpFlag.SYN) !== 0) {
      dataSeq = seqAdd(seq, 1);
      if (!h.started) {
        h.started = true;
        h.nextSeq = dataSeq;
      }
    } else if (!h.started) {
      h.started = true;
      h.nextSeq = dataSeq;
    }
    if (total > 0) this.ingest(h, dir, dataSeq, data, off, len, missingTail, at);
    if ((flags & TcpFlag.FIN) !== 0) this.endDirection(dir, true, seqAdd(dataSeq, total));
  }
  /** Ends both directions (RST, idle, eviction, end of capture): pending holes become gaps. */
  close() {
    this.endDirection(0, false, 0);
    this.endDirection(1, false, 0);
  }
  isEnded(dir) {
    return (dir === 0 ? this.half0 : this.half1).ended;
  }
  /** Bytes currently buffered out of order in `dir` (for tests and stats). */
  buffered(dir) {
    return (dir === 0 ? this.half0 : this.half1).bufferedBytes;
  }
  /** Delivers what is pending (gaps first), then ends `dir`; `endSeq` is the FIN's place. */
  endDirection(dir, hasEnd, endSeq) {
    const h = dir === 0 ? this.half0 : this.half1;
    if (h.ended) return;
    while (h.segs.length > 0) this.skipToFirstBuffered(h, dir);
    if (hasEnd && h.started) {
      const d = seqDiff(endSeq, h.nextSeq);
      if (d > 0) {
        this.gap(dir, d);
        h.nextSeq = endSeq;
      }
    }
    h.ended = true;
    this.handler.onEnd(dir);
  }
  ingest(h, dir, seq, data, off, len, missing, at) {
    const total = len + missing;
    const rel = seqDiff(seq, h.nextSeq);
    if (rel + total <= 0) {
      this.anomalies.add("tcp.retransmission");
      return;
    }
    if (rel > 0) {
      this.bufferOutOfOrder(h, dir, rel, seq, data, off, len, missing, at);
      return;
    }
    let pos = 0;
    if (rel < 0) {
      this.anomalies.add("tcp.overlap");
      pos = -rel;
    }
    while (pos < total) {
      let limit = total - pos;
      if (h.segs.length > 0) {
        const d = seqDiff(h.segs[0].seq, h.nextSeq);
        if (d < limit) limit = d > 0 ? d : 0;
      }
      if (limit > 0) {
        this.emit(dir, data, off, len, pos, pos + limit, at);
        h.nextSeq = seqAdd(h.nextSeq, limit);
        pos += limit;
      }
      if (pos >= total) break;
      this.anomalies.add("tcp.overlap");
      const before = h.nextSeq;
      this.drain(h, dir);
      pos += seqDiff(h.nextSeq, before);
    }
    this.drain(h, dir);
  }
  /** Delivers buffered segments that are now contiguous with nextSeq. */
  drain(h, dir) {
    while (h.segs.length > 0) {
      const s = h.segs[0];
      const d = seqDiff(s.seq, h.nextSeq);
      if (d > 0) return;
      h.segs.shift();
      this.release(h, s.bytes.length);
      const stotal = s.total;
      if (d + stotal > 0) {
        this.emit(dir, s.bytes, 0, s.bytes.length, -d, stotal, s);
        h.nextSeq = seqAdd(h.nextSeq, stotal + d);
      }
    }
  }
  /** Gives up the hole before the first buffered segment: report it as a gap and deliver on. */
  skipToFirstBuffered(h, dir) {
    const s = h.segs[0];
    const d = seqDiff(s.seq, h.nextSeq);
    if (d > 0) {
      this.gap(dir, d);
      h.nextSeq = s.seq;
    }
    this.drain(h, dir);
  }
  bufferOutOfOrder(h, dir, rel, seq, data, off, len, missing, at) {
    if (h.segs.length >= this.limits.maxSegments || h.bufferedBytes + len > this.limits.maxBytesPerDirection || this.budget.used + len > this.budget.max) {
      this.anomalies.add("tcp.reassembly_overflow");
      if (h.segs.length > 0) this.skipToFirstBuffered(h, dir);
      else {
        this.gap(dir, rel);
        h.nextSeq = seq;
      }
      this.ingest(h, dir, seq, data, off, len, missing, at);
      return;
    }
    this.anomalies.add("tcp.out_of_order");
    const segs = h.segs;
    let a = rel;
    const b = rel + len + missing;
    let i = 0;
    let overlapped = false;
    while (i < segs.length && a < b) {
      const s = segs[i];
      const rs = seqDiff(s.seq, h.nextSeq);
      const re = rs + s.total;
      if (re <= a) {
        i++;
        continue;
      }
      if (rs >= b) break;
      if (rs > a) {
        segs.splice(i, 0, this.piece(h, rel, a, rs, data, off, len, at));
        i++;
      }
      overlapped = true;
      if (re > a) a = re;
      i++;
    }
    if (a < b) segs.splice(i, 0, this.piece(h, rel, a, b, data, off, len, at));
    if (overlapped) this.anomalies.add("tcp.overlap");
    while (segs.length > this.limits.maxSegments) {
      this.anomalies.add("tcp.reassembly_overflow");
      this.skipToFirstBuffered(h, dir);
    }
  }
  /** Copies segment range [a, b) (relative to nextSeq; the segment starts at `rel`) into a piece. */
  piece(h, rel, a, b, data, off, len, at) {
    const from = a - rel;
    const to = b - rel;
    const byteEnd = to < len ? to : len;
    const bytes = from < byteEnd ? data.slice(off + from, off + byteEnd) : new Uint8Array(0);
    const missing = to > len ? to - (from > len ? from : len) : 0;
    h.bufferedBytes += bytes.length;
    this.budget.used += bytes.length;
    return new OooSegment(seqAdd(h.nextSeq, a), bytes, missing, at);
  }
  release(h, n) {
    h.bufferedBytes -= n;
    this.budget.used -= n;
  }
  /** Hands segment range [from, to) to the handler: captured bytes as data, the rest as a gap. */
  emit(dir, data, off, len, from, to, at) {
    if (from < len) this.handler.onData(dir, data, off + from, off + (to < len ? to : len), at);
    if (to > len) this.gap(dir, to - (from > len ? from : len));
  }
  gap(dir, bytes) {
    this.anomalies.add("tcp.gap");
    this.handler.onGap(dir, bytes);
  }
};

// src/pipeline/engine-stats.ts
var EngineStats = class {
  /** Frames given to the engine. */
  packets = 0;
  /** Captured bytes of those frames. */
  bytes = 0;
  /** Frames that decoded to TCP or UDP over IP. */
  analysedPackets = 0;
  /** Frames per LINKTYPE_* value. */
  linkTypes = /* @__PURE__ */ new Map();
  /** Flows created (TCP + UDP). */
  flows = 0;
  tcpConnections = 0;
  udpFlows = 0;
  /** Flows open right now (set by the engine when read). */
  activeFlows = 0;
  /** Decoder, flow, reassembly and dissector anomalies of this capture. */
  anomalies;
  constructor(anomalies = new AnomalyCounter()) {
    this.anomalies = anomalies;
  }
};

// src/flow/community-id.ts
var PROTO_ICMP = 1;
var PROTO_ICMP6 = 58;
var ICMP4_PAIRS = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
var ICMP6_PAIRS = {
  128: 129,
  129: 128,
  133: 134,
  134: 133,
  135: 136,
  136: 135,
  130: 131,
  131: 130,
  144: 145,
  145: 144
};
function hasPorts(proto) {
  return proto === 6 || proto === 17 || proto === 132 || proto === PROTO_ICMP || proto === PROTO_ICMP6;
}
function compareEndpoints(a, ap, b, bp, len) {
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return ap === bp ? 0 : ap < bp ? -1 : 1;
}
function communityId(ipVersion, src, dst, protocol, srcPort, dstPort, seed = 0) {
  const alen = ipVersion === 4 ? 4 : 16;
  let sp = srcPort;
  let dp = dstPort;
  let oneWay = false;
  if (protocol === PROTO_ICMP || protocol === PROTO_ICMP6) {
    const pairs = protocol === PROTO_ICMP ? ICMP4_PAIRS : ICMP6_PAIRS;
    const peer = pairs[srcPort];
    if (peer === void 0) oneWay = true;
    else dp = peer;
  }
  let a = src;
  let b = dst;
  if (!oneWay && compareEndpoints(src, sp, dst, dp, alen) > 0) {
    a = dst;
    b = src;
    const t = sp;
    sp = dp;
    dp = t;
  }
  const ports = hasPorts(protocol);
  const buf = Buffer.alloc(2 + 2 * alen + 2 + (ports ? 4 : 0));
  let o = buf.writeUInt16BE(seed & 65535, 0);
  buf.set(a.subarray(0, alen), o);
  o += alen;
  buf.set(b.subarray(0, alen), o);
  o += alen;
  buf[o++] = protocol & 255;
  buf[o++] = 0;
  if (ports) {
    o = buf.writeUInt16BE(sp & 65535, o);
    buf.writeUInt16BE(dp & 65535, o);
  }
  return "1:" + digestOf("sha1", buf, "base64");
}

// src/pipeline/flow-record-builder.ts
var PROTO_TCP2 = 6;
function unknownEvidence() {
  return { app: "unknown", tls: null, http: [], ssh: null };
}
function tunnelOf(flow) {
  if (flow.tunnelType === 0 || flow.outerSrc === null || flow.outerDst === null) return null;
  const type = TUNNEL_NAMES[flow.tunnelType];
  if (type === void 0 || type === "none") return null;
  return {
    type,
    outerSrc: formatIp2(flow.outerSrc, flow.outerIpVersion),
    outerDst: formatIp2(flow.outerDst, flow.outerIpVersion),
    id: flow.tunnelId >= 0 ? flow.tunnelId : null
  };
}
function buildFlowRecord(flow, evidence, endReason, id, captureIndex) {
  if (flow.communityId === null) {
    flow.communityId = communityId(flow.ipVersion, flow.clientAddr, flow.serverAddr, flow.protocol, flow.clientPort, flow.serverPort);
  }
  const tcp = flow.protocol === PROTO_TCP2;
  return {
    app: evidence.app,
    tls: evidence.tls,
    http: evidence.http,
    ssh: evidence.ssh,
    id,
    communityId: flow.communityId,
    transport: tcp ? "tcp" : "udp",
    ipVersion: flow.ipVersion,
    client: { ip: formatIp2(flow.clientAddr, flow.ipVersion), port: flow.clientPort },
    server: { ip: formatIp2(flow.serverAddr, flow.ipVersion), port: flow.serverPort },
    firstTs: flow.firstTs,
    lastTs: flow.lastTs,
    firstFrame: flow.firstFrame,
    lastFrame: flow.lastFrame,
    packets: [flow.packets0, flow.packets1],
    bytes: [flow.bytes0, flow.bytes1],
    payloadBytes: [flow.payload0, flow.payload1],
    missingBytes: [flow.missing0, flow.missing1],
    history: flow.history,
    state: tcp ? tcpConnState(flow.state0, flow.state1, flow.history, flow.payload0, flow.payload1) : udpConnState(flow.packets0, flow.packets1),
    midstream: flow.midstream,
    endReason,
    tunnel: tunnelOf(flow),
    vlan: flow.vlan,
    anomalies: flow.anomalies === null ? {} : flow.anomalies.toJSON(),
    captureIndex,
    natLink: flow.natLink,
    natRepeat: flow.natRepeat
  };
}

// src/pipeline/shard.ts
function shardOfPorts(portA, portB, count) {
  const port = portA > portB ? portA : portB;
  return (Math.imul(port, 2654435761) >>> 0 >>> 16) % count;
}

// src/pipeline/engine.ts
var DEFAULT_IDLE_TIMEOUT = 300;
var DEFAULT_MAX_FLOWS = 2e5;
var PROTO_TCP3 = 6;
var PROTO_UDP = 17;
var SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;
var Engine = class {
  stats;
  decoder;
  pkt = new DecodedPacket();
  /** Time and frame number of the packet being analysed (see PacketStamp: nothing boxed per packet). */
  now = new MutableStamp();
  duplicates;
  natLinker = new NatLinker();
  table;
  budget = new ByteBudget(MAX_OOO_BYTES_GLOBAL);
  onFlowEnd;
  sessionFactory;
  idPrefix;
  captureIndex;
  lastLinkType = -1;
  lastLinkCount = 0;
  /** Shards analysing this capture (1: this engine analyses every connection), and this one's index. */
  shardCount;
  shardIndex;
  constructor(opts) {
    this.stats = new EngineStats(opts.anomalies ?? new AnomalyCounter());
    this.shardCount = opts.shard?.count ?? 1;
    this.shardIndex = opts.shard?.index ?? 0;
    this.decoder = new PacketDecoder(this.shardIndex === 0 ? this.stats.anomalies : new AnomalyCounter());
    this.table = new FlowTable(
      { idleTimeout: opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT, maxFlows: Math.max(1, opts.maxFlows ?? DEFAULT_MAX_FLOWS) },
      this,
      this.stats.anomalies
    );
    this.onFlowEnd = opts.onFlowEnd;
    this.sessionFactory = opts.sessionFactory ?? null;
    this.idPrefix = opts.flowIdPrefix ?? "";
    this.captureIndex = opts.captureIndex ?? 0;
    this.duplicates = opts.keepDuplicates === true ? null : new DuplicateFilter(this.pkt);
  }
  /** Analyses one frame; `frame` and its bytes are not kept beyond the call. */
  processFrame(frame) {
    const stats = this.stats;
    stats.packets++;
    stats.bytes += frame.end - frame.start;
    if (frame.linkType === this.lastLinkType) this.lastLinkCount++;
    else this.switchLinkType(frame.linkType);
    const now = this.now.set(frame.ts, frame.number);
    const pkt = this.pkt;
    const st = this.decoder.decodeBytes(frame.buf, frame.start, frame.end, frame.linkType, now, pkt, frame.origLen);
    if (st !== DecodeStatus.OK) return;
    const proto = pkt.protocol;
    if (proto !== PROTO_TCP3 && proto !== PROTO_UDP) return;
    if (this.shardCount > 1 && shardOfPorts(pkt.srcPort, pkt.dstPort, this.shardCount) !== this.shardIndex) {
      this.table.tick(now);
      return;
    }
    if (this.duplicates !== null && this.duplicates.isDuplicate(now)) {
      stats.anomalies.add("packet.duplicate");
      return;
    }
    stats.analysedPackets++;
    const table2 = this.table;
    const flow = table2.process(pkt, now);
    if (table2.isNew) {
      this.startFlow(flow);
      if (flow.midstream && flow.clientIsn >= 0) this.natLinker.handshake(flow);
    }
    if (flow.closed) {
      if (proto === PROTO_TCP3 && pkt.payloadLength + pkt.truncatedBytes > 0) stats.anomalies.add("tcp.data_after_close");
      return;
    }
    if (proto !== PROTO_TCP3) return;
    if ((pkt.tcpFlags & SYN_ACK) === SYN_ACK && table2.dir === 1) this.natLinker.handshake(flow);
    flow.reassembler.segment(
      table2.dir,
      pkt.seq | 0,
      pkt.tcpFlags,
      pkt.data,
      pkt.payloadOffset,
      pkt.payloadLength,
      pkt.truncatedBytes,
      now
    );
    if (flow.state0 === EndpointState.RESET || flow.state1 === EndpointState.RESET) this.endFlow(flow, "rst");
    else if (flow.state0 === EndpointState.CLOSED && flow.state1 === EndpointState.CLOSED) this.endFlow(flow, "fin");
  }
  /** End of input: every open flow ends with 'eof' (pending gaps and ends delivered first). */
  finish() {
    this.decoder.flush();
    for (const f of this.table.openFlows()) {
      this.finalize(f, "eof");
      this.table.remove(f);
    }
    this.flushLinkType();
  }
  /** Ends flows idle at capture time `now` without waiting for a packet (live mode's clock). */
  expireIdle(now) {
    this.table.sweep(now);
  }
  /** Records of the flows open now (endReason 'active'), for live views. */
  snapshot() {
    const out = [];
    for (const f of this.table.openFlows()) {
      out.push(buildFlowRecord(f, this.describe(f), "active", this.idOf(f), this.captureIndex));
    }
    return out;
  }
  /** Counters so far (link types and active flows brought up to date). */
  getStats() {
    this.flushLinkType();
    this.stats.activeFlows = this.table.activeFlows;
    return this.stats;
  }
  /** FlowExpiry: the table ends a flow for idleness or to make room. */
  expire(flow, reason) {
    this.finalize(flow, reason);
  }
  startFlow(flow) {
    const stats = this.stats;
    stats.flows++;
    if (flow.protocol !== PROTO_TCP3) {
      stats.udpFlows++;
      return;
    }
    stats.tcpConnections++;
    flow.reassembler = new TcpReassembler(flow, flow, this.budget);
    if (this.sessionFactory === null) return;
    const meta = {
      client: { ip: formatIp2(flow.clientAddr, flow.ipVersion), port: flow.clientPort },
      server: { ip: formatIp2(flow.serverAddr, flow.ipVersion), port: flow.serverPort },
      transport: "tcp"
    };
    try {
      const s = this.sessionFactory(meta);
      flow.session = s;
      flow.describer = s;
    } catch {
      flow.add("dissector.exception");
    }
  }
  /** FIN both ways or RST: report at once; the flow lingers closed for trailing packets. */
  endFlow(flow, reason) {
    this.finalize(flow, reason);
    this.table.markClosed(flow);
  }
  finalize(flow, reason) {
    if (flow.reassembler !== null) flow.reassembler.close();
    const evidence = this.describe(flow);
    this.collectSessionAnomalies(flow);
    const rec = buildFlowRecord(flow, evidence, reason, this.idOf(flow), this.captureIndex);
    flow.reassembler = null;
    flow.session = null;
    flow.describer = null;
    this.onFlowEnd(rec);
  }
  /**
   * `${flowIdPrefix}${n}`: n counts the flows from 1, and with shards interleaves them (shard i of k
   * numbers its j-th flow (j-1)·k+i+1), so ids stay unique and short.
   */
  idOf(flow) {
    const n = this.shardCount === 1 ? flow.n : (flow.n - 1) * this.shardCount + this.shardIndex + 1;
    return `${this.idPrefix}${n}`;
  }
  /** The dissectors count their anomalies in the session: they belong to the flow and the capture. */
  collectSessionAnomalies(flow) {
    const counted = flow.session?.anomalies;
    if (!counted) return;
    for (const [code, n] of Object.entries(counted.toJSON())) {
      flow.add(code, n);
      this.stats.anomalies.add(code, n);
    }
  }
  describe(flow) {
    const d = flow.describer;
    if (d === null) return unknownEvidence();
    try {
      return d.describe();
    } catch {
      flow.add("dissector.exception");
      flow.session = null;
      flow.describer = null;
      return unknownEvidence();
    }
  }
  switchLinkType(linkType) {
    this.flushLinkType();
    this.lastLinkType = linkType;
    this.lastLinkCount = 1;
  }
  flushLinkType() {
    if (this.lastLinkCount === 0) return;
    const m = this.stats.linkTypes;
    m.set(this.lastLinkType, (m.get(this.lastLinkType) ?? 0) + this.lastLinkCount);
    this.lastLinkCount = 0;
  }
};

// src/pipeline/analyze-file.ts
async function analyzeCapture(file2, opts) {
  const anomalies = opts.anomalies ?? new AnomalyCounter();
  const engine = new Engine({ ...opts, anomalies });
  const keyLog = opts.keyLog;
  let lateSecrets = false;
  const info2 = await readCapture(file2, (frame) => engine.processFrame(frame), {
    // With shards every one reads the whole file: what the reader counts is shard 0's.
    anomalies: (opts.shard?.index ?? 0) === 0 ? anomalies : new AnomalyCounter(),
    onProgress: opts.onProgress ? (n) => opts.onProgress(n, engine.stats.packets) : void 0,
    input: opts.input,
    signal: opts.signal,
    hash: opts.hash,
    onSecrets: keyLog ? (secret) => {
      if (secret.type !== SECRETS_TLS_KEY_LOG) return;
      const late = keyLog.lateSecrets;
      keyLog.addBytes(secret.data);
      if (keyLog.lateSecrets > late) lateSecrets = true;
    } : void 0
  });
  engine.finish();
  return { info: info2, stats: engine.getStats(), lateSecrets };
}

// bench/measure.ts
function nowSeconds() {
  return Number(process.hrtime.bigint()) / 1e9;
}

// bench/in-process-stages.ts
var IN_PROCESS_LABELS = {
  walk: "raw record walk (ceiling)",
  reader: "reader (frames delivered)",
  engine: "decode+flows+reassembly",
  dissect: "+ dissectors"
};
var FrameCounter = class {
  frames = 0;
  bytes = 0;
  sink = (f) => {
    this.frames++;
    this.bytes += f.end - f.start;
  };
};
var FlowCounter = class {
  flows = 0;
  sink = (_rec) => {
    this.flows++;
  };
};
async function runInProcess(stage2, file2) {
  const fileBytes = statSync2(file2).size;
  const cpu0 = process.cpuUsage();
  const t0 = nowSeconds();
  let packets = 0;
  let note = null;
  switch (stage2) {
    case "walk": {
      const r = await walkRecords(file2);
      if (r.error !== null) throw new Error(`${file2}: ${r.error}`);
      packets = r.packets;
      break;
    }
    case "reader": {
      const c = new FrameCounter();
      const info2 = await readCapture(file2, c.sink);
      if (info2.error !== null) throw new Error(info2.error.message);
      packets = c.frames;
      note = "reader: includes the SHA-256 of the file (on a worker thread for files \u2265 32 MB)";
      break;
    }
    case "engine":
    case "dissect": {
      const c = new FlowCounter();
      const r = await analyzeCapture(file2, {
        onFlowEnd: c.sink,
        sessionFactory: stage2 === "dissect" ? defaultSessionFactory : void 0
      });
      if (r.info.error !== null) throw new Error(r.info.error.message);
      packets = r.stats.packets;
      note = `${IN_PROCESS_LABELS[stage2]}: ${c.flows} flows ended`;
      break;
    }
  }
  const seconds = nowSeconds() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { packets, bytes: fileBytes, seconds, cpuSeconds, peakRss: null, note };
}

// .planewatch/prof.ts
var stage = process.argv[2] ?? "engine";
var size = process.argv[3] ?? "200MB";
var reps = Number(process.argv[4] ?? 1);
var file = await ensureCapture(size, console.log);
for (let i = 0; i < reps; i++) {
  const r = await runInProcess(stage, file);
  console.log(stage, r.packets, (r.packets / r.seconds / 1e6).toFixed(3), "Mpps", r.seconds.toFixed(2), "s cpu", r.cpuSeconds.toFixed(2));
}

/** Small hand-encoded application payloads: gRPC messages (protobuf) and DNS. */

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(no: number, value: Buffer | number): Buffer {
  if (typeof value === 'number') return Buffer.from([...varint(no << 3), ...varint(value)]);
  return Buffer.concat([Buffer.from([...varint((no << 3) | 2), ...varint(value.length)]), value]);
}

/** gRPC length-prefixed message (uncompressed). */
export function grpcFrame(msg: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(msg.length, 1);
  return Buffer.concat([h, msg]);
}

/** etcdserverpb.RangeRequest{key}. */
export function rangeRequest(key: string): Buffer {
  return field(1, Buffer.from(key));
}

/** etcdserverpb.RangeResponse{header{cluster_id, member_id, revision, raft_term}, kvs[{key, create_revision, mod_revision, version, value}], count}. */
export function rangeResponse(key: string, value: string): Buffer {
  const header = Buffer.concat([field(1, 0x4e3a8c32), field(2, 0x64f3269), field(3, 1204), field(4, 3)]);
  const kv = Buffer.concat([field(1, Buffer.from(key)), field(2, 1100), field(3, 1204), field(4, 2), field(5, Buffer.from(value, 'latin1'))]);
  return Buffer.concat([field(1, header), field(2, kv), field(4, 1)]);
}

/** konnectivity client.Packet{type=DIAL_REQ/DIAL_RSP, dialRequest{protocol, address, random}}. */
export function konnectivityDial(type: 1 | 2): Buffer {
  const inner = type === 1
    ? Buffer.concat([field(1, Buffer.from('tcp')), field(2, Buffer.from('10.0.0.21:10250')), field(3, 7211)])
    : Buffer.concat([field(2, 7211), field(3, 1)]);
  return Buffer.concat([field(1, type), field(type === 1 ? 2 : 3, inner)]);
}

function dnsName(name: string): Buffer {
  const parts = name.split('.').map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.of(0)]);
}

/** A recursive query for an A record (RFC 1035 §4.1). */
export function dnsQuery(id: number, name: string): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  return Buffer.concat([h, dnsName(name), Buffer.from([0, 1, 0, 1])]);
}

export function dnsResponse(id: number, name: string, ip: string): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x8180, 2); // QR, RD, RA
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(1, 6);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // pointer to the question name
  answer.writeUInt16BE(1, 2);
  answer.writeUInt16BE(1, 4);
  answer.writeUInt32BE(30, 6);
  answer.writeUInt16BE(4, 10);
  Buffer.from(ip.split('.').map(Number)).copy(answer, 12);
  return Buffer.concat([h, dnsName(name), Buffer.from([0, 1, 0, 1]), answer]);
}

/** An HTTP/2 frame as bytes (RFC 9113 §4.1): 24-bit length, type, flags, 31-bit stream id, payload. */
export function h2Frame(type: number, flags: number, stream: number, payload: Uint8Array | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, p]);
}

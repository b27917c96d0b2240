/** Byte builders for SSH transport messages (RFC 4253), used by the SSH and registry tests. */

export function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Wraps a payload in an unencrypted binary packet: length, padding length, payload, padding. */
export function sshPacket(payload: Uint8Array): Uint8Array {
  let pad = 4;
  while ((5 + payload.length + pad) % 8 !== 0) pad++;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length + pad);
  head[4] = pad;
  return new Uint8Array(Buffer.concat([head, payload, Buffer.alloc(pad)]));
}

/** A KEXINIT payload from the ten name-lists (kex, hostkey, enc c→s, enc s→c, mac…, comp…, lang…). */
export function kexInitPayload(lists: string[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([20]), Buffer.alloc(16, 0x11)];
  for (const l of lists) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(Buffer.byteLength(l, 'latin1'));
    parts.push(len, Buffer.from(l, 'latin1'));
  }
  parts.push(Buffer.alloc(5));
  return new Uint8Array(Buffer.concat(parts));
}

/** SSH_MSG_NEWKEYS in a 16-byte packet: 00 00 00 0c | 0a | 15 | 10 bytes of padding. */
export const NEWKEYS = hex('0000000c0a15 00000000000000000000');

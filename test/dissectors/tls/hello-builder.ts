/** Builds TLS records for byte fixtures: a record header around a handshake message. */

export interface Ext {
  type: number;
  data?: number[];
}

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

export function record(type: number, body: number[], version = 0x0301): Uint8Array {
  return Uint8Array.from([type, ...u16(version), ...u16(body.length), ...body]);
}

export function handshake(type: number, body: number[]): number[] {
  return [type, ...u24(body.length), ...body];
}

export function extensions(exts: Ext[]): number[] {
  const out: number[] = [];
  for (const e of exts) out.push(...u16(e.type), ...u16(e.data?.length ?? 0), ...(e.data ?? []));
  return [...u16(out.length), ...out];
}

export function u16List(values: number[], lenBytes = 2): number[] {
  const body = values.flatMap(u16);
  return lenBytes === 1 ? [body.length, ...body] : [...u16(body.length), ...body];
}

export function sniExt(name: string): Ext {
  const n = [...Buffer.from(name, 'latin1')];
  return { type: 0, data: [...u16(n.length + 3), 0, ...u16(n.length), ...n] };
}

export function alpnExt(protos: string[]): Ext {
  const list = protos.flatMap((p) => [p.length, ...Buffer.from(p, 'latin1')]);
  return { type: 0x10, data: [...u16(list.length), ...list] };
}

export function clientHelloBody(version: number, ciphers: number[], exts: Ext[] | null, sessionId: number[] = []): number[] {
  const random = Array<number>(32).fill(0x11);
  return [
    ...u16(version),
    ...random,
    sessionId.length,
    ...sessionId,
    ...u16List(ciphers),
    1,
    0, // compression: null
    ...(exts === null ? [] : extensions(exts)),
  ];
}

export function clientHelloRecord(version: number, ciphers: number[], exts: Ext[] | null): Uint8Array {
  return record(22, handshake(1, clientHelloBody(version, ciphers, exts)));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex'));
}

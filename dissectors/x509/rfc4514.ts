/**
 * X.501 Name (forge ASN.1 tree) → RFC 4514 string: RDNs most specific first, multi-valued RDNs
 * joined by '+', values escaped per RFC 4514 §2.4, unknown attribute types as dotted OIDs with
 * '#'-hex values. Certificate subjects are attacker-controlled, so control characters are escaped
 * as \HH too (RFC 4514 permits escaping any character).
 */
import forge from 'node-forge';

const asn1 = forge.asn1;

/** RFC 4514 §3 short names plus the few that RFC 4519 adds and certificates use. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'SERIALNUMBER',
};

export const OID_CN = '2.5.4.3';
export const OID_O = '2.5.4.10';

export interface NameAttribute {
  oid: string;
  value: string;
}

export interface ParsedName {
  rfc4514: string;
  /** Attributes in DER order (least specific first). */
  attributes: NameAttribute[];
}

/** ASN.1 string value → JS string, by its universal type. */
export function decodeAsn1String(type: number, v: string): string {
  switch (type) {
    case asn1.Type.UTF8:
      return Buffer.from(v, 'latin1').toString('utf8');
    case asn1.Type.BMPSTRING: {
      let s = '';
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode((v.charCodeAt(i) << 8) | v.charCodeAt(i + 1));
      return s;
    }
    case 28: {
      // UniversalString: UCS-4 big endian
      let s = '';
      for (let i = 0; i + 3 < v.length; i += 4) {
        const cp = ((v.charCodeAt(i) << 24) | (v.charCodeAt(i + 1) << 16) | (v.charCodeAt(i + 2) << 8) | v.charCodeAt(i + 3)) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      // PrintableString, IA5String, TeletexString, VisibleString: one byte per character.
      return v;
  }
}

const STRING_TYPES = new Set<number>([12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30]);

export function escapeRfc4514(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) out += '\\' + c.toString(16).padStart(2, '0');
    else if (ch === '"' || ch === '+' || ch === ',' || ch === ';' || ch === '<' || ch === '>' || ch === '\\') out += '\\' + ch;
    else if ((i === 0 && (ch === ' ' || ch === '#')) || (i === value.length - 1 && ch === ' ')) out += '\\' + ch;
    else out += ch;
  }
  return out;
}

/** Parses a Name (SEQUENCE OF SET OF AttributeTypeAndValue). Throws on a malformed tree (caller catches). */
export function parseName(name: forge.asn1.Asn1): ParsedName {
  const rdns = name.value as forge.asn1.Asn1[];
  const attributes: NameAttribute[] = [];
  const parts: string[] = [];
  for (const rdn of rdns) {
    const atvs = rdn.value as forge.asn1.Asn1[];
    const rendered: string[] = [];
    for (const atv of atvs) {
      const seq = atv.value as forge.asn1.Asn1[];
      const oid = asn1.derToOid(seq[0].value as string);
      const val = seq[1];
      const short = SHORT_NAMES[oid];
      let text: string;
      let display: string;
      if (short !== undefined && STRING_TYPES.has(val.type) && typeof val.value === 'string') {
        text = decodeAsn1String(val.type, val.value);
        display = escapeRfc4514(text);
      } else {
        // §2.4: types without a short name (and non-string values) are written as '#' + hex of the DER.
        const der = asn1.toDer(val).getBytes();
        display = '#' + forge.util.bytesToHex(der);
        text = typeof val.value === 'string' && STRING_TYPES.has(val.type) ? decodeAsn1String(val.type, val.value) : display;
      }
      attributes.push({ oid, value: text });
      rendered.push(`${short ?? oid}=${display}`);
    }
    parts.push(rendered.join('+'));
  }
  return { rfc4514: parts.reverse().join(','), attributes };
}

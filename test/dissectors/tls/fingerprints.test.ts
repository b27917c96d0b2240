import { describe, expect, it } from 'vitest';
import { TlsDissector } from '../../../dissectors/tls/tls-dissector';
import { parseClientHello } from '../../../dissectors/tls/hello-parser';
import { alpnCode, ja4 } from '../../../dissectors/tls/ja4';
import { md5Hex } from '../../../dissectors/tls/ja3';
import { alpnExt, clientHelloRecord, fromHex, sniExt, u16List, type Ext } from './hello-builder';
import { stampOf } from '../../../src/flow/packet-stamp';

function dissect(bytes: Uint8Array) {
  const anomalies: string[] = [];
  const d = new TlsDissector((c) => anomalies.push(c));
  d.feed(0, bytes, 0, bytes.length, stampOf(1, 1));
  return { info: d.result(), anomalies };
}

describe('JA3 (salesforce/ja3 README vector)', () => {
  // The README's first example as a real ClientHello (TLS 1.0, 12 ciphers, SNI/groups/point formats):
  // 16 0301 005b                    record: handshake, TLS 1.0, 91 bytes
  // 01 000057                       ClientHello, 87 bytes
  // 0301 11×32 00                   legacy_version 769, random, empty session id
  // 0018 002f 0035 0005 000a c009 c00a c013 c014 0032 0038 0013 0004   12 cipher suites
  // 01 00                           compression: null
  // 0016                            extensions, 22 bytes:
  //   0000 0000                     server_name (empty)
  //   000a 0008 0006 0017 0018 0019 supported_groups 23, 24, 25
  //   000b 0002 01 00               ec_point_formats: uncompressed
  const hello = fromHex(`
    160301005b0100005703011111111111 11111111111111111111111111111111
    1111111111111111111111000018002f 00350005000ac009c00ac013c0140032
    0038001300040100001600000000000a 00080006001700180019000b00020100`);

  it('gives the published string and hash', () => {
    const { info, anomalies } = dissect(hello);
    expect(anomalies).toEqual([]);
    expect(info.ja3Full).toBe('769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0');
    expect(info.ja3).toBe('ada70206e40642a3e4461f35503241d5');
    expect(info.clientVersion).toBe('1.0');
    expect(info.clientCiphers).toHaveLength(12);
  });

  it('keeps empty fields when there are no extensions (README second example)', () => {
    const { info } = dissect(clientHelloRecord(0x0301, [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99], null));
    expect(info.ja3Full).toBe('769,4-5-10-9-100-98-3-6-19-18-99,,,');
    expect(info.ja3).toBe('de350869b8c85de67a350c8d186f11e6');
  });
});

// FoxIO JA4 technical details example (JA4_ro lists in wire order), with GREASE added in every
// list that may carry it: GREASE must not change the fingerprint.
const FOXIO_CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
const FOXIO_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
function foxioHello(grease: boolean): Uint8Array {
  const g = (v: number[]): number[] => (grease ? [0x2a2a, ...v] : v);
  const byType: Record<number, Ext> = {
    0x0000: sniExt('example.com'),
    0x0010: alpnExt(['h2', 'http/1.1']),
    0x000a: { type: 0x000a, data: u16List(g([0x001d, 0x0017, 0x0018])) },
    0x000b: { type: 0x000b, data: [1, 0] },
    0x000d: { type: 0x000d, data: u16List(FOXIO_SIGALGS) },
    0x002b: { type: 0x002b, data: u16List(g([0x0304, 0x0303]), 1) },
  };
  const order = [0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015];
  const exts = order.map((t) => byType[t] ?? { type: t });
  if (grease) exts.unshift({ type: 0x5a5a }), exts.push({ type: 0xfafa, data: [0] });
  return clientHelloRecord(0x0303, g(FOXIO_CIPHERS), exts);
}

describe('JA4 (FoxIO technical_details/JA4.md example)', () => {
  it('gives t13d1516h2_8daaf6152771_e5627efa2ab1', () => {
    expect(dissect(foxioHello(false)).info.ja4).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
  });

  it('ignores GREASE in ciphers, extensions, groups and versions', () => {
    const { info } = dissect(foxioHello(true));
    expect(info.ja4).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
    expect(info.clientVersion).toBe('1.3');
    expect(info.sni).toBe('example.com');
    expect(info.alpn).toEqual(['h2', 'http/1.1']);
  });

  it('hashes the published raw strings to the published parts', () => {
    const ch = parseClientHello(foxioHello(false), 9, foxioHello(false).length)!;
    expect(ja4(ch).raw).toBe(
      't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_' +
        '0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
    );
  });

  it('follows the ALPN rules (00, single character, non-alphanumeric hex)', () => {
    expect(alpnCode([])).toBe('00');
    expect(alpnCode([''])).toBe('00');
    expect(alpnCode(['h'])).toBe('hh');
    expect(alpnCode(['http/1.1'])).toBe('h1');
    expect(alpnCode(['\xab'])).toBe('ab');
    expect(alpnCode(['\xab\xcd'])).toBe('ad');
    expect(alpnCode(['0\xab'])).toBe('3b');
    expect(alpnCode(['01\xab\xcd'])).toBe('3d');
    expect(alpnCode(['0\xab\xcd1'])).toBe('01');
  });

  it('is i (no SNI), 00 ALPN and all-zero hashes for an empty hello', () => {
    const { info } = dissect(clientHelloRecord(0x0303, [], null));
    expect(info.ja4).toBe('t12i000000_000000000000_000000000000');
  });
});

describe('JA3 + JA4 of one published Chrome hello (browserleaks output)', () => {
  // Published together: ja3_text / ja3_hash and ja4 / ja4_ro for the same ClientHello.
  const ciphers = [4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47, 53];
  const order = [45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27];
  const data: Record<number, Ext> = {
    0: sniExt('tls-outer.browserleaks.com'),
    16: alpnExt(['h2', 'http/1.1']),
    10: { type: 10, data: u16List([0x3a3a, 4588, 29, 23, 24]) },
    11: { type: 11, data: [1, 0] },
    13: { type: 13, data: u16List(FOXIO_SIGALGS) },
    43: { type: 43, data: u16List([0x3a3a, 0x0304, 0x0303], 1) },
    65037: { type: 65037, data: [0, 0, 1, 0, 1] },
  };
  const hello = clientHelloRecord(0x0303, [0x8a8a, ...ciphers], [{ type: 0x9a9a }, ...order.map((t) => data[t] ?? { type: t }), { type: 0xdada, data: [0] }]);

  it('matches both published fingerprints', () => {
    const { info } = dissect(hello);
    expect(info.ja3Full).toBe(
      '771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0',
    );
    expect(info.ja3).toBe('98487aa16281980e7d1120d399efb6a4');
    expect(info.ja4).toBe('t13d1516h2_8daaf6152771_d8a2da3f94cd');
    expect(info.ech).toBe(true);
  });

  it('md5 of the string is the published hash', () => {
    expect(md5Hex('769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0')).toBe('ada70206e40642a3e4461f35503241d5');
  });
});

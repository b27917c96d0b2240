import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackStatus, type HeaderSink } from '../../../dissectors/http2/hpack';
import { HUFFMAN_CODES, huffmanCodeLength, huffmanDecode } from '../../../dissectors/http2/hpack-huffman';
import { hex } from '../http/helpers';

class Collect implements HeaderSink {
  fields: Array<[string, string]> = [];
  onHeader(name: string, value: string): void {
    this.fields.push([name, value]);
  }
}

function decode(dec: HpackDecoder, block: string): Array<[string, string]> {
  const sink = new Collect();
  const b = hex(block);
  expect(dec.decode(b, 0, b.length, sink)).toBe(HpackStatus.OK);
  return sink.fields;
}

const REQ1: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: Array<[string, string]> = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESP1: Array<[string, string]> = [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOC]];
const RESP2: Array<[string, string]> = [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOC]];
const RESP3: Array<[string, string]> = [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOC], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]];

describe('HPACK Huffman code', () => {
  it('derives the Appendix B codes from the code lengths', () => {
    expect(HUFFMAN_CODES[0]).toBe(0x1ff8);
    expect(HUFFMAN_CODES[48]).toBe(0x0); // '0'
    expect(HUFFMAN_CODES[32]).toBe(0x14); // ' '
    expect(HUFFMAN_CODES[97]).toBe(0x3); // 'a'
    expect(HUFFMAN_CODES[255]).toBe(0x3ffffee);
    expect(HUFFMAN_CODES[256]).toBe(0x3fffffff); // EOS
    expect(huffmanCodeLength(256)).toBe(30);
  });

  it('rejects EOS in the data and padding that is too long or not all ones', () => {
    const out = new Uint8Array(16);
    expect(huffmanDecode(hex('ffffffff'), 0, 4, out)).toBe(-1); // 30 ones = EOS
    expect(huffmanDecode(hex('ff'), 0, 1, out)).toBe(-1); // 8 bits of padding
    expect(huffmanDecode(hex('00'), 0, 1, out)).toBe(-1); // '0' (00000) then padding 000
    expect(huffmanDecode(hex('07'), 0, 1, out)).toBe(1); // '0' then padding 111
  });
});

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder();
    expect(decode(d, '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')).toEqual([['custom-key', 'custom-header']]);
    expect(d.dynamicEntries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.size).toBe(55);
  });

  it('C.2.2 literal without indexing, C.2.3 never indexed, C.2.4 indexed', () => {
    const d = new HpackDecoder();
    expect(decode(d, '040c 2f73 616d 706c 652f 7061 7468')).toEqual([[':path', '/sample/path']]);
    expect(decode(d, '1008 7061 7373 776f 7264 0673 6563 7265 74')).toEqual([['password', 'secret']]);
    expect(decode(d, '82')).toEqual([[':method', 'GET']]);
    expect(d.dynamicEntries()).toEqual([]);
    expect(d.size).toBe(0);
  });

  const requests = (blocks: string[]) => {
    const d = new HpackDecoder();
    expect(decode(d, blocks[0]!)).toEqual(REQ1);
    expect(d.dynamicEntries()).toEqual([[':authority', 'www.example.com']]);
    expect(d.size).toBe(57);
    expect(decode(d, blocks[1]!)).toEqual(REQ2);
    expect(d.dynamicEntries()).toEqual([['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    expect(d.size).toBe(110);
    expect(decode(d, blocks[2]!)).toEqual(REQ3);
    expect(d.dynamicEntries()).toEqual([['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
    expect(d.size).toBe(164);
  };

  it('C.3 requests without Huffman coding', () => {
    requests([
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ]);
  });

  it('C.4 requests with Huffman coding', () => {
    requests([
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ]);
  });

  const responses = (blocks: string[]) => {
    const d = new HpackDecoder();
    d.maxSize = 256; // the examples run with SETTINGS_HEADER_TABLE_SIZE 256
    expect(decode(d, blocks[0]!)).toEqual(RESP1);
    expect(d.dynamicEntries()).toEqual([['location', LOC], ['date', DATE1], ['cache-control', 'private'], [':status', '302']]);
    expect(d.size).toBe(222);
    expect(decode(d, blocks[1]!)).toEqual(RESP2);
    expect(d.dynamicEntries()).toEqual([[':status', '307'], ['location', LOC], ['date', DATE1], ['cache-control', 'private']]);
    expect(d.size).toBe(222);
    expect(decode(d, blocks[2]!)).toEqual(RESP3);
    expect(d.dynamicEntries()).toEqual([['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]]);
    expect(d.size).toBe(215);
  };

  it('C.5 responses without Huffman coding (eviction)', () => {
    responses([
      '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '4803 3330 37c1 c0bf',
      '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
    ]);
  });

  it('C.6 responses with Huffman coding (eviction)', () => {
    responses([
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
      '4883 640e ffc1 c0bf',
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    ]);
  });
});

describe('HPACK decoder: errors and limits', () => {
  it('fails on index 0, an index past the table, truncation, and a size update above the limit; then stays failed', () => {
    for (const block of ['80', 'be', '400a 6375', '3fe2 1f', '7f80 8080 8080 80']) {
      const d = new HpackDecoder();
      const b = hex(block);
      expect(d.decode(b, 0, b.length, null)).toBe(HpackStatus.ERROR);
      expect(d.failed).toBe(true);
      expect(d.decode(hex('82'), 0, 1, null)).toBe(HpackStatus.ERROR);
    }
  });

  it('applies a dynamic table size update and evicts', () => {
    const d = new HpackDecoder();
    decode(d, '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
    expect(d.size).toBe(57);
    expect(decode(d, '20 82')).toEqual([[':method', 'GET']]); // size update to 0
    expect(d.dynamicEntries()).toEqual([]);
    expect(d.maxSize).toBe(0);
  });
});

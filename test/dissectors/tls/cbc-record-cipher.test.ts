import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CbcRecordCipher } from '../../../dissectors/tls/decrypt/cbc-record-cipher';
import { CBC_SUITES, type CbcSuite } from '../../../dissectors/tls/decrypt/cbc-suites';

/**
 * Every CBC suite, both MAC orders, on records sealed here as RFC 5246 §6.2.3.2 and RFC 7366 §3
 * describe (the real-connection tests in decrypt.test.ts check AES suites against OpenSSL).
 */
function seal(suite: CbcSuite, key: Buffer, macKey: Buffer, etm: boolean, seq: number, plain: Buffer, extraPad = 0): Buffer {
  const bl = suite.blockLength;
  const macOf = (len: number, data: Buffer) => {
    const h = Buffer.alloc(13);
    h.writeUInt32BE(0, 0);
    h.writeUInt32BE(seq, 4);
    h[8] = 23;
    h[9] = 3;
    h[10] = 3;
    h.writeUInt16BE(len, 11);
    return createHmac(suite.mac, macKey).update(h).update(data).digest();
  };
  const pad = (n: number) => {
    const padLen = (bl - ((n + 1) % bl)) % bl + extraPad * bl;
    return Buffer.alloc(padLen + 1, padLen);
  };
  const iv = randomBytes(bl);
  const enc = (data: Buffer) => {
    const c = createCipheriv(suite.cipher, key, iv);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(data), c.final()]);
  };
  let body: Buffer;
  if (etm) {
    const ct = Buffer.concat([iv, enc(Buffer.concat([plain, pad(plain.length)]))]);
    body = Buffer.concat([ct, macOf(ct.length, ct)]);
  } else {
    const inner = Buffer.concat([plain, macOf(plain.length, plain)]);
    body = Buffer.concat([iv, enc(Buffer.concat([inner, pad(inner.length)]))]);
  }
  const rec = Buffer.alloc(5 + body.length);
  rec[0] = 23;
  rec[1] = 3;
  rec[2] = 3;
  rec.writeUInt16BE(body.length, 3);
  body.copy(rec, 5);
  return rec;
}

describe.each(CBC_SUITES.map((s) => ({ ...s, hex: s.id.toString(16) })))('CBC suite 0x$hex ($cipher, HMAC-$mac)', (suite) => {
  for (const etm of [false, true]) {
    it(`opens records in sequence, ${etm ? 'encrypt-then-MAC' : 'MAC-then-encrypt'}, and refuses a wrong MAC or padding`, () => {
      const key = randomBytes(suite.keyLength);
      const macKey = randomBytes(suite.macLength);
      const c = new CbcRecordCipher(suite, key, macKey, etm);
      const texts = ['GET /pods HTTP/1.1\r\n\r\n', '', 'x'.repeat(1000)].map((t) => Buffer.from(t));
      texts.forEach((t, seq) => {
        const rec = seal(suite, key, macKey, etm, seq, t, seq === 2 ? 3 : 0);
        expect(Buffer.from(c.open(rec, rec.length - 5)!).toString()).toBe(t.toString());
      });
      // Out of sequence (the MAC covers the sequence number), a flipped bit, a wrong key: refused.
      const late = seal(suite, key, macKey, etm, 9, texts[0]!);
      expect(c.open(late, late.length - 5)).toBeNull();
      const d = new CbcRecordCipher(suite, key, macKey, etm);
      const flipped = seal(suite, key, macKey, etm, 0, texts[0]!);
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
      expect(d.open(flipped, flipped.length - 5)).toBeNull();
      // Wrong keys, as a wrong master secret gives: the MAC fails whatever the padding decrypts to.
      const wrong = new CbcRecordCipher(suite, randomBytes(suite.keyLength), randomBytes(suite.macLength), etm);
      const ok = seal(suite, key, macKey, etm, 0, texts[2]!);
      expect(wrong.open(ok, ok.length - 5)).toBeNull();
      // Too short to hold an IV and a block.
      expect(new CbcRecordCipher(suite, key, macKey, etm).open(ok.subarray(0, 5 + suite.blockLength), suite.blockLength)).toBeNull();
    });
  }
});

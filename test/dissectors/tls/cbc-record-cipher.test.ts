import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CbcRecordCipher } from '../../../dissectors/tls/decrypt/cbc-record-cipher';
import { NullRecordCipher } from '../../../dissectors/tls/decrypt/null-record-cipher';
import { MAC_SUITES, type MacSuite } from '../../../dissectors/tls/decrypt/mac-suites';

/**
 * Every CBC suite, both MAC orders, with the IV sent in each record (TLS 1.1, 1.2) and chained from
 * record to record (TLS 1.0), and every NULL suite, on records sealed here as RFC 5246 §6.2.3, RFC 2246
 * §6.2.3.2 and RFC 7366 §3 describe (the real-connection tests in decrypt.test.ts check them against
 * OpenSSL).
 */
const CBC_SUITES = MAC_SUITES.filter((s) => s.cipher !== null);
const NULL_SUITES = MAC_SUITES.filter((s) => s.cipher === null);

/** Seals records of one direction; `chain` holds TLS 1.0's running IV (null: an explicit IV per record). */
class Sealer {
  constructor(
    private readonly suite: MacSuite,
    private readonly key: Buffer,
    private readonly macKey: Buffer,
    private readonly etm: boolean,
    private chain: Buffer | null,
  ) {}

  seal(seq: number, plain: Buffer, extraPad = 0): Buffer {
    const { suite, key, macKey, etm } = this;
    const bl = suite.blockLength;
    const minor = this.chain === null ? 3 : 1;
    const macOf = (len: number, data: Buffer) => {
      const h = Buffer.alloc(13);
      h.writeUInt32BE(0, 0);
      h.writeUInt32BE(seq, 4);
      h[8] = 23;
      h[9] = 3;
      h[10] = minor;
      h.writeUInt16BE(len, 11);
      return createHmac(suite.mac, macKey).update(h).update(data).digest();
    };
    const pad = (n: number) => {
      const padLen = (bl - ((n + 1) % bl)) % bl + extraPad * bl;
      return Buffer.alloc(padLen + 1, padLen);
    };
    // The IV sent in the record (none when chained) and the one the cipher starts from.
    const sent = this.chain === null ? randomBytes(bl) : Buffer.alloc(0);
    const enc = (data: Buffer) => {
      const c = createCipheriv(suite.cipher!, key, this.chain ?? sent);
      c.setAutoPadding(false);
      const out = Buffer.concat([c.update(data), c.final()]);
      if (this.chain !== null) this.chain = out.subarray(out.length - bl);
      return out;
    };
    let body: Buffer;
    if (etm) {
      const ct = Buffer.concat([sent, enc(Buffer.concat([plain, pad(plain.length)]))]);
      body = Buffer.concat([ct, macOf(ct.length, ct)]);
    } else {
      const inner = Buffer.concat([plain, macOf(plain.length, plain)]);
      body = Buffer.concat([sent, enc(Buffer.concat([inner, pad(inner.length)]))]);
    }
    return record(body, minor);
  }
}

function record(body: Buffer, minor: number): Buffer {
  const rec = Buffer.alloc(5 + body.length);
  rec[0] = 23;
  rec[1] = 3;
  rec[2] = minor;
  rec.writeUInt16BE(body.length, 3);
  body.copy(rec, 5);
  return rec;
}

const texts = ['GET /pods HTTP/1.1\r\n\r\n', '', 'x'.repeat(1000)].map((t) => Buffer.from(t));

describe.each(CBC_SUITES.map((s) => ({ ...s, hex: s.id.toString(16) })))('CBC suite 0x$hex ($cipher, HMAC-$mac)', (suite) => {
  for (const etm of [false, true]) {
    for (const chained of [false, true]) {
      const how = `${etm ? 'encrypt-then-MAC' : 'MAC-then-encrypt'}, ${chained ? 'chained IVs (TLS 1.0)' : 'explicit IVs'}`;
      it(`opens records in sequence, ${how}, and refuses a wrong MAC or padding`, () => {
        const key = randomBytes(suite.keyLength);
        const macKey = randomBytes(suite.macLength);
        const iv0 = chained ? randomBytes(suite.blockLength) : null;
        const sealer = () => new Sealer(suite, key, macKey, etm, iv0 && Buffer.from(iv0));
        const opener = () => new CbcRecordCipher(suite, key, macKey, etm, iv0);
        const s = sealer();
        const c = opener();
        expect(c.implicitIv).toBe(chained);
        texts.forEach((t, seq) => {
          const rec = s.seal(seq, t, seq === 2 ? 3 : 0);
          expect(Buffer.from(c.open(rec, rec.length - 5)!).toString()).toBe(t.toString());
        });
        // Out of sequence (the MAC covers the sequence number), a flipped bit, a wrong key: refused.
        const late = sealer().seal(9, texts[0]!);
        expect(opener().open(late, late.length - 5)).toBeNull();
        const flipped = sealer().seal(0, texts[0]!);
        flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
        expect(opener().open(flipped, flipped.length - 5)).toBeNull();
        // Wrong keys, as a wrong master secret gives: the MAC fails whatever the padding decrypts to.
        const wrong = new CbcRecordCipher(suite, randomBytes(suite.keyLength), randomBytes(suite.macLength), etm, iv0);
        const ok = sealer().seal(0, texts[2]!);
        expect(wrong.open(ok, ok.length - 5)).toBeNull();
        // Too short to hold an IV and a block.
        expect(opener().open(ok.subarray(0, 5 + suite.blockLength), suite.blockLength - (chained ? 1 : 0))).toBeNull();
      });
    }
  }

  it('TLS 1.0: a record opened out of its chain (its predecessor skipped) does not authenticate', () => {
    const key = randomBytes(suite.keyLength);
    const macKey = randomBytes(suite.macLength);
    const iv0 = randomBytes(suite.blockLength);
    const s = new Sealer(suite, key, macKey, false, Buffer.from(iv0));
    s.seal(0, texts[2]!);
    const second = s.seal(1, texts[2]!);
    const c = new CbcRecordCipher(suite, key, macKey, false, iv0);
    c.seq = 1;
    expect(c.open(second, second.length - 5)).toBeNull();
  });
});

describe.each(NULL_SUITES.map((s) => ({ ...s, hex: s.id.toString(16) })))('NULL suite 0x$hex (HMAC-$mac)', (suite) => {
  it('hands out the plaintext of records that authenticate, in sequence', () => {
    const macKey = randomBytes(suite.macLength);
    const seal = (seq: number, plain: Buffer) => {
      const h = Buffer.alloc(13);
      h.writeUInt32BE(seq, 4);
      h[8] = 23;
      h[9] = 3;
      h[10] = 3;
      h.writeUInt16BE(plain.length, 11);
      return record(Buffer.concat([plain, createHmac(suite.mac, macKey).update(h).update(plain).digest()]), 3);
    };
    const c = new NullRecordCipher(suite, macKey);
    texts.forEach((t, seq) => {
      const rec = seal(seq, t);
      expect(Buffer.from(c.open(rec, rec.length - 5)!).toString()).toBe(t.toString());
    });
    const late = seal(7, texts[0]!);
    expect(new NullRecordCipher(suite, macKey).open(late, late.length - 5)).toBeNull();
    const rec = seal(0, texts[0]!);
    expect(new NullRecordCipher(suite, randomBytes(suite.macLength)).open(rec, rec.length - 5)).toBeNull();
    rec[5] = rec[5]! ^ 1;
    expect(new NullRecordCipher(suite, macKey).open(rec, rec.length - 5)).toBeNull();
    expect(new NullRecordCipher(suite, macKey).open(rec.subarray(0, 5 + suite.macLength - 1), suite.macLength - 1)).toBeNull();
  });
});

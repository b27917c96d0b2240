import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe as group, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../src/decode/address';

const v6 = (text: string) => formatIp(parseIp(text)!, 6);

group('formatIp / parseIp', () => {
  it('IPv4 dotted quad, from 4 or 16-byte arrays', () => {
    expect(formatIp(Uint8Array.from([10, 96, 0, 1]), 4)).toBe('10.96.0.1');
    const wide = new Uint8Array(16);
    wide.set([192, 168, 255, 0]);
    expect(formatIp(wide, 4)).toBe('192.168.255.0');
    expect(parseIp('10.96.0.1')).toEqual(Uint8Array.from([10, 96, 0, 1]));
  });

  it('RFC 5952 canonical IPv6 text', () => {
    expect(v6('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(v6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group is not compressed
    expect(v6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // tie: the first run
    expect(v6('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // the longest run
    expect(v6('2001:DB8::AB')).toBe('2001:db8::ab');
    expect(v6('::')).toBe('::');
    expect(v6('::1')).toBe('::1');
    expect(v6('fe80::')).toBe('fe80::');
    expect(v6('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
    expect(v6('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(v6('[fd00::1]')).toBe('fd00::1');
    expect(v6('fe80::1%eth0')).toBe('fe80::1');
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1',
      '1:2:3:4:5:6:7', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', 'kubernetes.default.svc']) {
      expect(parseIp(bad), bad).toBeNull();
    }
    expect(parseIp('1:2:3:4:5:6:7::')).not.toBeNull();
  });

  it('agrees with the WHATWG URL serializer and round-trips (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 8 }), (b, zs, zl) => {
        // Zero a random run so compression cases are common.
        for (let i = zs; i < Math.min(8, zs + zl); i++) b[2 * i] = b[2 * i + 1] = 0;
        const text = formatIp(b, 6);
        expect(isIP(text)).toBe(6);
        expect(parseIp(text)).toEqual(b);
        const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
        if (!mapped) expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(parseIp(formatIp(b, 4))).toEqual(b);
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientFingerprints, fingerprintMemo } from '../../../dissectors/tls/client-fingerprints';
import type { ClientHello } from '../../../dissectors/tls/hello-parser';
import { ja3 } from '../../../dissectors/tls/ja3';
import { ja4 } from '../../../dissectors/tls/ja4';

/** Values drawn from small pools, so that many hellos are equal and many differ in one place only. */
const small = (values: number[]) => fc.array(fc.constantFrom(...values), { maxLength: 5 });
const hello: fc.Arbitrary<ClientHello> = fc.record({
  legacyVersion: fc.constantFrom(0x0303, 0x0301),
  sessionId: fc.constant(new Uint8Array(0)),
  ciphers: small([0x1301, 0x1302, 0xc02f, 0x0a0a, 0x009c]),
  compression: fc.constant([0]),
  extensions: small([0, 10, 11, 13, 16, 43, 0x1a1a]),
  sni: fc.constant(null),
  alpn: fc.array(fc.constantFrom('h2', 'http/1.1', 'h2c'), { maxLength: 2 }),
  groups: small([29, 23, 0x2a2a]),
  pointFormats: small([0, 1]),
  sigAlgs: small([0x0403, 0x0804, 0x0401]),
  versions: small([0x0304, 0x0303, 0x3a3a]),
  ticketPresented: fc.boolean(),
  psk: fc.boolean(),
  ech: fc.boolean(),
});

/** A few hellos, each followed by copies that differ from it in one field only. */
const hellosAndNearMisses: fc.Arbitrary<ClientHello[]> = fc
  .array(fc.tuple(hello, fc.array(hello, { maxLength: 8 }), fc.array(fc.nat(7), { maxLength: 8 })), { minLength: 1, maxLength: 5 })
  .map((groups) =>
    groups.flatMap(([base, others, fields]) => [
      base,
      ...fields.map((f, i): ClientHello => {
        const other = others[i] ?? others[0] ?? base;
        const keys = ['legacyVersion', 'ciphers', 'extensions', 'groups', 'pointFormats', 'sigAlgs', 'versions', 'alpn'] as const;
        return { ...base, [keys[f]!]: other[keys[f]!] };
      }),
      base,
    ]),
  );

describe('remembered client fingerprints', () => {
  // The second memo puts every hello in one bucket: only the full comparison tells them apart.
  for (const [name, fingerprints] of [['as used', clientFingerprints], ['all colliding', fingerprintMemo(() => 0)]] as const) {
    it(`are exactly what JA3 and JA4 compute, for hellos seen before and for near misses (${name})`, () => {
      fc.assert(
        fc.property(hellosAndNearMisses, (hellos) => {
          for (const ch of hellos) {
            const j3 = ja3(ch);
            expect(fingerprints(ch)).toMatchObject({ ja3: j3.hash, ja3Full: j3.full, ja4: ja4(ch).ja4 });
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});

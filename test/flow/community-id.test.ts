import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/decode/address';
import { communityId } from '../../src/flow/community-id';

// Vectors from corelight/community-id-spec baseline/baseline_deflt.json (seed 0) and
// baseline_seed1.json (seed 1); for ICMP the "ports" are type and code.
const VECTORS: [number, string, string, number, number, number, string][] = [
  // proto, saddr, daddr, sport, dport, seed, expected
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, 0, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, 0, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, 0, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, 0, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, 0, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, 0, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, 0, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, 0, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, 0, '1:zavyT/cezQr1fmImYCwYnMXbgck='],
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ='],
  [46, '10.1.12.1', '10.1.12.2', 0, 0, 0, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, 1, '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, 1, '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
];

describe('communityId (Community ID v1)', () => {
  for (const [proto, s, d, sp, dp, seed, want] of VECTORS) {
    it(`${proto} ${s}:${sp} -> ${d}:${dp} seed ${seed}`, () => {
      const src = parseIp(s)!;
      const dst = parseIp(d)!;
      const v = src.length === 4 ? 4 : 6;
      const a = new Uint8Array(16);
      const b = new Uint8Array(16);
      a.set(src);
      b.set(dst);
      expect(communityId(v, a, b, proto, sp, dp, seed)).toBe(want);
    });
  }

  it('matches the Zeek community-id plugin test (1.2.3.4:1122 -> 5.6.7.8:3344)', () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    const b = new Uint8Array([5, 6, 7, 8]);
    expect(communityId(4, a, b, 6, 1122, 3344)).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
    expect(communityId(4, a, b, 17, 1122, 3344)).toBe('1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=');
  });
});

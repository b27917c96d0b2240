import { describe, expect, it } from 'vitest';
import { tunnelText } from '../../src/report/tunnel-text';

describe("a flow's tunnel in words", () => {
  it('names the tunnel, its outer addresses and its id where it has one', () => {
    const t = (type: string, id: number | null) => JSON.stringify({ type, outerSrc: '192.0.2.1', outerDst: '192.0.2.2', id });
    expect(tunnelText(t('vxlan', 4242))).toBe('VXLAN 192.0.2.1 → 192.0.2.2, VNI 4242');
    expect(tunnelText(t('geneve', 7))).toBe('Geneve 192.0.2.1 → 192.0.2.2, VNI 7');
    expect(tunnelText(t('gre', 5))).toBe('GRE 192.0.2.1 → 192.0.2.2, key 5');
    expect(tunnelText(t('gre', null))).toBe('GRE 192.0.2.1 → 192.0.2.2');
    expect(tunnelText(t('erspan', 300))).toBe('ERSPAN 192.0.2.1 → 192.0.2.2, session 300');
    expect(tunnelText(t('mpls-udp', null))).toBe('MPLS in UDP 192.0.2.1 → 192.0.2.2');
    expect(tunnelText(t('ipip', null))).toBe('IP-in-IP 192.0.2.1 → 192.0.2.2');
  });

  it("adds the outer UDP ports of the flow's first packet where the tunnel has them", () => {
    const t = (o: object) => JSON.stringify({ type: 'vxlan', outerSrc: '192.0.2.1', outerDst: '192.0.2.2', id: 9, ...o });
    expect(tunnelText(t({ outerSrcPort: 50123, outerDstPort: 4789 }))).toBe('VXLAN 192.0.2.1:50123 → 192.0.2.2:4789, VNI 9');
    expect(tunnelText(t({ outerSrc: 'fd00::1', outerDst: 'fd00::2', outerSrcPort: 50123, outerDstPort: 4789 })))
      .toBe('VXLAN [fd00::1]:50123 → [fd00::2]:4789, VNI 9');
    const back = { type: 'vxlan', outerSrc: '192.0.2.2', outerDst: '192.0.2.1', outerSrcPort: 61234, outerDstPort: 4789, id: 9 };
    expect(tunnelText(t({ outerSrcPort: 50123, outerDstPort: 4789, other: back })))
      .toBe('VXLAN 192.0.2.1:50123 → 192.0.2.2:4789, VNI 9; the other way 192.0.2.2:61234 → 192.0.2.1:4789');
    expect(tunnelText(t({ outerSrcPort: 50123, outerDstPort: 4789, other: { ...back, type: 'geneve', outerDstPort: 6081, id: 3 } })))
      .toBe('VXLAN 192.0.2.1:50123 → 192.0.2.2:4789, VNI 9; the other way Geneve 192.0.2.2:61234 → 192.0.2.1:6081, VNI 3');
    // GRE carries no ports: stored as 0, not shown.
    expect(tunnelText(JSON.stringify({ type: 'gre', outerSrc: '192.0.2.1', outerDst: '192.0.2.2', outerSrcPort: 0, outerDstPort: 0, id: 5 })))
      .toBe('GRE 192.0.2.1 → 192.0.2.2, key 5');
  });

  it('none is null; what it cannot read is given back as stored', () => {
    expect(tunnelText(null)).toBeNull();
    expect(tunnelText('not json')).toBe('not json');
    expect(tunnelText('{"type":"wormhole"}')).toBe('{"type":"wormhole"}');
    expect(tunnelText('null')).toBe('null');
    expect(tunnelText('[1,2]')).toBe('[1,2]');
  });
});

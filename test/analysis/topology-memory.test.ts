import { describe, expect, it } from 'vitest';
import { Topology } from '../../src/analysis/topology';
import { flow } from './flow-builder';

/**
 * A scan touches many addresses and ports nothing is learned about: the topology keeps a small entry
 * per address and none per port, and what it answers is the same as with an entry per port.
 */
describe('topology entries for what nothing is known about', () => {
  it('a port scan leaves no service entries and claim-less addresses share one empty claims map', () => {
    const t = new Topology();
    for (let port = 20000; port < 21000; port++) t.observe(flow(`10.9.9.9:40000`, `10.0.0.${1 + (port % 50)}:${port}`, { history: 'S', state: 'S0' }));
    expect(t.services.size).toBe(0);
    expect(t.endpoints.size).toBe(51);
    const maps = new Set([...t.endpoints.values()].map((e) => e.claims));
    expect(maps.size).toBe(1);
    expect([...maps][0]!.size).toBe(0);
    // A flow to a port with a role's default gets a service entry with that claim.
    t.observe(flow('10.9.9.9:40001', '10.0.0.1:10250', { history: 'S', state: 'S0' }));
    expect([...t.services.keys()]).toEqual(['10.0.0.1:10250']);
    expect(t.serverStrength('10.0.0.1', 10250, 'kubelet')).toBeGreaterThan(0);
    expect(t.endpoints.get('10.0.0.1')!.claims.size).toBeGreaterThan(0);
    expect(t.endpoints.get('10.0.0.2')!.claims.size).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { TcpdumpSource } from '../../src/live/tcpdump-source';

describe('TcpdumpSource', () => {
  it('says in one line that tcpdump is missing and how to fix it', async () => {
    const src = new TcpdumpSource({ iface: 'lo', command: 'planewatch-no-such-tcpdump' });
    await src.exited$;
    expect(src.finalFailure(true)).toBe('tcpdump is not installed: install it (apt-get install tcpdump) or pipe a capture in with --stdin');
  });
});

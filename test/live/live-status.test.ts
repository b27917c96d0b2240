import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LiveCounters, LiveStatusWriter, readLiveStatus } from '../../src/live/live-status';
import { openStore } from '../../src/store/store';

/** The live status row as the TUI reads it: a run whose process is gone is not running. */
describe('live status', () => {
  it('reads a running live capture as running, and one whose process was killed as stopped, saying so', () => {
    const db = openStore(':memory:');
    expect(readLiveStatus(db)).toBeNull();
    const counters = new LiveCounters();
    counters.packets = 42;
    new LiveStatusWriter(db, 'eth0', 1).write(counters, true);
    expect(readLiveStatus(db)).toMatchObject({ running: 1, packets: 42, message: null });
    // The same row left by a process that no longer exists (killed before it could write its end).
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    db.prepare(`UPDATE live_status SET pid = ? WHERE id = 1`).run(gone);
    expect(readLiveStatus(db)).toMatchObject({ running: 0, packets: 42, message: expect.stringMatching(/stopped without finishing/) });
    // A run that wrote its own end keeps its message.
    db.prepare(`UPDATE live_status SET running = 0, message = 'tcpdump exited' WHERE id = 1`).run();
    expect(readLiveStatus(db)).toMatchObject({ running: 0, message: 'tcpdump exited' });
    db.close();
  });
});

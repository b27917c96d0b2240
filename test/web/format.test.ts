import { describe, expect, it } from 'vitest';
import { APPS, PATHS, fmtAxisTime } from '../../web/js/format.js';
import { APP_PROTOCOLS } from '../../src/model/records';
import { PATH_IDS } from '../../src/model/analysis';

describe('timeline axis times', () => {
  const t0 = Date.UTC(2026, 11, 3, 20, 30, 28, 120) / 1000;
  const marks = (span: number) => [0, 1, 2, 3, 4, 5].map((i) => fmtAxisTime(t0 + (span / 5) * i, span / 5));

  it('tell neighbouring marks apart whatever the span of the capture', () => {
    for (const span of [0.05, 0.4, 3, 45, 600, 7200, 19 * 3600, 86400, 30 * 86400]) {
      expect(new Set(marks(span)).size, `span ${span} s: ${marks(span).join(' ')}`).toBe(6);
    }
  });

  it('milliseconds for a short capture, seconds for minutes, the date once the axis spans about a day', () => {
    expect(fmtAxisTime(t0, 0.08)).toBe('20:30:28.120');
    expect(fmtAxisTime(t0, 9)).toBe('20:30:28');
    expect(fmtAxisTime(t0, 120)).toBe('20:30');
    expect(fmtAxisTime(t0, 86400)).toBe('12-03 20:30');
    expect(fmtAxisTime(null, 1)).toBe('—');
  });
});

describe("the dashboard's lists of names", () => {
  it('offer every application protocol and path the API knows (a new one would otherwise be missing from the filters)', () => {
    expect([...APPS].sort()).toEqual([...APP_PROTOCOLS].sort());
    expect([...PATHS].sort()).toEqual([...PATH_IDS].sort());
  });
});

import { describe, expect, it } from 'vitest';
import { exportValue, formatTimestamp } from './types.ts';

describe('formatTimestamp', () => {
  it('writes exactly what toISOString writes, across days, years and odd values', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const samples = [0, 1, 59_999, 60_000, 86_399_999, 86_400_000, Date.UTC(2026, 2, 2, 8), Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    samples.push(-1, -86_400_001, Date.UTC(10000, 0, 1), Date.UTC(2026, 0, 1) + 0.5, Date.UTC(-5, 0, 1));
    let t = Date.UTC(2026, 10, 26);
    for (let i = 0; i < 20_000; i++) {
      t += Math.floor(next() * 90_000) - 20_000; // mostly forward, sometimes back, as event times go
      samples.push(t, Math.floor(next() * 253_402_300_800_000));
    }
    for (const ms of samples) expect(formatTimestamp(ms)).toBe(new Date(ms).toISOString());
  });

  it('exports TIMESTAMP values as ISO text and leaves other values alone', () => {
    expect(exportValue(Date.UTC(2026, 2, 2, 8, 0, 0, 5), 'TIMESTAMP')).toBe('2026-03-02T08:00:00.005Z');
    expect(exportValue(Number.POSITIVE_INFINITY, 'TIMESTAMP')).toBeNull();
    expect(exportValue(42, 'BIGINT')).toBe(42);
    expect(exportValue(null, 'TIMESTAMP')).toBeNull();
  });
});

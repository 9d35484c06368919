import { describe, expect, it } from 'vitest';
import { monthStart, nextMonth } from './trips.ts';

describe('month bounds of trip history', () => {
  it('cuts months at local midnight, across a DST change on the first of the month', () => {
    // New York leaves daylight time at 02:00 on Sunday 2026-11-01: that midnight is still UTC-4.
    expect(new Date(monthStart('2026-11', 'America/New_York')).toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(new Date(monthStart('2026-12', 'America/New_York')).toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(new Date(monthStart('2026-11', 'Asia/Kolkata')).toISOString()).toBe('2026-10-31T18:30:00.000Z');
    expect(new Date(monthStart('2026-03', 'Europe/Paris')).toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(new Date(monthStart('2026-11', 'UTC')).toISOString()).toBe('2026-11-01T00:00:00.000Z');
  });

  it('rolls the year over after December', () => {
    expect(nextMonth('2026-12')).toBe('2027-01');
    expect(nextMonth('2026-09')).toBe('2026-10');
  });
});

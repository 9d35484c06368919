import { describe, expect, it } from 'vitest';
import { addMonths, timestampAdd, timestampDiff } from './calendar.ts';

const ts = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

describe('TIMESTAMPDIFF and TIMESTAMPADD', () => {
  it('count whole units of elapsed time, signed, cut toward zero', () => {
    // Flink's example: one day from 2003-01-02 10:00 to 2003-01-03 10:00.
    expect(timestampDiff('DAY', ts('2003-01-02 10:00:00'), ts('2003-01-03 10:00:00'))).toBe(1);
    expect(timestampDiff('DAY', ts('2003-01-02 10:00:00'), ts('2003-01-03 09:59:59'))).toBe(0);
    expect(timestampDiff('DAY', ts('2003-01-03 10:00:00'), ts('2003-01-02 09:00:00'))).toBe(-1);
    expect(timestampDiff('HOUR', ts('2003-01-02 10:00:00'), ts('2003-01-03 09:30:00'))).toBe(23);
    expect(timestampDiff('SECOND', ts('2003-01-02 10:00:00.900'), ts('2003-01-02 10:00:02.100'))).toBe(1);
    expect(timestampDiff('WEEK', ts('2003-01-01 00:00:00'), ts('2003-01-15 00:00:00'))).toBe(2);
  });

  it('count calendar months, a month from the 31st ending on a shorter month’s last day', () => {
    expect(timestampDiff('MONTH', ts('2019-06-01 07:01:11'), ts('2020-06-01 07:01:11'))).toBe(12);
    expect(timestampDiff('MONTH', ts('2019-06-01 07:01:11'), ts('2020-06-01 07:01:10'))).toBe(11);
    expect(timestampDiff('QUARTER', ts('2019-06-01 07:01:11'), ts('2020-06-01 07:01:11'))).toBe(4);
    expect(timestampDiff('YEAR', ts('2019-06-01 07:01:11'), ts('2020-06-01 07:01:11'))).toBe(1);
    expect(timestampDiff('YEAR', ts('2019-06-01 07:01:11'), ts('2020-05-31 23:59:59'))).toBe(0);
    expect(timestampDiff('MONTH', ts('2026-01-31 00:00:00'), ts('2026-02-28 00:00:00'))).toBe(1);
    expect(timestampDiff('MONTH', ts('2026-01-31 00:00:00'), ts('2026-02-27 23:59:59'))).toBe(0);
    expect(timestampDiff('MONTH', ts('2026-03-15 00:00:00'), ts('2026-01-20 00:00:00'))).toBe(-1);
  });

  it('move by units, months landing on the last day of a shorter month', () => {
    // Flink's example: a week after 2003-01-02 is 2003-01-09.
    expect(timestampAdd('WEEK', 1, ts('2003-01-02 00:00:00'))).toBe(ts('2003-01-09 00:00:00'));
    expect(timestampAdd('HOUR', -3, ts('2003-01-02 01:00:00'))).toBe(ts('2003-01-01 22:00:00'));
    expect(timestampAdd('MONTH', 1, ts('2024-01-31 12:30:00'))).toBe(ts('2024-02-29 12:30:00'));
    expect(timestampAdd('YEAR', 1, ts('2024-02-29 00:00:00'))).toBe(ts('2025-02-28 00:00:00'));
    expect(timestampAdd('QUARTER', -1, ts('2026-05-31 00:00:00'))).toBe(ts('2026-02-28 00:00:00'));
    expect(addMonths(ts('2026-12-15 08:00:00'), 1)).toBe(ts('2027-01-15 08:00:00'));
    expect(() => timestampAdd('DAY', 1.5, 0)).toThrow('whole number');
  });

  it('refuse a word that is no time unit, the names every object has included', () => {
    for (const word of ['FORTNIGHT', 'constructor', 'toString', '__proto__']) {
      expect(() => timestampDiff(word, 0, 86_400_000), word).toThrow('is not a time unit');
      expect(() => timestampAdd(word, 1, 0), word).toThrow('is not a time unit');
    }
  });
});

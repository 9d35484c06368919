import { describe, expect, it } from 'vitest';
import { formatWithPattern, parseWithPattern } from './date-patterns.ts';
import { RowError } from './types.ts';

describe('Java date patterns', () => {
  const t = Date.UTC(2009, 8, 16, 15, 5, 4, 7);

  it('formats the fields it knows, quoted text as it is', () => {
    expect(formatWithPattern(t, "yyyy-MM-dd'T'HH:mm:ss.SSS")).toBe('2009-09-16T15:05:04.007');
    expect(formatWithPattern(t, "yy/M/d h 'o''clock' a")).toBe("09/9/16 3 o'clock PM");
  });

  it('refuses letters it does not know rather than printing them', () => {
    expect(() => formatWithPattern(t, 'EEE yyyy')).toThrow(/the letter 'E' is not supported/);
  });

  it('reads text from its start, with defaults for the fields left out', () => {
    expect(parseWithPattern('2009-09-16 15:05:04.007', 'yyyy-MM-dd HH:mm:ss.SSS')).toBe(t);
    expect(parseWithPattern('16/09/2009 03 PM', 'dd/MM/yyyy hh a')).toBe(Date.UTC(2009, 8, 16, 15));
    expect(parseWithPattern('20090916', 'yyyyMMdd')).toBe(Date.UTC(2009, 8, 16));
  });

  it('refuses text that does not fit, or a date that does not exist', () => {
    expect(() => parseWithPattern('2009/09/16', 'yyyy-MM-dd')).toThrow(RowError);
    expect(() => parseWithPattern('2009-02-30', 'yyyy-MM-dd')).toThrow(/day 30/);
    expect(() => parseWithPattern('2009-13-01', 'yyyy-MM-dd')).toThrow(/month 13/);
  });
});

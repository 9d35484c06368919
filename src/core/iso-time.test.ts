import { describe, expect, it } from 'vitest';
import { isCalendarDate, parseIsoTimestamp, parseIsoTimestampBytes } from './iso-time.ts';

// An independent reading: a pattern, range checks on each part, then Date.parse.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))$/;
const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const realDate = (y: number, m: number, d: number) => m >= 1 && m <= 12 && d >= 1 && d <= [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
function reference(text: string, options: { space?: boolean; compact?: boolean } = {}): number | undefined {
  const m = ISO.exec(text);
  if (m === null || !realDate(+m[1]!, +m[2]!, +m[3]!)) return undefined;
  if (text[10] === ' ' && !options.space) return undefined;
  if (m[7] !== undefined && !/[+-]\d{2}:\d{2}$/.test(text) && !options.compact) return undefined;
  if (+m[4]! > 23 || +m[5]! > 59 || (m[6] !== undefined && +m[6] > 59) || (m[7] !== undefined && (+m[7] > 23 || +m[8]! > 59))) return undefined;
  const ms = Date.parse(text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

const SAMPLES = [
  '2026-11-26T08:15:00Z', '2026-11-26T08:15:00.123Z', '2026-03-02T08:10:00.000Z', '1969-12-31T23:59:59.999Z', '0099-01-01T00:00:00Z',
  '0000-03-01T00:00:00Z', '0050-03-02T08:00:00.000Z', '0100-03-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z',
  '2028-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2000-02-29T12:00:00.500Z', '1900-02-29T00:00:00Z', '2024-02-29T23:59:59.999+05:00',
  '2026-02-30T00:00:00Z', '2026-04-31T08:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-11-00T00:00:00Z', '2026-11-32T00:00:00Z',
  '2026-11-26T24:00:00Z', '2026-11-26T24:00:00.000Z', '2026-11-26T23:60:00Z', '2026-11-26T23:59:60Z',
  '2026-11-26T08:15:00.1Z', '2026-11-26T08:15:00.12Z', '2026-11-26T08:15:00.1234Z', '2026-11-26T08:15:00.999999999Z', '2026-11-26T08:15:00.1234567890Z',
  '2026-11-26T08:15:00.Z', '2026-11-26T08:15:00.123z', '2026-11-26t08:15:00Z', '2026-11-26 08:15:00.123Z', '2026-11-26T08:15Z', '2026-11-26T08:15:00',
  '2026-11-26T08:15:00+00:00', '2026-11-26T08:15:00.123456789+05:45', '2026-11-26T08:15:00.123-23:59', '2026-11-26T08:15:00.123+24:00',
  '2026-11-26T08:15:00+05:60', '2026-11-26T08:15:00+0545', '2026-11-26T08:15:00-0100', '2026-11-26T08:15:00+05', '2026-11-26T08:15:00+05:4',
  '2026-11-26T08:15:0a.123Z', '2026-11-2xT08:15:00Z', '２026-11-26T08:15:00Z', '2026/11/26T08:15:00Z', '+02026-11-26T08:15:00Z',
  '2026-11-26T08:15:00.123ZZ', ' 2026-11-26T08:15:00Z', '2026-11-26T08:15:00Z ', '2026-11-26', '2026-11-26T', '',
];

describe('parseIsoTimestamp', () => {
  it('reads a date and time with a zone, refusing impossible dates, times and offsets, as the independent reading does', () => {
    for (const text of SAMPLES) expect(parseIsoTimestamp(text), text).toBe(reference(text));
    for (const text of SAMPLES) expect(parseIsoTimestamp(text, { spaceSeparator: true, compactOffset: true }), text).toBe(reference(text, { space: true, compact: true }));
  });

  it('reads zones as offsets from UTC', () => {
    expect(parseIsoTimestamp('2026-11-26T08:15:00+05:45')).toBe(Date.UTC(2026, 10, 26, 2, 30));
    expect(parseIsoTimestamp('2026-11-26T00:15:00-01:00')).toBe(Date.UTC(2026, 10, 26, 1, 15));
    expect(parseIsoTimestamp('2026-12-31T23:30:00-01:00')).toBe(Date.UTC(2027, 0, 1, 0, 30));
    expect(parseIsoTimestamp('2026-11-26T08:15:00-0100')).toBe(undefined);
    expect(parseIsoTimestamp('2026-11-26T08:15:00-0100', { compactOffset: true })).toBe(Date.UTC(2026, 10, 26, 9, 15));
  });

  it('cuts fractions to the millisecond', () => {
    expect(parseIsoTimestamp('2026-11-26T08:15:00.9Z')).toBe(Date.UTC(2026, 10, 26, 8, 15, 0, 900));
    expect(parseIsoTimestamp('2026-11-26T08:15:00.05Z')).toBe(Date.UTC(2026, 10, 26, 8, 15, 0, 50));
    expect(parseIsoTimestamp('2026-11-26T08:15:00.999999999Z')).toBe(Date.UTC(2026, 10, 26, 8, 15, 0, 999));
    expect(parseIsoTimestamp('2026-11-26T08:15:00.0019Z')).toBe(Date.UTC(2026, 10, 26, 8, 15, 0, 1));
  });

  it('gives every instant of two years back from its toISOString and seconds-only forms', () => {
    for (let ms = Date.UTC(2027, 0, 1); ms < Date.UTC(2029, 0, 1); ms += 36_000_007) {
      const iso = new Date(ms).toISOString();
      expect(parseIsoTimestamp(iso)).toBe(ms);
      expect(parseIsoTimestamp(`${iso.slice(0, 19)}Z`)).toBe(ms - (ms % 1000));
    }
  });

  it('reads the SQL forms: a date alone, no zone, white space, lower case, any fraction rounded; parts out of range are refused', () => {
    const sql = { sql: true, spaceSeparator: true, compactOffset: true };
    expect(parseIsoTimestamp('2026-11-26', sql)).toBe(Date.UTC(2026, 10, 26));
    expect(parseIsoTimestamp('0050-11-26 08:00', sql)).toBe(Date.parse('0050-11-26T08:00:00Z'));
    expect(parseIsoTimestamp(' 2026-11-26t08:15:00.12345678901 z\n', sql)).toBe(Date.UTC(2026, 10, 26, 8, 15, 0, 123));
    expect(parseIsoTimestamp('2026-11-26T08:15:00.9995', sql)).toBe(Date.UTC(2026, 10, 26, 8, 15, 1));
    expect(parseIsoTimestamp('2028-02-29 08:00', sql)).toBe(Date.UTC(2028, 1, 29, 8));
    const impossible = ['2026-02-30T00:00:00Z', '2026-02-29', '2026-13-02 08:00', '2026-00-10', '2026-04-31 08:00:00', '2026-11-26 24:00:00', '2026-11-26 08:60', '2026-11-26T08:15:60', '2026-11-26T08:15:00+25:00', '2026-11-26 08:15:00+0160'];
    for (const bad of impossible) expect(parseIsoTimestamp(bad, sql), bad).toBe(undefined);
    for (const bad of ['2026-11-26T', '2026-11-26X08:00', '26-11-26', '2026-11-26T08:15:00+05', 'today']) expect(parseIsoTimestamp(bad, sql), bad).toBe(undefined);
  });
});

describe('parseIsoTimestampBytes', () => {
  it('gives what the text gives for the producers form, and undefined for any other text', () => {
    const texts = ['2026-11-26T08:15:00Z', '2026-11-26T08:15:00.123Z', '0050-03-02T08:00:00.000Z', '2026-02-30T00:00:00Z', '2026-11-26T24:00:00.000Z'];
    for (const text of texts) {
      const bytes = Buffer.from(`"${text}"`);
      expect(parseIsoTimestampBytes(bytes, 1, text.length + 1), text).toBe(parseIsoTimestamp(text));
      expect(parseIsoTimestampBytes(bytes, 1, text.length + 1, { sql: true }), text).toBe(parseIsoTimestamp(text, { sql: true }));
    }
    for (const odd of ['2026-11-26T08:15:00.1a3Z', '2026-11-26 08:15:00Z', '2026-11-26T08:15:00+00:00', '2026-11-26T08:15:00.12Z']) {
      expect(parseIsoTimestampBytes(Buffer.from(odd), 0, odd.length), odd).toBe(undefined);
    }
  });
});

describe('isCalendarDate', () => {
  it('knows leap days and month lengths', () => {
    expect([isCalendarDate(2024, 2, 29), isCalendarDate(2000, 2, 29), isCalendarDate(1900, 2, 29), isCalendarDate(2026, 2, 29)]).toEqual([true, true, false, false]);
    expect([isCalendarDate(2026, 4, 30), isCalendarDate(2026, 4, 31), isCalendarDate(2026, 12, 31), isCalendarDate(2026, 13, 1), isCalendarDate(2026, 1, 0)]).toEqual([true, false, true, false, false]);
  });
});

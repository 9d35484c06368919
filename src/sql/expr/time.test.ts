import { describe, expect, it } from 'vitest';
import { parseIsoTimestampBytes, parseTimestampText } from './time.ts';

describe('reading timestamps', () => {
  it('reads the common ISO 8601 UTC form, as text or bytes, exactly as Date.parse does, and refuses the days a month lacks, which Date.parse rolls over', () => {
    const texts: string[] = [];
    const lacking: string[] = [];
    for (let y = 1000; y <= 9999; y += 131) {
      for (let m = 1; m <= 12; m++) {
        const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
        for (const d of [1, 15, 28, 29, 30, 31]) {
          const day = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          (d <= daysInMonth ? texts : lacking).push(`${day}T23:59:59.999Z`, `${day}T00:00:00Z`, `${day}T07:08:09.010Z`);
        }
      }
    }
    for (const text of texts) {
      expect(parseTimestampText(text), text).toBe(Date.parse(text));
      expect(parseIsoTimestampBytes(Buffer.from(`"${text}"`), 1, text.length + 1), text).toBe(Date.parse(text));
    }
    expect(lacking.length).toBeGreaterThan(100);
    for (const text of lacking) {
      expect(parseTimestampText(text), text).toBe(null);
      expect(parseIsoTimestampBytes(Buffer.from(`"${text}"`), 1, text.length + 1), text).toBe(null);
    }
  });

  it('reads the looser forms of SQL text, and refuses a date or time that does not exist instead of rolling it over', () => {
    expect(parseTimestampText('0050-03-02T08:00:00.000Z')).toBe(Date.parse('0050-03-02T08:00:00.000Z'));
    expect(parseTimestampText('2026-03-02T08:00:00+01:00')).toBe(Date.parse('2026-03-02T07:00:00Z'));
    expect(parseTimestampText('2026-03-02T08:00:00-0130')).toBe(Date.parse('2026-03-02T09:30:00Z'));
    expect(parseTimestampText('2026-03-02 08:00:00')).toBe(Date.parse('2026-03-02T08:00:00Z'));
    expect(parseTimestampText(' 2026-03-02t08:00:00.9996 z ')).toBe(Date.parse('2026-03-02T08:00:01.000Z'));
    expect(parseTimestampText('2026-03-02')).toBe(Date.UTC(2026, 2, 2));
    expect(parseTimestampText('2026-03-02 +02:00')).toBe(Date.UTC(2026, 2, 1, 22));
    for (const impossible of ['2026-13-02T08:00:00.000Z', '2026-03-02T08:60:00.000Z', '2026-03-02T24:00:00.000Z', '2026-02-30 10:00:00', '2026-02-29', '2026-03-02 08:00:00+24:00']) {
      expect(parseTimestampText(impossible), impossible).toBe(null);
    }
    for (const bad of ['2026-03-02T', '2026-03-02X08:00:00', '2026-3-02', 'now', '']) expect(parseTimestampText(bad), bad).toBe(null);
  });

  it('reads years before 100 as themselves, not as 19xx, in every form', () => {
    expect(parseTimestampText('0050-03-02 08:00:00')).toBe(Date.parse('0050-03-02T08:00:00Z'));
    expect(parseTimestampText('0050-03-02')).toBe(Date.parse('0050-03-02T00:00:00Z'));
  });

  it('gives from bytes what the text gives, or leaves the text to the caller', () => {
    for (const text of ['0050-03-02T08:00:00.000Z', '2026-03-02T24:00:00.000Z', '2026-02-30T08:00:00Z']) {
      expect(parseIsoTimestampBytes(Buffer.from(text), 0, text.length), text).toBe(parseTimestampText(text));
    }
    for (const odd of ['2026-03-02T08:00:00.0a0Z', '2026-03-02X08:00:00.000Z', '2026-03-02T08:00:00+00:00']) {
      expect(parseIsoTimestampBytes(Buffer.from(odd), 0, odd.length), odd).toBe(null);
    }
  });
});

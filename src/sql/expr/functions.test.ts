import { describe, expect, it } from 'vitest';
import { SCALAR_FUNCTIONS, convertTz, zoneOffset } from './functions.ts';

/** The offset as Intl gives it for this one instant, with no cache involved. */
const formats = new Map<string, Intl.DateTimeFormat>();
function intlOffset(zone: string, instant: number): number {
  const f = formats.get(zone) ?? new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  formats.set(zone, f);
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(instant))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

const call = (name: string, ...args: (string | number)[]) => SCALAR_FUNCTIONS[name]!.impl(args);

describe('time zone and date functions', () => {
  it('give every instant around daylight-saving changes the offset Intl gives it, row after row', () => {
    const zones = ['America/New_York', 'Europe/Paris', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns'];
    // Spring-forward and fall-back days of 2026 in the northern and southern hemispheres, and an old LMT date.
    const days = ['2026-03-08', '2026-03-29', '2026-04-05', '2026-10-04', '2026-10-25', '2026-11-01', '1890-06-01'];
    for (const zone of zones) {
      for (const day of days) {
        const from = Date.parse(`${day}T00:00:00Z`) - 12 * 3_600_000;
        for (let t = from; t < from + 48 * 3_600_000; t += 7 * 60_000 + 1) {
          expect(zoneOffset(zone, t), `${zone} ${new Date(t).toISOString()}`).toBe(intlOffset(zone, t));
        }
      }
    }
  });

  it('convert wall-clock times between zones and back across a change', () => {
    const t = Date.parse('2026-03-08T06:30:00Z');
    expect(convertTz(t, 'UTC', 'America/New_York')).toBe(t - 5 * 3_600_000);
    expect(convertTz(t + 3_600_000, 'UTC', 'America/New_York')).toBe(t + 3_600_000 - 4 * 3_600_000);
    expect(convertTz(t, 'utc', 'UTC')).toBe(t);
    // Flink's example: text in, text out.
    expect(call('CONVERT_TZ', '1970-01-01 00:00:00', 'UTC', 'America/Los_Angeles')).toBe('1969-12-31 16:00:00');
  });

  it('format dates with any pattern, the same day text for every row of a day and a new one after midnight', () => {
    const t = Date.parse('2026-03-02T23:59:59.999Z');
    expect(call('DATE_FORMAT', t, 'yyyy-MM-dd')).toBe('2026-03-02');
    expect(call('DATE_FORMAT', t + 1, 'yyyy-MM-dd')).toBe('2026-03-03');
    expect(call('DATE_FORMAT', t - 5, 'yyyy-MM-dd')).toBe('2026-03-02');
    expect(call('DATE_FORMAT', t, 'dd/MM/yyyy HH:mm:ss.SSS')).toBe('02/03/2026 23:59:59.999');
    expect(call('DATE_FORMAT', t, "yyyyy 'at' HH")).toBe("2026y 'at' 23");
    expect(call('DATE_FORMAT', t, 'no tokens')).toBe('no tokens');
    expect(call('DATE_FORMAT', -1, 'yyyy-MM-dd')).toBe('1969-12-31');
    expect(call('DATE_FORMAT', 1.5, 'yyyy-MM-dd HH:mm:ss.SSS')).toBe('1970-01-01 00:00:00.001');
  });

  it('cut substrings by characters, surrogate pairs counting as one', () => {
    expect(call('SUBSTRING', '2026-03-02', 1, 7)).toBe('2026-03');
    expect(call('SUBSTRING', '2026-03-02', 1, 7)).toBe('2026-03');
    expect(call('SUBSTRING', '2026-03-02', 6)).toBe('03-02');
    expect(call('SUBSTRING', '2026-03-02', 0, 3)).toBe('20');
    expect(call('SUBSTRING', 'a😀b😀c', 2, 3)).toBe('😀b😀');
    expect(call('SUBSTRING', 'abc', 5)).toBe('');
    expect(() => call('SUBSTRING', 'abc', 1, -1)).toThrow('negative length');
  });

  it('join texts with a separator, skipping NULLs but keeping empty texts', () => {
    const concatWs = (...args: (string | null)[]) => SCALAR_FUNCTIONS.CONCAT_WS!.impl(args);
    expect(concatWs('~', 'AA', null, 'BB', '', 'CC')).toBe('AA~BB~~CC');
    expect(concatWs(null, 'AA', 'BB')).toBeNull();
    expect(concatWs(', ', null, null)).toBe('');
    expect(concatWs('', 'a', 'b')).toBe('ab');
  });
});

import { describe, expect, it } from 'vitest';
import { rowFromObject } from './rows.ts';
import { DECLARED_REFERENCE } from './conformance.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';
import { SOURCE_COLUMNS } from './tables.ts';

const omit = new Set<string>(SOURCE_COLUMNS);
const good = {
  transaction_id: 'tx-1',
  customer_id: 'C0000001',
  tag_id: 'TAG1',
  plate: 'ABC123',
  plaza_id: 'P07',
  lane: 3,
  vehicle_class: 2,
  amount_cents: 1250,
  currency: 'USD',
  event_time: '2026-11-26T10:15:00.123Z',
  extra: 'ignored',
};

describe('rowFromObject', () => {
  it('turns a toll transaction into a row with event time in ms', () => {
    const result = rowFromObject(TOLL_TRANSACTIONS, good, { omit });
    expect(result).toEqual({ ok: true, row: expect.objectContaining({ amount_cents: 1250, event_time: Date.parse('2026-11-26T10:15:00.123Z') }) });
    expect(result.ok && 'extra' in result.row).toBe(false);
  });

  it.each([
    ['a float amount', { amount_cents: 12.5 }, /amount_cents' must be an integer/],
    ['an amount as a string', { amount_cents: '1250' }, /amount_cents' must be an integer/],
    ['a vehicle class out of range', { vehicle_class: 9 }, /vehicle_class' must be from 1 to 5/],
    ['a missing plaza', { plaza_id: undefined }, /plaza_id' is required/],
    ['an event time without a zone', { event_time: '2026-11-26 10:15:00' }, /event_time' must be an ISO 8601/],
    ['an impossible date', { event_time: '2026-13-45T10:15:00Z' }, /event_time' must be an ISO 8601/],
  ])('refuses %s', (_label, change, message) => {
    const result = rowFromObject(TOLL_TRANSACTIONS, { ...good, ...change }, { omit });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  it('refuses what is not an object', () => {
    expect(rowFromObject(TOLL_TRANSACTIONS, [1, 2], { omit })).toEqual({ ok: false, message: expect.stringMatching(/got an array/) });
  });

  it('accepts numeric strings only when asked (CSV)', () => {
    const ref = { plaza_id: 'P01', day_of_week: '3', slot: '47', expected_count: '120', alert_threshold: '60' };
    expect(rowFromObject(DECLARED_REFERENCE, ref).ok).toBe(false);
    expect(rowFromObject(DECLARED_REFERENCE, ref, { numericStrings: true })).toEqual({ ok: true, row: { plaza_id: 'P01', day_of_week: 3, slot: 47, expected_count: 120, alert_threshold: 60 } });
  });
});

describe('rowFromObject event times', () => {
  const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
  const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const monthDays = (y: number, m: number) => [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  /** An independent reading: the pattern, each part in its range, then Date.parse. */
  const reference = (text: string): number | 'refused' => {
    const m = ISO_8601.exec(text);
    if (m === null) return 'refused';
    const [y, mo, d, h, mi, s] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0)];
    if (mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo) || h > 23 || mi > 59 || s > 59) return 'refused';
    const ms = Date.parse(text.replace(' ', 'T'));
    return Number.isFinite(ms) ? ms : 'refused';
  };
  const converted = (text: string): number | 'refused' => {
    const result = rowFromObject(TOLL_TRANSACTIONS, { ...good, event_time: text }, { omit });
    return result.ok ? (result.row.event_time as number) : 'refused';
  };

  it('refuses a day the month does not have, and hour 24, rather than storing another instant', () => {
    for (const text of ['2026-02-30T00:00:00.001Z', '2026-04-31T08:00:00Z', '2026-02-29T12:00:00Z', '2026-11-26T24:00:00Z', '2026-02-30 08:00:00+01:00']) {
      expect(converted(text), text).toBe('refused');
    }
    expect(converted('2024-02-29T12:00:00Z')).toBe(Date.UTC(2024, 1, 29, 12));
  });

  it('gives the same milliseconds as Date.parse for real instants, and refuses the other texts', () => {
    const texts = [
      '2026-11-26T10:15:00.123Z', '2026-11-26T10:15:00Z', '2026-11-26T23:59:59.999Z', '2026-11-27T00:00:00.000Z',
      '2024-02-29T12:00:00Z', '2026-02-29T12:00:00Z', '2026-02-30T00:00:00.001Z', '2026-04-31T08:00:00Z', '1900-02-29T00:00:00Z',
      '0000-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z',
      '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-11-00T00:00:00Z', '2026-11-32T00:00:00Z',
      '2026-11-26T24:00:00Z', '2026-11-26T24:00:00.000Z', '2026-11-26T23:60:00Z', '2026-11-26T23:59:60Z',
      '2026-11-26T10:15:00.1Z', '2026-11-26T10:15:00.1234Z', '2026-11-26 10:15:00Z', '2026-11-26T10:15Z',
      '2026-11-26T10:15:00+02:00', '2026-11-26T10:15:00.123+0530', '2026-11-26t10:15:00Z', '2026-11-26T10:15:00z',
      '2026-11-26T1a:15:00Z', '2026-11-26T10:15:00.12aZ', '2026-11-2xT10:15:00Z', '2026/11/26T10:15:00Z', '+02026-11-26T10:15:00Z',
      '2026-11-26T10:15:00.123ZZ', ' 2026-11-26T10:15:00Z', '',
    ];
    // Random texts of the common forms, across days and times, some with a digit out of range.
    let seed = 12345;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const two = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 2000; i++) {
      const date = `${String(1960 + next(100)).padStart(4, '0')}-${two(next(14))}-${two(next(33))}`;
      const time = `${two(next(26))}:${two(next(61))}:${two(next(61))}`;
      texts.push(next(2) === 0 ? `${date}T${time}Z` : `${date}T${time}.${String(next(1000)).padStart(3, '0')}Z`);
    }
    for (const text of texts) expect(converted(text), text).toBe(reference(text));
  });
});

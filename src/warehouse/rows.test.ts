import { describe, expect, it } from 'vitest';
import { rowFromObject } from './rows.ts';
import { SOURCE_COLUMNS, STATION_REFERENCE, TOLL_TRANSACTIONS } from './tables.ts';

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
    ['an impossible date', { event_time: '2026-13-45T10:15:00Z' }, /event_time' is not a valid/],
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
    expect(rowFromObject(STATION_REFERENCE, ref).ok).toBe(false);
    expect(rowFromObject(STATION_REFERENCE, ref, { numericStrings: true })).toEqual({ ok: true, row: { plaza_id: 'P01', day_of_week: 3, slot: 47, expected_count: 120, alert_threshold: 60 } });
  });
});

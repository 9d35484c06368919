import { describe, expect, it } from 'vitest';
import { TrafficGenerator } from '../../simulator/index.ts';
import { isDayKey } from './calendar.ts';
import { validateTransaction } from './schema.ts';

const good = {
  transaction_id: 'tx-1',
  customer_id: 'C0000001',
  tag_id: 'TAG000000010',
  plate: 'ABC-1234',
  plaza_id: 'P01',
  lane: 2,
  vehicle_class: 2,
  amount_cents: 350,
  currency: 'USD',
  event_time: '2026-11-26T08:15:00.123Z',
};

function reasonFor(changes: Record<string, unknown>): string | undefined {
  const result = validateTransaction({ ...good, ...changes });
  return result.ok ? undefined : result.reason;
}

describe('validateTransaction', () => {
  it('accepts what the simulator sends and returns the event time in ms', () => {
    const generator = new TrafficGenerator({ seed: 3, customers: 50, startTime: Date.UTC(2026, 10, 1) });
    for (let i = 0; i < 500; i++) {
      const tx = generator.next().transaction;
      const result = validateTransaction(JSON.parse(JSON.stringify(tx)));
      expect(result).toEqual({ ok: true, tx, eventTimeMs: Date.parse(tx.event_time) });
    }
  });

  it('accepts zone offsets and nanosecond fractions', () => {
    const result = validateTransaction({ ...good, event_time: '2026-11-26T08:15:00.123456789+05:45' });
    expect(result.ok && result.eventTimeMs).toBe(Date.UTC(2026, 10, 26, 2, 30, 0, 123));
  });

  it('rejects money that is not whole cents', () => {
    expect(reasonFor({ amount_cents: 12.5 })).toMatch(/amount_cents.*whole number of cents/);
    expect(reasonFor({ amount_cents: -1 })).toMatch(/amount_cents/);
    expect(reasonFor({ amount_cents: 2 ** 53 })).toMatch(/amount_cents/);
    expect(reasonFor({ amount_cents: '350' })).toMatch(/amount_cents/);
  });

  it('rejects lanes, vehicle classes and currencies out of range', () => {
    expect(reasonFor({ lane: 0 })).toMatch(/lane/);
    expect(reasonFor({ lane: 1.5 })).toMatch(/lane/);
    expect(reasonFor({ vehicle_class: 6 })).toMatch(/vehicle_class/);
    expect(reasonFor({ vehicle_class: 0 })).toMatch(/vehicle_class/);
    expect(reasonFor({ currency: 'usd' })).toMatch(/currency/);
    expect(reasonFor({ currency: 'USDX' })).toMatch(/currency/);
  });

  it('rejects event times without a zone or that are not real instants', () => {
    for (const eventTime of ['2026-11-26T08:15:00', '2026-11-26', '2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-11-26T24:00:00Z', 'yesterday', 1764144900000]) {
      expect(reasonFor({ event_time: eventTime }), String(eventTime)).toMatch(/event_time/);
    }
    expect(reasonFor({ event_time: '2028-02-29T00:00:00Z' })).toBeUndefined();
  });

  it('names a missing or empty identifier', () => {
    const { plate: _plate, ...withoutPlate } = good;
    expect(validateTransaction(withoutPlate)).toEqual({ ok: false, reason: 'plate is missing' });
    expect(reasonFor({ customer_id: '' })).toMatch(/customer_id must be 1 to 200 visible ASCII/);
    // The customer id goes into the breach notification's idempotency key, which is visible ASCII only.
    expect(reasonFor({ customer_id: 'C 1' })).toMatch(/customer_id/);
    expect(reasonFor({ customer_id: 'C\u00e91' })).toMatch(/customer_id/);
    expect(reasonFor({ customer_id: 'C'.repeat(201) })).toMatch(/customer_id/);
    expect(reasonFor({ plate: 'AB\ud800' })).toMatch(/plate.*well-formed/);
    expect(reasonFor({ tag_id: 42 })).toBe('tag_id must be a string');
  });

  it('rejects values that are not objects', () => {
    for (const value of [null, 'tx', 3, [good]]) expect(validateTransaction(value).ok).toBe(false);
  });
});

describe('isDayKey', () => {
  const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const realDate = (y: number, m: number, d: number) => m >= 1 && m <= 12 && d >= 1 && d <= [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  const referenceDay = (text: string) => /^\d{4}-\d{2}-\d{2}$/.test(text) && realDate(+text.slice(0, 4), +text.slice(5, 7), +text.slice(8, 10));

  it('takes real calendar days only', () => {
    const samples = ['2026-11-26', '2028-02-29', '2026-02-29', '2000-02-29', '1900-02-29', '0000-02-29', '2026-04-31', '2026-12-31', '2026-13-01',
      '2026-1-01', '2026-01-1', '2026/01/01', '2026-01-01T', ' 2026-01-01', '20a6-01-01', '2026-00-01', '2026-01-00', '2026-01-32'];
    for (const text of samples) expect(isDayKey(text), text).toBe(referenceDay(text));
    expect(isDayKey(20261126)).toBe(false);
  });
});

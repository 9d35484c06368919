import { describe, expect, it } from 'vitest';
import { populationFor, TrafficGenerator } from './generator.ts';
import { monthKeyFn, SpendOracle } from './oracle.ts';

const START = Date.parse('2026-11-26T06:00:00Z');

function take(gen: TrafficGenerator, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(gen.next());
  return out;
}

describe('TrafficGenerator', () => {
  it('is repeatable for a seed and differs across seeds', () => {
    const a = take(new TrafficGenerator({ seed: 7, startTime: START }), 500);
    const b = take(new TrafficGenerator({ seed: 7, startTime: START }), 500);
    const c = take(new TrafficGenerator({ seed: 8, startTime: START }), 500);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('produces transactions that fit the toll schema', () => {
    for (const { transaction: tx } of take(new TrafficGenerator({ seed: 3, startTime: START }), 2000)) {
      expect(tx.transaction_id).toMatch(/^tx-/);
      expect(tx.customer_id).toMatch(/^C\d{7}$/);
      expect(Number.isInteger(tx.amount_cents) && tx.amount_cents > 0).toBe(true);
      expect(tx.vehicle_class).toBeGreaterThanOrEqual(1);
      expect(tx.vehicle_class).toBeLessThanOrEqual(5);
      expect(tx.lane).toBeGreaterThanOrEqual(1);
      expect(new Date(tx.event_time).toISOString()).toBe(tx.event_time);
      expect(tx.currency).toBe('USD');
    }
  });

  it('sends the configured shares of retries, out-of-order and late records', () => {
    const gen = new TrafficGenerator({ seed: 5, startTime: START, duplicateShare: 0.05, outOfOrderShare: 0.1, lateShare: 0.02, eventsPerSecond: 1000 });
    const records = take(gen, 20_000);
    const dups = records.filter((r) => r.duplicate);
    expect(dups.length / records.length).toBeGreaterThan(0.03);
    expect(dups.length / records.length).toBeLessThan(0.07);
    const ids = new Set(records.filter((r) => !r.duplicate).map((r) => r.transaction.transaction_id));
    for (const d of dups) expect(ids.has(d.transaction.transaction_id)).toBe(true);
    const fresh = records.filter((r) => !r.duplicate);
    const late = fresh.filter((r) => r.sentAt - Date.parse(r.transaction.event_time) >= 5 * 60_000);
    const behind = fresh.filter((r) => r.sentAt - Date.parse(r.transaction.event_time) >= 1);
    expect(late.length / fresh.length).toBeGreaterThan(0.01);
    expect(late.length / fresh.length).toBeLessThan(0.03);
    expect(behind.length / fresh.length).toBeGreaterThan(0.08);
  });

  it('has heavy and light customers', () => {
    const counts = new Map<string, number>();
    for (const { transaction } of take(new TrafficGenerator({ seed: 9, customers: 1000, startTime: START }), 50_000)) {
      counts.set(transaction.customer_id, (counts.get(transaction.customer_id) ?? 0) + 1);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top10 = sorted.slice(0, 100).reduce((a, b) => a + b, 0);
    // The busiest tenth of customers make far more than a tenth of the trips.
    expect(top10 / 50_000).toBeGreaterThan(0.3);
  });

  it('follows the daily profile: rush hour is busier than the night', () => {
    const gen = new TrafficGenerator({ seed: 2, startTime: Date.parse('2026-11-26T00:00:00Z'), eventsPerSecond: 5, duplicateShare: 0, outOfOrderShare: 0, lateShare: 0 });
    const perHour = new Array<number>(24).fill(0);
    for (const r of gen.until(Date.parse('2026-11-27T00:00:00Z'))) perHour[new Date(r.sentAt).getUTCHours()]!++;
    expect(perHour[8]!).toBeGreaterThan(perHour[3]! * 5);
  });

  it('plants a traffic drop and a total outage at a plaza', () => {
    const from = START + 60_000;
    const to = START + 10 * 60_000;
    const gen = new TrafficGenerator({
      seed: 4, plazas: 3, startTime: START, eventsPerSecond: 50, dailyProfile: false,
      drops: [{ plazaId: 'P01', from, to, factor: 0 }, { plazaId: 'P02', from, to, factor: 0.2 }],
    });
    const inWindow = new Map<string, number>();
    const before = new Map<string, number>();
    for (const r of gen.until(START + 20 * 60_000)) {
      const t = Date.parse(r.transaction.event_time);
      if (r.duplicate) continue;
      const bucket = t >= from && t < to ? inWindow : t < from ? before : undefined;
      if (bucket) bucket.set(r.transaction.plaza_id, (bucket.get(r.transaction.plaza_id) ?? 0) + 1);
    }
    expect(inWindow.get('P01') ?? 0).toBe(0);
    // Per minute: the window lasts 9 minutes, the time before it 1 minute.
    const p2PerMinuteDuring = (inWindow.get('P02') ?? 0) / 9;
    const p2PerMinuteBefore = before.get('P02')!;
    expect(p2PerMinuteDuring).toBeLessThan(p2PerMinuteBefore * 0.4);
    expect(inWindow.get('P03')).toBeGreaterThan(0);
  });

  it('plants spend for a customer at a known time', () => {
    const gen = new TrafficGenerator({ seed: 1, customers: 10, startTime: START, plantedSpends: [{ customerId: 'C0000003', at: START + 5000, amountCents: 123_456 }] });
    const hit = take(gen, 5000).find((r) => r.transaction.amount_cents === 123_456);
    expect(hit?.transaction.customer_id).toBe('C0000003');
    expect(Date.parse(hit!.transaction.event_time)).toBeGreaterThanOrEqual(START + 5000);
  });
});

describe('spending like a real month', () => {
  function quantile(sorted: readonly number[], q: number): number {
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }

  it('gives customers, over a simulated month, bills like real ones: tens to a couple of hundred dollars', () => {
    // A low rate keeps the month small enough to generate here; the population follows the rate as it does for
    // `tollstream simulate` without --customers, so each customer's month is the same at any rate.
    const eventsPerSecond = 0.05;
    const customers = populationFor(eventsPerSecond);
    const from = Date.parse('2026-11-01T00:00:00Z');
    const to = Date.parse('2026-12-01T00:00:00Z');
    const gen = new TrafficGenerator({ seed: 12, customers, eventsPerSecond, startTime: from });
    const cents = new Map<string, number>();
    const trips = new Map<string, number>();
    let records = 0;
    for (const { transaction: tx, duplicate } of gen.until(to)) {
      const t = Date.parse(tx.event_time);
      if (duplicate || t < from || t >= to) continue;
      records++;
      cents.set(tx.customer_id, (cents.get(tx.customer_id) ?? 0) + tx.amount_cents);
      trips.set(tx.customer_id, (trips.get(tx.customer_id) ?? 0) + 1);
    }
    expect(records).toBeGreaterThan(100_000);
    // Every customer of the population has a bill, $0 for one who did not drive this month.
    const dollars = [...cents.values(), ...new Array<number>(customers - cents.size).fill(0)].map((c) => c / 100).sort((a, b) => a - b);
    const median = quantile(dollars, 0.5);
    expect(median).toBeGreaterThanOrEqual(20);
    expect(median).toBeLessThanOrEqual(200);
    expect(quantile(dollars, 0.25)).toBeGreaterThanOrEqual(3);
    expect(quantile(dollars, 0.25)).toBeLessThanOrEqual(60);
    expect(quantile(dollars, 0.9)).toBeGreaterThanOrEqual(100);
    expect(quantile(dollars, 0.9)).toBeLessThanOrEqual(600);
    // Fleets of trucks pay more, but they are few and their bills stay those of a business, not a toll a minute.
    expect(quantile(dollars, 0.99)).toBeLessThanOrEqual(3000);
    expect(dollars.at(-1)!).toBeLessThanOrEqual(6000);
    // Commuters cross twice a workday; nobody crosses hundreds of times a month.
    const perCustomer = [...trips.values()].sort((a, b) => a - b);
    expect(quantile(perCustomer, 0.5)).toBeGreaterThanOrEqual(5);
    expect(quantile(perCustomer, 0.5)).toBeLessThanOrEqual(60);
    expect(perCustomer.at(-1)!).toBeLessThanOrEqual(300);
  });

  it('reaches a high rate with many customers, not with a few crossing constantly', () => {
    // The audit's run: 10 s at 500/s gave one customer 35 tolls and $391.60.
    const gen = new TrafficGenerator({ seed: 1, customers: populationFor(500), eventsPerSecond: 500, startTime: START });
    const cents = new Map<string, number>();
    const trips = new Map<string, number>();
    for (const { transaction: tx, duplicate } of gen.until(START + 10_000)) {
      if (duplicate) continue;
      cents.set(tx.customer_id, (cents.get(tx.customer_id) ?? 0) + tx.amount_cents);
      trips.set(tx.customer_id, (trips.get(tx.customer_id) ?? 0) + 1);
    }
    expect(Math.max(...trips.values())).toBeLessThanOrEqual(3);
    expect(Math.max(...cents.values())).toBeLessThanOrEqual(10_000);
    expect(populationFor(2000)).toBeGreaterThan(10_000_000);
  });
});

describe('SpendOracle', () => {
  it('counts a retried transaction once and detects one breach per customer and month', () => {
    const oracle = new SpendOracle(new Map([['C1', 1000]]));
    const base = { customer_id: 'C1', tag_id: 't', plate: 'p', plaza_id: 'P01', lane: 1, vehicle_class: 2, currency: 'USD' };
    oracle.add({ ...base, transaction_id: 'a', amount_cents: 600, event_time: '2026-11-10T00:00:00.000Z' });
    oracle.add({ ...base, transaction_id: 'a', amount_cents: 600, event_time: '2026-11-10T00:00:00.000Z' });
    expect(oracle.total('C1', '2026-11')).toBe(600);
    oracle.add({ ...base, transaction_id: 'b', amount_cents: 500, event_time: '2026-11-11T00:00:00.000Z' });
    oracle.add({ ...base, transaction_id: 'c', amount_cents: 500, event_time: '2026-11-12T00:00:00.000Z' });
    oracle.add({ ...base, transaction_id: 'd', amount_cents: 1500, event_time: '2026-12-01T00:00:00.000Z' });
    expect(oracle.breachList).toEqual([
      { customerId: 'C1', month: '2026-11', thresholdCents: 1000, transactionId: 'b', totalCents: 1100 },
      { customerId: 'C1', month: '2026-12', thresholdCents: 1000, transactionId: 'd', totalCents: 1500 },
    ]);
  });

  it('starts months in the configured time zone', () => {
    const ny = monthKeyFn('America/New_York');
    expect(ny(Date.parse('2026-12-01T03:00:00Z'))).toBe('2026-11');
    expect(ny(Date.parse('2026-12-01T06:00:00Z'))).toBe('2026-12');
    expect(monthKeyFn('UTC')(Date.parse('2026-12-01T03:00:00Z'))).toBe('2026-12');
  });
});

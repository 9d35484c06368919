import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Customers } from './customers.ts';
import { SpendLedger, type SpendEntry } from './ledger.ts';
import { TABLES } from './tables.ts';
import { openStores, settledInbox, tempDir, type Stores } from './testing/harness.ts';
import { sqliteTableStore } from '../../tables/index.ts';

const CUSTOMERS = ['C1', 'C2', 'C3', 'C4'];

/** Deterministic spend over two months and several days, tolls and windows mixed, a few customers repeating. */
function entries(count: number): SpendEntry[] {
  let seed = 7;
  const next = (n: number) => ((seed = (seed * 48271) % 2147483647) % n);
  const out: SpendEntry[] = [];
  for (let i = 0; i < count; i++) {
    const eventTimeMs = Date.UTC(2026, 9, 29) + next(6 * 86_400_000);
    const customerId = CUSTOMERS[next(CUSTOMERS.length)]!;
    const cents = next(400);
    if (next(2) === 0) {
      out.push({ customerId, eventTimeMs, cents, source: { kind: 'transaction', transactionId: `t${i}` } });
    } else {
      const start = new Date(eventTimeMs).toISOString();
      // A third of the windows name their day (and month), as the SQL job does; a third only a month, that of
      // six hours earlier (so around midnight of a month's last day the day counts in another month's item);
      // the rest leave both to the ledger.
      const kind = next(3);
      const named = kind === 0 ? { month: start.slice(0, 7), day: start.slice(0, 10) } : kind === 1 ? { month: new Date(eventTimeMs - 6 * 3_600_000).toISOString().slice(0, 7) } : {};
      out.push({ customerId, eventTimeMs, cents, source: { kind: 'window', windowStart: start, windowEnd: new Date(eventTimeMs + 1000).toISOString(), transactions: 1 + next(3), ...named } });
    }
  }
  return out;
}

describe('SpendLedger.applySpendBatch', () => {
  let temps: Awaited<ReturnType<typeof tempDir>>[];
  let one: Stores;
  let batched: Stores;

  beforeEach(async () => {
    temps = [await tempDir(), await tempDir()];
    one = await openStores(temps[0]!.dir);
    batched = await openStores(temps[1]!.dir);
    for (const stores of [one, batched]) {
      stores.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
      stores.notify.start();
      const customers = await Customers.open({ store: stores.store });
      for (const id of CUSTOMERS) await customers.create({ id, name: id, email: `${id.toLowerCase()}@example.com` });
      // Low enough to be crossed in both months; C4 has none.
      await customers.setThreshold('C1', 3_000);
      await customers.setThreshold('C2', 5_000);
      await customers.setThreshold('C3', 12_000);
    }
  });

  afterEach(async () => {
    for (const stores of [one, batched]) await stores.close();
    for (const temp of temps) await temp.remove();
  });

  it('has the effects of applying each entry in order: the same totals and the same breach notifications', async () => {
    const all = entries(600);
    const dayInOtherMonth = all.filter((e) => e.source.kind === 'window' && e.source.month !== undefined && e.source.month !== new Date(e.eventTimeMs).toISOString().slice(0, 7));
    expect(dayInOtherMonth.length).toBeGreaterThan(0);
    const ledger = new SpendLedger();
    let crossedOneByOne = 0;
    let crossedBatched = 0;
    for (let i = 0; i < all.length; i += 75) {
      const batch = all.slice(i, i + 75);
      await sqliteTableStore(one.tables).transaction(async (tx) => {
        for (const e of batch) if ((await ledger.applySpend(tx, e.customerId, e.eventTimeMs, e.cents, e.source)).breachedThresholdCents !== undefined) crossedOneByOne++;
      });
      crossedBatched += await sqliteTableStore(batched.tables).transaction((tx) => ledger.applySpendBatch(tx, batch));
    }
    expect(crossedBatched).toBe(crossedOneByOne);
    expect(crossedOneByOne).toBeGreaterThanOrEqual(4);
    for (const id of CUSTOMERS) {
      for (const table of [TABLES.monthlyTotals, TABLES.dailyTotals]) {
        const values = (stores: Stores) => stores.tables.query(table, id, { limit: 1000 }).items.map((item) => [item.sk, item.value]);
        expect(values(batched), `${table} of ${id}`).toEqual(values(one));
      }
      const messages = async (stores: Stores) => (await settledInbox(stores.notify, 'spend-alerts', id)).map((e) => [e.idempotencyKey, e.message]);
      expect(await messages(batched), `breaches of ${id}`).toEqual(await messages(one));
    }
    expect(await settledInbox(batched.notify, 'spend-alerts', 'C4')).toEqual([]);
  });
});

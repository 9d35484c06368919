import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Customers } from './customers.ts';
import { SpendLedger } from './ledger.ts';
import { TABLES } from './tables.ts';
import { openStores, settledInbox, tempDir, type Stores } from './testing/harness.ts';
import { sqliteTableStore } from '../../tables/index.ts';

const NOV_15 = Date.UTC(2026, 10, 15, 12);
const TOPIC = 'spend-alerts';

describe('customers', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let stores: Stores;
  let customers: Customers;
  let ledger: SpendLedger;
  let now = NOV_15;

  beforeEach(async () => {
    temp = await tempDir();
    stores = await openStores(temp.dir);
    stores.notify.createTopic(TOPIC, { kind: 'inbox', customerField: 'customer_id' });
    stores.notify.start();
    now = NOV_15;
    customers = new Customers({ tables: stores.tables, now: () => now });
    ledger = new SpendLedger();
    customers.create({ id: 'C1', name: 'Ada', email: 'ada@example.com' });
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  const spend = (cents: number, at = now, id = `t-${Math.random()}`) =>
    sqliteTableStore(stores.tables).transaction((tx) => ledger.applySpend(tx, 'C1', at, cents, { kind: 'transaction', transactionId: id }));

  it('creates, reads and updates a customer', () => {
    expect(customers.get('C1')).toMatchObject({ id: 'C1', name: 'Ada', email: 'ada@example.com', createdAt: NOV_15 });
    expect(customers.update({ id: 'C1', name: 'Ada L.', email: 'ada@example.org', timeZone: 'Europe/London' })).toMatchObject({ name: 'Ada L.', timeZone: 'Europe/London' });
    expect(() => customers.create({ id: 'C1', name: 'Again', email: 'a@b.c' })).toThrow(/already exists/);
    expect(() => customers.update({ id: 'C9', name: 'Nobody', email: 'n@b.c' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => customers.create({ id: 'C2', name: 'Bad', email: 'not-an-email' })).toThrow(/not an email/);
    expect(() => customers.create({ id: 'C2', name: 'Bad', email: 'b@c.d', timeZone: 'Mars/Olympus' })).toThrow(/not an IANA time zone/);
    expect(customers.get('C9')).toBeUndefined();
  });

  it('issues tokens shown once, stores only their hash, finds the customer by token and forgets revoked ones', () => {
    const issued = customers.issueToken('C1');
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(customers.customerForToken(issued.token)?.id).toBe('C1');

    const hash = createHash('sha256').update(issued.token).digest('hex');
    const stored = stores.tables.get(TABLES.tokens, { pk: hash });
    expect(stored?.value).toEqual({ customer_id: 'C1', token_id: issued.tokenId, created_at: NOV_15 });
    expect(JSON.stringify(stores.tables.query(TABLES.tokensByCustomer, 'C1').items)).not.toContain(issued.token);

    const second = customers.issueToken('C1');
    expect(second.token).not.toBe(issued.token);
    expect(customers.listTokens('C1').map((t) => t.tokenId).sort()).toEqual([issued.tokenId, second.tokenId].sort());

    expect(customers.revokeToken('C1', issued.tokenId)).toBe(true);
    expect(customers.customerForToken(issued.token)).toBeUndefined();
    expect(customers.customerForToken(second.token)?.id).toBe('C1');
    expect(customers.revokeToken('C1', issued.tokenId)).toBe(false);

    for (const bad of ['', 'x'.repeat(43), issued.token.slice(1), undefined, 42]) expect(customers.customerForToken(bad)).toBeUndefined();
    expect(() => customers.issueToken('C9')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('notifies at once when a threshold is set below the month so far, once per threshold', async () => {
    await spend(5000);
    expect(customers.setThreshold('C1', 3000)).toEqual({ customerId: 'C1', thresholdCents: 3000, month: '2026-11', monthTotalCents: 5000, breached: true });
    expect(customers.setThreshold('C1', 3000).breached).toBe(true);
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => e.message)).toEqual([
      { type: 'threshold_breach', customer_id: 'C1', month: '2026-11', threshold_cents: 3000, total_cents: 5000, breached_at: new Date(NOV_15).toISOString(), cause: 'threshold_change' },
    ]);
    expect(inbox[0]!.idempotencyKey).toBe('breach:C1:2026-11:3000');
  });

  it('breaches a raised threshold again, and a lowered one at once', async () => {
    customers.setThreshold('C1', 3000);
    await spend(2000);
    await spend(1500, now, 'crossing-1');
    await spend(9000);
    expect(customers.setThreshold('C1', 20_000).breached).toBe(false);
    await spend(6000);
    await spend(4000, now, 'crossing-2');
    await spend(100);
    expect(customers.setThreshold('C1', 10_000)).toMatchObject({ breached: true, monthTotalCents: 22_600 });
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => [e.message.threshold_cents, e.message.total_cents, e.message.cause, e.message.transaction_id])).toEqual([
      [3000, 3500, 'transaction', 'crossing-1'],
      [20_000, 22_500, 'transaction', 'crossing-2'],
      [10_000, 22_600, 'threshold_change', undefined],
    ]);
  });

  it('sends nothing for a threshold above the month, and nothing once cleared', async () => {
    await spend(1000);
    expect(customers.setThreshold('C1', 1000).breached).toBe(false);
    customers.clearThreshold('C1');
    await spend(5000);
    expect(customers.get('C1')?.thresholdCents).toBeUndefined();
    expect(await settledInbox(stores.notify, TOPIC, 'C1')).toEqual([]);
    expect(() => customers.setThreshold('C1', 12.5)).toThrow(/whole number of cents/);
    expect(() => customers.setThreshold('C9', 100)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});

import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Customers } from './customers.ts';
import { SpendLedger } from './ledger.ts';
import { TABLES } from './tables.ts';
import { openStores, settledInbox, tempDir, type Stores } from './testing/harness.ts';

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
    customers = await Customers.open({ store: stores.store, now: () => now });
    ledger = new SpendLedger();
    await customers.create({ id: 'C1', name: 'Ada', email: 'ada@example.com' });
  });

  afterEach(async () => {
    await stores.close();
    await temp.remove();
  });

  const spend = (cents: number, at = now, id = `t-${Math.random()}`) =>
    stores.store.transaction((tx) => ledger.applySpend(tx, 'C1', at, cents, { kind: 'transaction', transactionId: id }));

  it('creates, reads and updates a customer', async () => {
    expect(await customers.get('C1')).toMatchObject({ id: 'C1', name: 'Ada', email: 'ada@example.com', createdAt: NOV_15 });
    expect(await customers.update({ id: 'C1', name: 'Ada L.', email: 'ada@example.org', timeZone: 'Europe/London' })).toMatchObject({ name: 'Ada L.', timeZone: 'Europe/London' });
    await expect(customers.create({ id: 'C1', name: 'Again', email: 'a@b.c' })).rejects.toThrow(/already exists/);
    await expect(customers.update({ id: 'C9', name: 'Nobody', email: 'n@b.c' })).rejects.toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    await expect(customers.create({ id: 'C2', name: 'Bad', email: 'not-an-email' })).rejects.toThrow(/not an email/);
    await expect(customers.create({ id: 'C2', name: 'Bad', email: 'b@c.d', timeZone: 'Mars/Olympus' })).rejects.toThrow(/not an IANA time zone/);
    expect(await customers.get('C9')).toBeUndefined();
  });

  it('issues tokens shown once, stores only their hash, finds the customer by token and forgets revoked ones', async () => {
    const issued = await customers.issueToken('C1');
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await customers.customerForToken(issued.token))?.id).toBe('C1');

    const hash = createHash('sha256').update(issued.token).digest('hex');
    const stored = await stores.store.get(TABLES.tokens, { pk: hash });
    expect(stored?.value).toEqual({ customer_id: 'C1', token_id: issued.tokenId, created_at: NOV_15 });
    expect(JSON.stringify((await stores.store.query(TABLES.tokensByCustomer, 'C1')).items)).not.toContain(issued.token);

    const second = await customers.issueToken('C1');
    expect(second.token).not.toBe(issued.token);
    expect((await customers.listTokens('C1')).map((t) => t.tokenId).sort()).toEqual([issued.tokenId, second.tokenId].sort());

    expect(await customers.revokeToken('C1', issued.tokenId)).toBe(true);
    expect(await customers.customerForToken(issued.token)).toBeUndefined();
    expect((await customers.customerForToken(second.token))?.id).toBe('C1');
    expect(await customers.revokeToken('C1', issued.tokenId)).toBe(false);

    for (const bad of ['', 'x'.repeat(43), issued.token.slice(1), undefined, 42]) expect(await customers.customerForToken(bad)).toBeUndefined();
    await expect(customers.issueToken('C9')).rejects.toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('tells a customer token from any other bearer at once, also for tokens issued before it was opened', async () => {
    const kept = await customers.issueToken('C1');
    const revoked = await customers.issueToken('C1');
    await customers.revokeToken('C1', revoked.tokenId);
    expect(customers.isCustomerToken(kept.token)).toBe(true);
    expect(customers.isCustomerToken(revoked.token)).toBe(false);
    expect(customers.isCustomerToken('x'.repeat(43))).toBe(false);

    // Another process on the same tables (a restart, or another node) reads the tokens that exist.
    const reopened = await Customers.open({ store: stores.store });
    expect(reopened.isCustomerToken(kept.token)).toBe(true);
    expect(reopened.isCustomerToken(revoked.token)).toBe(false);
    // A token issued by the other one is known here from its first use on.
    const elsewhere = await customers.issueToken('C1');
    expect(reopened.isCustomerToken(elsewhere.token)).toBe(false);
    expect((await reopened.customerForToken(elsewhere.token))?.id).toBe('C1');
    expect(reopened.isCustomerToken(elsewhere.token)).toBe(true);
  });

  it('notifies at once when a threshold is set below the month so far, once per threshold', async () => {
    await spend(5000);
    expect(await customers.setThreshold('C1', 3000)).toEqual({ customerId: 'C1', thresholdCents: 3000, month: '2026-11', monthTotalCents: 5000, breached: true });
    expect((await customers.setThreshold('C1', 3000)).breached).toBe(true);
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => e.message)).toEqual([
      { type: 'threshold_breach', customer_id: 'C1', month: '2026-11', threshold_cents: 3000, total_cents: 5000, breached_at: new Date(NOV_15).toISOString(), cause: 'threshold_change' },
    ]);
    expect(inbox[0]!.idempotencyKey).toBe('breach:C1:2026-11:3000');
  });

  it('breaches a raised threshold again, and a lowered one at once', async () => {
    await customers.setThreshold('C1', 3000);
    await spend(2000);
    await spend(1500, now, 'crossing-1');
    await spend(9000);
    expect((await customers.setThreshold('C1', 20_000)).breached).toBe(false);
    await spend(6000);
    await spend(4000, now, 'crossing-2');
    await spend(100);
    expect(await customers.setThreshold('C1', 10_000)).toMatchObject({ breached: true, monthTotalCents: 22_600 });
    const inbox = await settledInbox(stores.notify, TOPIC, 'C1');
    expect(inbox.map((e) => [e.message.threshold_cents, e.message.total_cents, e.message.cause, e.message.transaction_id])).toEqual([
      [3000, 3500, 'transaction', 'crossing-1'],
      [20_000, 22_500, 'transaction', 'crossing-2'],
      [10_000, 22_600, 'threshold_change', undefined],
    ]);
  });

  it('sends nothing for a threshold above the month, and nothing once cleared', async () => {
    await spend(1000);
    expect((await customers.setThreshold('C1', 1000)).breached).toBe(false);
    await customers.clearThreshold('C1');
    await spend(5000);
    expect((await customers.get('C1'))?.thresholdCents).toBeUndefined();
    expect(await settledInbox(stores.notify, TOPIC, 'C1')).toEqual([]);
    await expect(customers.setThreshold('C1', 12.5)).rejects.toThrow(/whole number of cents/);
    await expect(customers.setThreshold('C9', 100)).rejects.toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});

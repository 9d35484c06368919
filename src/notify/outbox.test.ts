import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import { sqliteTableStore, type TableTx } from '../tables/index.ts';
import { openFixture, waitFor, type NotifyFixture } from './test-helpers.ts';

let f: NotifyFixture;

beforeEach(() => {
  f = openFixture();
  f.tables.createTable('monthly_spend', { sortKey: true });
  f.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
});

afterEach(async () => {
  await f.close();
});

const THRESHOLD_CENTS = 5000;

interface Spend {
  sequenceNumber: string;
  customer: string;
  cents: number;
}

/**
 * The spending-alert function: add each record to the monthly total and, when a record takes the total
 * over the threshold, publish one alert; checkpoint the batch, all in one transaction.
 */
function spendingAlerts(tx: TableTx, batch: readonly Spend[]): void {
  const done = tx.getCheckpoint('alerts', 'toll_transactions', 'shard-0')?.sequenceNumber;
  for (const r of batch) {
    if (done !== undefined && BigInt(r.sequenceNumber) <= BigInt(done)) continue;
    const item = tx.update<{ total_cents: number }>('monthly_spend', { pk: r.customer, sk: '2026-11' }, { add: { total_cents: r.cents } });
    if (item.value.total_cents >= THRESHOLD_CENTS) {
      tx.publish(
        'spend-alerts',
        { customer_id: r.customer, month: '2026-11', total_cents: item.value.total_cents, threshold_cents: THRESHOLD_CENTS },
        { idempotencyKey: `spend-alert:${r.customer}:2026-11:${THRESHOLD_CENTS}` },
      );
    }
  }
  const last = batch[batch.length - 1];
  if (last) tx.setCheckpoint('alerts', 'toll_transactions', 'shard-0', last.sequenceNumber);
}

describe('outbox', () => {
  const batch: Spend[] = [
    { sequenceNumber: '01', customer: 'c-1', cents: 3000 },
    { sequenceNumber: '02', customer: 'c-1', cents: 2500 },
    { sequenceNumber: '03', customer: 'c-1', cents: 100 },
    { sequenceNumber: '04', customer: 'c-2', cents: 100 },
  ];

  it('sends exactly one notification per key when the transaction is repeated', async () => {
    f.notify.start();
    f.tables.transaction((tx) => spendingAlerts(tx, batch));
    // Redelivery after the commit, and a retry that ignores the checkpoint: neither notifies again.
    f.tables.transaction((tx) => spendingAlerts(tx, batch));
    f.tables.transaction((tx) => {
      tx.setCheckpoint('alerts', 'toll_transactions', 'shard-0', '00');
      spendingAlerts(tx, batch);
    });
    await waitFor('the alert in the inbox', () => f.notify.unreadCount('c-1') > 0);
    // Give any wrongly created second entry the same chance to appear before counting.
    await f.notify.stop();
    f.notify.start();
    await new Promise((r) => setTimeout(r, 100));
    const inbox = f.notify.listInbox('c-1');
    expect(inbox).toHaveLength(1);
    expect(inbox[0]?.message).toEqual({ customer_id: 'c-1', month: '2026-11', total_cents: 5500, threshold_cents: 5000 });
    expect(inbox[0]?.idempotencyKey).toBe('spend-alert:c-1:2026-11:5000');
    expect(f.notify.listInbox('c-2')).toEqual([]);
  });

  it('a transaction that fails after publishing leaves no notification', async () => {
    expect(() =>
      f.tables.transaction((tx) => {
        spendingAlerts(tx, batch);
        throw new Error('crash before commit');
      }),
    ).toThrow('crash before commit');
    f.notify.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(f.notify.listInbox('c-1')).toEqual([]);
    // The redelivered batch then notifies once.
    f.tables.transaction((tx) => spendingAlerts(tx, batch));
    await waitFor('the alert', () => f.notify.listInbox('c-1').length === 1);
  });

  it('reports a duplicate key as a no-op', () => {
    const first = f.notify.publish('spend-alerts', { customer_id: 'c-1', n: 1 }, { idempotencyKey: 'k-1' });
    const again = f.notify.publish('spend-alerts', { customer_id: 'c-1', n: 2 }, { idempotencyKey: 'k-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ outboxId: first.outboxId, duplicate: true });
  });

  it('refuses unknown topics, missing customer ids and bad keys, failing the transaction', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as TollstreamError).code;
      }
      return 'no error';
    };
    expect(code(() => f.notify.publish('nope', {}, { idempotencyKey: 'k' }))).toBe('NOT_FOUND');
    expect(code(() => f.notify.publish('spend-alerts', { total: 1 }, { idempotencyKey: 'k' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => f.notify.publish('spend-alerts', { customer_id: 'c-1' }, { idempotencyKey: 'has space' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => f.notify.publish('spend-alerts', { customer_id: 'c-1', big: 2 ** 60 }, { idempotencyKey: 'k' }))).toBe('INVALID_ARGUMENT');
    expect(
      code(() =>
        f.tables.transaction((tx) => {
          tx.put('monthly_spend', { pk: 'c-1', sk: 'x' }, { a: 1 });
          tx.publish('nope', {}, { idempotencyKey: 'k' });
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(f.tables.get('monthly_spend', { pk: 'c-1', sk: 'x' })).toBeUndefined();
  });
});

describe('publish through the asynchronous door on SQLite', () => {
  it('commits the outbox row with the writes, and none when the function rejects', async () => {
    const store = sqliteTableStore(f.tables);
    await expect(
      store.transaction(async (tx) => {
        await tx.put('monthly_spend', { pk: 'c-1', sk: 'x' }, { a: 1 });
        await tx.publish('spend-alerts', { customer_id: 'c-1' }, { idempotencyKey: 'door-0' });
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(f.notify.stats().outboxPending).toBe(0);
    const result = await store.transaction(async (tx) => {
      await tx.put('monthly_spend', { pk: 'c-1', sk: 'x' }, { a: 1 });
      return tx.publish('spend-alerts', { customer_id: 'c-1' }, { idempotencyKey: 'door-1' });
    });
    expect(result.duplicate).toBe(false);
    f.notify.start();
    await waitFor('the inbox entry', () => f.notify.listInbox('c-1').length === 1);
    expect(f.notify.listInbox('c-1')[0]?.idempotencyKey).toBe('door-1');
  });
});

describe('prune', () => {
  it('removes handled outbox rows, after which their key is forgotten, but keeps undelivered ones', async () => {
    f.notify.createTopic('hooks');
    f.notify.subscribe('hooks', { protocol: 'webhook', url: 'http://127.0.0.1:9/unreachable', secret: 'secret-123' });
    f.notify.publish('spend-alerts', { customer_id: 'c-1' }, { idempotencyKey: 'done-1' });
    f.notify.publish('hooks', { a: 1 }, { idempotencyKey: 'pending-1' });
    f.notify.start();
    await waitFor('the inbox entry', () => f.notify.listInbox('c-1').length === 1);
    await f.notify.stop();

    expect(f.notify.prune({ before: Date.now() + 1000 })).toEqual({ outbox: 1, deliveries: 0 });
    expect(f.notify.listInbox('c-1')).toHaveLength(1);
    expect(f.notify.publish('spend-alerts', { customer_id: 'c-1' }, { idempotencyKey: 'done-1' }).duplicate).toBe(false);
    expect(f.notify.publish('hooks', { a: 1 }, { idempotencyKey: 'pending-1' }).duplicate).toBe(true);
  });
});

describe('inbox', () => {
  it('delivers standard topics to inbox subscriptions and keeps read state', async () => {
    f.notify.createTopic('service', { kind: 'standard' });
    f.notify.subscribe('service', { protocol: 'inbox', customerId: 'c-7' });
    f.notify.start();
    for (let i = 1; i <= 3; i++) f.notify.publish('service', { text: `notice ${i}` }, { idempotencyKey: `svc-${i}` });
    await waitFor('three entries', () => f.notify.listInbox('c-7').length === 3);

    const entries = f.notify.listInbox('c-7');
    expect(entries.map((e) => e.message.text)).toEqual(['notice 1', 'notice 2', 'notice 3']);
    expect(entries.every((e, i) => i === 0 || e.id > (entries[i - 1]?.id ?? 0))).toBe(true);
    expect(f.notify.unreadCount('c-7')).toBe(3);

    const [first, second, third] = entries;
    expect(f.notify.markRead('c-7', [first?.id ?? 0, second?.id ?? 0])).toBe(2);
    expect(f.notify.markRead('c-7', [first?.id ?? 0])).toBe(0);
    expect(f.notify.markRead('c-other', [third?.id ?? 0])).toBe(0);
    expect(f.notify.unreadCount('c-7')).toBe(1);
    expect(f.notify.listInbox('c-7', { after: first?.id ?? 0 }).map((e) => [e.message.text, e.read])).toEqual([
      ['notice 2', true],
      ['notice 3', false],
    ]);
    expect(f.notify.listInbox('c-7', { order: 'desc', limit: 1 }).map((e) => e.message.text)).toEqual(['notice 3']);
  });
});

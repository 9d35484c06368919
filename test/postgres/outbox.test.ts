import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresNotify, publishToPostgresNotify, type PostgresNotify } from '../../src/notify/index.ts';
import { waitFor } from '../support/wait.ts';
import { openPostgresTables, type StoreTx, type TableStore } from '../../src/tables/index.ts';
import { postgresUrl } from './server.ts';

const THRESHOLD_CENTS = 5000;

interface Spend {
  sequenceNumber: string;
  customer: string;
  cents: number;
}

/** The spending-alert function through the asynchronous door: totals, one alert per crossing, the checkpoint. */
async function spendingAlerts(tx: StoreTx, batch: readonly Spend[]): Promise<void> {
  const done = (await tx.getCheckpoint('alerts', 'toll_transactions', 'shard-0'))?.sequenceNumber;
  for (const r of batch) {
    if (done !== undefined && BigInt(r.sequenceNumber) <= BigInt(done)) continue;
    const item = await tx.update<{ total_cents: number }>('monthly_spend', { pk: r.customer, sk: '2026-11' }, { add: { total_cents: r.cents } });
    if (item.value.total_cents >= THRESHOLD_CENTS) {
      await tx.publish(
        'spend-alerts',
        { customer_id: r.customer, month: '2026-11', total_cents: item.value.total_cents, threshold_cents: THRESHOLD_CENTS },
        { idempotencyKey: `spend-alert:${r.customer}:2026-11:${THRESHOLD_CENTS}` },
      );
    }
  }
  const last = batch[batch.length - 1];
  if (last) await tx.setCheckpoint('alerts', 'toll_transactions', 'shard-0', last.sequenceNumber);
}

const batch: Spend[] = [
  { sequenceNumber: '01', customer: 'c-1', cents: 3000 },
  { sequenceNumber: '02', customer: 'c-1', cents: 2500 },
  { sequenceNumber: '03', customer: 'c-1', cents: 100 },
  { sequenceNumber: '04', customer: 'c-2', cents: 100 },
];

interface Node {
  readonly store: TableStore;
  readonly notify: PostgresNotify;
}

let schema: string;
let nodes: Node[];

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A node: its own pool on the shared tables schema, its own connections to the shared notifications. */
async function openNode(options: { pollIntervalMs?: number } = {}): Promise<Node> {
  const store = await openPostgresTables({ connectionString: postgresUrl(), schema });
  publishToPostgresNotify(store, { schema: `${schema}_notify` });
  const notify = await openPostgresNotify({ connectionString: postgresUrl(), schema: `${schema}_notify`, pollIntervalMs: options.pollIntervalMs ?? 50 });
  await notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id', ifNotExists: true });
  const node = { store, notify };
  nodes.push(node);
  return node;
}

beforeEach(async () => {
  schema = `outbox_${crypto.randomBytes(6).toString('hex')}`;
  nodes = [];
});

afterEach(async () => {
  for (const node of nodes) {
    await node.notify.close();
    await node.store.close();
  }
  await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_notify" CASCADE`);
});

describe('tx.publish in transactions of tables on PostgreSQL', () => {
  it('commits the notification with the state and checkpoint, and notifies once however often the batch is repeated', async () => {
    const { store, notify } = await openNode();
    await store.createTable('monthly_spend', { sortKey: true });
    notify.start();
    await store.transaction((tx) => spendingAlerts(tx, batch));
    // Redelivery after the commit, and a rerun that ignores the checkpoint: neither notifies again.
    await store.transaction((tx) => spendingAlerts(tx, batch));
    await store.transaction(async (tx) => {
      await tx.setCheckpoint('alerts', 'toll_transactions', 'shard-0', '00');
      await spendingAlerts(tx, batch);
    });
    await waitFor('the alert in the inbox', async () => (await notify.unreadCount('c-1')) > 0);
    await waitFor('nothing left to fan out', async () => (await notify.stats()).outboxPending === 0);
    const inbox = await notify.listInbox('c-1');
    expect(inbox).toHaveLength(1);
    // The message arrives as published, its attribute order included.
    expect(JSON.stringify(inbox[0]?.message)).toBe(JSON.stringify({ customer_id: 'c-1', month: '2026-11', total_cents: 5500, threshold_cents: 5000 }));
    expect(inbox[0]?.idempotencyKey).toBe('spend-alert:c-1:2026-11:5000');
    expect(await notify.listInbox('c-2')).toEqual([]);
  });

  it('a transaction that fails after publishing leaves no notification', async () => {
    const { store, notify } = await openNode();
    await store.createTable('monthly_spend', { sortKey: true });
    await expect(
      store.transaction(async (tx) => {
        await spendingAlerts(tx, batch);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect((await notify.stats()).outboxPending).toBe(0);
    expect(await store.get('monthly_spend', { pk: 'c-1', sk: '2026-11' })).toBeUndefined();
  });

  it('refuses a message for an unknown topic or without its customer, in the transaction', async () => {
    const { store } = await openNode();
    await expect(store.transaction((tx) => tx.publish('nope', { customer_id: 'c' }, { idempotencyKey: 'k' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.transaction((tx) => tx.publish('spend-alerts', { other: 'c' }, { idempotencyKey: 'k' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('the dispatchers of two nodes running at once fan every row out once', async () => {
    const a = await openNode();
    const b = await openNode();
    const customers = Array.from({ length: 150 }, (_, i) => `c-${i}`);
    await a.store.transaction(async (tx) => {
      for (const c of customers) await tx.publish('spend-alerts', { customer_id: c }, { idempotencyKey: `once:${c}` });
    });
    a.notify.start();
    b.notify.start();
    await waitFor('every message fanned out', async () => (await a.notify.stats()).outboxPending === 0);
    for (const c of customers) {
      const [onA, onB] = [await a.notify.listInbox(c), await b.notify.listInbox(c)];
      expect(onA).toHaveLength(1);
      expect(onB).toEqual(onA);
    }
  });
});

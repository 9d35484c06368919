import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgresOutbox, type PostgresOutbox } from '../../src/notify/index.ts';
import { openFixture, waitFor, type NotifyFixture } from '../../src/notify/test-helpers.ts';
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
  readonly fixture: NotifyFixture;
  readonly outbox: PostgresOutbox;
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

/** Waits until a connection with this application name has run its LISTEN. */
async function listening(applicationName: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = await client.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle' AND query LIKE 'LISTEN%'", [applicationName]);
      if (found.rowCount) return;
      if (Date.now() > deadline) throw new Error(`no connection ${applicationName} listening`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await client.end();
  }
}

/** A node: its own pool on the shared schema, its own notifications (SQLite), and a relay between them. */
async function openNode(options: { pollIntervalMs?: number } = {}): Promise<Node> {
  const store = await openPostgresTables({ connectionString: postgresUrl(), schema });
  const fixture = openFixture();
  fixture.notify.createTopic('spend-alerts', { kind: 'inbox', customerField: 'customer_id' });
  const outbox = await openPostgresOutbox({ store, notify: fixture.notify, pollIntervalMs: options.pollIntervalMs ?? 50 });
  const node = { store, fixture, outbox };
  nodes.push(node);
  return node;
}

beforeEach(async () => {
  schema = `outbox_${crypto.randomBytes(6).toString('hex')}`;
  nodes = [];
});

afterEach(async () => {
  for (const node of nodes) {
    await node.outbox.stop();
    await node.fixture.close();
    await node.store.close();
  }
  await admin(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

describe('the notification outbox on PostgreSQL', () => {
  it('commits the notification with the state and checkpoint, and notifies once however often the batch is repeated', async () => {
    const { store, fixture, outbox } = await openNode();
    await store.createTable('monthly_spend', { sortKey: true });
    fixture.notify.start();
    outbox.start();
    await store.transaction((tx) => spendingAlerts(tx, batch));
    // Redelivery after the commit, and a rerun that ignores the checkpoint: neither notifies again.
    await store.transaction((tx) => spendingAlerts(tx, batch));
    await store.transaction(async (tx) => {
      await tx.setCheckpoint('alerts', 'toll_transactions', 'shard-0', '00');
      await spendingAlerts(tx, batch);
    });
    await waitFor('the alert in the inbox', () => fixture.notify.unreadCount('c-1') > 0);
    await outbox.relayOnce();
    const inbox = fixture.notify.listInbox('c-1');
    expect(inbox).toHaveLength(1);
    // The message arrives as published, its attribute order included.
    expect(JSON.stringify(inbox[0]?.message)).toBe(JSON.stringify({ customer_id: 'c-1', month: '2026-11', total_cents: 5500, threshold_cents: 5000 }));
    expect(inbox[0]?.idempotencyKey).toBe('spend-alert:c-1:2026-11:5000');
    expect(fixture.notify.listInbox('c-2')).toEqual([]);
    expect(await outbox.pending()).toBe(0);
  });

  it('a transaction that fails after publishing leaves no notification', async () => {
    const { store, fixture, outbox } = await openNode();
    await store.createTable('monthly_spend', { sortKey: true });
    await expect(
      store.transaction(async (tx) => {
        await spendingAlerts(tx, batch);
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await outbox.pending()).toBe(0);
    expect(await outbox.relayOnce()).toBe(0);
    expect(fixture.notify.stats().outboxPending).toBe(0);
    expect(await store.get('monthly_spend', { pk: 'c-1', sk: '2026-11' })).toBeUndefined();
  });

  it('refuses a message for an unknown topic or without its customer, in the transaction', async () => {
    const { store } = await openNode();
    await expect(store.transaction((tx) => tx.publish('nope', { customer_id: 'c' }, { idempotencyKey: 'k' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.transaction((tx) => tx.publish('spend-alerts', { other: 'c' }, { idempotencyKey: 'k' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('relays a row again when its mark was lost (a crash after notify committed it), without a second notification', async () => {
    const { store, fixture, outbox } = await openNode();
    await store.createTable('monthly_spend', { sortKey: true });
    await store.transaction((tx) => spendingAlerts(tx, batch));
    expect(await outbox.relayOnce()).toBe(1);
    // As if the relay died between notify's commit and its own: the row is undispatched again.
    await admin(`UPDATE "${schema}".notify_outbox SET dispatched_at = NULL`);
    expect(await outbox.pending()).toBe(1);
    expect(await outbox.relayOnce()).toBe(1);
    expect(await outbox.pending()).toBe(0);
    fixture.notify.start();
    await waitFor('the alert in the inbox', () => fixture.notify.unreadCount('c-1') > 0);
    await fixture.notify.stop();
    expect(fixture.notify.listInbox('c-1')).toHaveLength(1);
    expect(fixture.notify.stats().outboxPending).toBe(0);
  });

  it("another node's relay is woken by the commit, without waiting for its poll", async () => {
    const a = await openNode();
    const b = await openNode({ pollIntervalMs: 3_600_000 });
    await a.store.createTable('monthly_spend', { sortKey: true });
    b.fixture.notify.start();
    b.outbox.start();
    // B's first pass runs at start; after it only a wake (the channel) can move the row within the wait.
    await listening(`tollstream-outbox:${schema}`);
    await a.store.transaction((tx) => spendingAlerts(tx, batch));
    await waitFor('the alert in the inbox of B', () => b.fixture.notify.unreadCount('c-1') > 0);
    // The relay marks the row once notify has it; stopping waits for that pass to end.
    await b.outbox.stop();
    expect(await a.outbox.pending()).toBe(0);
  });

  it('relays of two nodes running at once move every row exactly once', async () => {
    const a = await openNode();
    const b = await openNode();
    const customers = Array.from({ length: 150 }, (_, i) => `c-${i}`);
    await a.store.transaction(async (tx) => {
      for (const c of customers) await tx.publish('spend-alerts', { customer_id: c }, { idempotencyKey: `once:${c}` });
    });
    while ((await a.outbox.pending()) > 0) await Promise.all([a.outbox.relayOnce(), b.outbox.relayOnce()]);
    const relayedTo = (node: Node) => node.fixture.notify.stats().outboxPending;
    expect(relayedTo(a) + relayedTo(b)).toBe(customers.length);
    a.fixture.notify.start();
    b.fixture.notify.start();
    await waitFor('every message in an inbox', () => relayedTo(a) + relayedTo(b) === 0);
    for (const c of customers) expect(a.fixture.notify.listInbox(c).length + b.fixture.notify.listInbox(c).length).toBe(1);
  });
});

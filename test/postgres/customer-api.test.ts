/**
 * The ABC Tolls app with its state on either tables backend: the same customer API session (create a customer,
 * set a threshold, issue a token, read the month, the trips and the alerts, revoke the token) against the app on
 * the SQLite tables of one node and on tables in PostgreSQL, as a node of a cluster keeps them. One body, the
 * same answers from both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TABLES } from '../../src/apps/abc-tolls/index.ts';
import { waitFor } from '../../src/apps/abc-tolls/testing/harness.ts';
import { openDuckDBWarehouse, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { call, startApiServer, toll, type ApiServer, type ApiServerOptions } from '../customer-api/helpers.ts';
import { postgresSchema } from './server.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

interface Backend {
  readonly name: string;
  /** What `startApiServer` needs for this backend, with a warehouse for the trips. */
  open(): Promise<{ options: ApiServerOptions & { warehouse: Warehouse }; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    open: async () => {
      const warehouse = await openDuckDBWarehouse({ path: ':memory:', threads: 1 });
      return { options: { warehouse }, cleanup: () => warehouse.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const tables = postgresSchema('app_tables');
      const warehouseSchema = postgresSchema('app_wh');
      const warehouse = await warehouseSchema.open();
      return {
        options: { warehouse, postgres: { url: tables.url, schema: tables.schema } },
        cleanup: async () => {
          await warehouse.close();
          await warehouseSchema.cleanup();
          await tables.cleanup();
        },
      };
    },
  },
];

type Toll = { transaction_id: string; customer_id: string; amount_cents: number; event_time: string } & Record<string, unknown>;

/** The tolls as the warehouse delivery loads them. */
function warehouseRows(tolls: readonly Toll[]): Row[] {
  return tolls.map((t, i) => ({
    ...(t as Row),
    event_time: Date.parse(t.event_time),
    arrival_time: Date.parse(t.event_time) + 500,
    shard_id: 'shardId-000000000000',
    sequence_number: String(i + 1).padStart(20, '0'),
  }));
}

describe.each(backends)('the customer API with the app on $name tables', ({ open }) => {
  let server: ApiServer | undefined;
  let cleanup: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('creates a customer, sets a threshold, issues a token, and answers the month, the trips and the alerts', { timeout: 120_000 }, async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    const { warehouse } = opened.options;
    server = await startApiServer(opened.options);
    const { url } = server;
    const operator = server.operatorKey!;

    const created = await call(url, 'POST', '/v1/customers', { auth: operator, body: { customer_id: 'P1', name: 'Pat', email: 'pat@example.com' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ customer_id: 'P1', name: 'Pat', email: 'pat@example.com', threshold_cents: null, time_zone: 'UTC', email_alerts: true });
    const again = await call(url, 'POST', '/v1/customers', { auth: operator, body: { customer_id: 'P1', email: 'other@example.com' } });
    expect([again.status, again.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
    expect((await call(url, 'POST', '/v1/customers', { auth: operator, body: { customer_id: 'P2', email: 'p2@example.com' } })).status).toBe(201);

    const threshold = await call(url, 'PUT', '/v1/customers/P1/threshold', { auth: operator, body: { threshold_cents: 1000 } });
    expect(threshold.body).toMatchObject({ threshold_cents: 1000, total_cents: 0, breached: false });
    const issued = await call(url, 'POST', '/v1/customers/P1/tokens', { auth: operator });
    expect(issued.status).toBe(201);
    const token: string = issued.body.token;
    expect((await call(url, 'GET', '/v1/me', { auth: token })).body).toMatchObject({ customer_id: 'P1', threshold_cents: 1000 });

    const now = Date.now();
    const month = new Date(now).toISOString().slice(0, 7);
    const tolls = [toll('P1', 600, now - 2000), toll('P1', 650, now - 1000), toll('P2', 5000, now - 1000)] as Toll[];
    await server.appendTolls(tolls);
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    await warehouse.loadBatch({ table: 'toll_transactions', rows: warehouseRows(tolls), source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': String(tolls.length).padStart(20, '0') } } });

    const spend = await call(url, 'GET', '/v1/me/spend', { auth: token });
    expect(spend.body).toMatchObject({ month, total_cents: 1250, transactions: 2, threshold_cents: 1000, currency: 'USD' });
    expect(spend.body.days.reduce((sum: number, d: { total_cents: number }) => sum + d.total_cents, 0)).toBe(1250);

    const notifications = async (count: number) => {
      let list: any[] = [];
      await waitFor(`${count} notifications in the inbox`, async () => (list = (await call(url, 'GET', '/v1/me/notifications', { auth: token })).body.notifications).length >= count);
      return list;
    };
    expect((await notifications(1)).map((n) => n.message)).toEqual([
      {
        type: 'threshold_breach',
        customer_id: 'P1',
        month,
        threshold_cents: 1000,
        total_cents: 1250,
        breached_at: tolls[1]!.event_time,
        cause: 'transaction',
        transaction_id: tolls[1]!.transaction_id,
      },
    ]);

    // A threshold below the month so far is breached at once, by the customer's own change.
    const lowered = await call(url, 'PUT', '/v1/me/threshold', { auth: token, body: { threshold_cents: 500 } });
    expect(lowered.body).toEqual({ threshold_cents: 500, month, total_cents: 1250, breached: true });
    const both = await notifications(2);
    expect(both.map((n) => [n.message.threshold_cents, n.message.cause])).toEqual([
      [1000, 'transaction'],
      [500, 'threshold_change'],
    ]);

    const trips = await call(url, 'GET', `/v1/me/trips?month=${month}`, { auth: token });
    expect(trips.body).toMatchObject({ month, total_cents: 1250, transactions: 2 });
    expect(trips.body.trips.map((t: { transaction_id: string }) => t.transaction_id)).toEqual([tolls[1]!.transaction_id, tolls[0]!.transaction_id]);

    const listed = await call(url, 'GET', '/v1/customers', { auth: operator });
    expect(listed.body.customers.map((c: { customer_id: string; threshold_cents: number | null }) => [c.customer_id, c.threshold_cents])).toEqual([
      ['P1', 500],
      ['P2', null],
    ]);

    expect((await call(url, 'DELETE', `/v1/customers/P1/tokens/${issued.body.token_id}`, { auth: operator })).status).toBe(204);
    expect((await call(url, 'GET', '/v1/me', { auth: token })).status).toBe(401);

    // The state is in the app's store, and on SQLite only when that store is the SQLite one.
    expect((await server.store.get(TABLES.customers, { pk: 'P1' }))?.value).toMatchObject({ customer_id: 'P1', threshold_cents: 500 });
    expect((await server.store.query(TABLES.tokensByCustomer, 'P1')).items).toEqual([]);
    const onSqlite = server.stores.tables.listTables().some((t) => t.name === TABLES.customers);
    expect(onSqlite).toBe(server.store === server.stores.store);
  });
});

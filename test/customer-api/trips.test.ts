/**
 * Trip history: `GET /v1/me/trips` pages through the customer's tolls of one month, newest first, and its total
 * is the sum of those tolls, on DuckDB and on PostgreSQL.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDBWarehouse, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { postgresSchema, type PostgresSchema } from '../postgres/server.ts';
import { call, startApiServer, type ApiServer } from './helpers.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const NOV = Date.parse('2026-11-01T00:00:00Z');
const DEC = Date.parse('2026-12-01T00:00:00Z');

interface Toll {
  id: string;
  customer: string;
  time: number;
  cents: number;
  plaza: string;
  vehicleClass: number;
  currency?: string;
}

/** November tolls of C1 (some sharing one instant), its tolls on both sides of the month, and another customer's. */
function fixture(): Toll[] {
  const tolls: Toll[] = [];
  let n = 0;
  const add = (customer: string, time: number, cents = 100 + crypto.randomInt(5000)) =>
    tolls.push({ id: `T-${String(n++).padStart(4, '0')}`, customer, time, cents, plaza: `P0${1 + crypto.randomInt(8)}`, vehicleClass: 1 + crypto.randomInt(5) });
  for (let i = 0; i < 37; i++) add('C1', NOV + crypto.randomInt(DEC - NOV));
  for (let i = 0; i < 4; i++) add('C1', NOV + 3_600_000); // same event time: the id breaks the tie
  add('C1', NOV); // first instant of the month: in
  add('C1', DEC - 1); // last millisecond: in
  add('C1', NOV - 1); // October: out
  add('C1', DEC); // December: out
  tolls.push({ id: 'T-cad', customer: 'C1', time: NOV + 5000, cents: 777, plaza: 'P01', vehicleClass: 2, currency: 'CAD' }); // another currency: out
  for (let i = 0; i < 9; i++) add('C2', NOV + crypto.randomInt(DEC - NOV));
  return tolls;
}

function rows(tolls: readonly Toll[]): Row[] {
  return tolls.map((t, i) => ({
    transaction_id: t.id,
    customer_id: t.customer,
    tag_id: `TAG-${t.customer}`,
    plate: 'ABC-1234',
    plaza_id: t.plaza,
    lane: 1,
    vehicle_class: t.vehicleClass,
    amount_cents: t.cents,
    currency: t.currency ?? 'USD',
    event_time: t.time,
    arrival_time: t.time + 1000,
    shard_id: 'shardId-000000000000',
    sequence_number: String(i).padStart(20, '0'),
  }));
}

const backends: Array<{ name: string; open: () => Promise<{ warehouse: Warehouse; cleanup: () => Promise<void> }> }> = [
  {
    name: 'DuckDB',
    open: async () => {
      const warehouse = await openDuckDBWarehouse({ path: ':memory:', threads: 1 });
      return { warehouse, cleanup: () => warehouse.close() };
    },
  },
];
if (process.env.TOLLSTREAM_TEST_POSTGRES_URL) {
  backends.push({
    name: 'PostgreSQL',
    open: async () => {
      const schema: PostgresSchema = postgresSchema('trips');
      const warehouse = await schema.open();
      return { warehouse, cleanup: async () => (await warehouse.close(), await schema.cleanup()) };
    },
  });
} else {
  describe('trip history on PostgreSQL', () => it.skip('needs TOLLSTREAM_TEST_POSTGRES_URL (.ci/postgres.sh prints it)', () => {}));
}

describe.each(backends)('trip history on $name', ({ open }) => {
  let server: ApiServer;
  let cleanup: () => Promise<void>;
  let token: string;
  const tolls = fixture();

  beforeAll(async () => {
    const opened = await open();
    cleanup = opened.cleanup;
    await opened.warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    await opened.warehouse.loadBatch({
      table: 'toll_transactions',
      rows: rows(tolls),
      source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': String(tolls.length).padStart(20, '0') } },
    });
    server = await startApiServer({ warehouse: opened.warehouse });
    await call(server.url, 'POST', '/v1/customers', { auth: server.operatorKey!, body: { customer_id: 'C1', email: 'c1@example.com' } });
    token = (await call(server.url, 'POST', '/v1/customers/C1/tokens', { auth: server.operatorKey! })).body.token;
  });
  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('pages through the month newest first, and the total is the sum of the month', async () => {
    const expected = tolls
      .filter((t) => t.customer === 'C1' && t.currency === undefined && t.time >= NOV && t.time < DEC)
      .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
    const seen: any[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(server.url, 'GET', `/v1/me/trips?month=2026-11&limit=7${cursor ? `&cursor=${cursor}` : ''}`, { auth: token });
      expect(res.status).toBe(200);
      expect(res.body.month).toBe('2026-11');
      expect(res.body.transactions).toBe(expected.length);
      expect(res.body.total_cents).toBe(expected.reduce((sum, t) => sum + t.cents, 0));
      expect(res.body.trips.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.trips);
      cursor = res.body.cursor;
      pages++;
    } while (cursor !== undefined);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    expect(seen.map((t) => t.transaction_id)).toEqual(expected.map((t) => t.id));
    const sumOfPages = seen.reduce((sum, t) => sum + t.amount_cents, 0);
    const last = await call(server.url, 'GET', '/v1/me/trips?month=2026-11&limit=500', { auth: token });
    expect(sumOfPages).toBe(last.body.total_cents);
    const first = expected[0]!;
    expect(seen[0]).toEqual({
      transaction_id: first.id,
      plaza_id: first.plaza,
      event_time: new Date(first.time).toISOString(),
      vehicle_class: first.vehicleClass,
      amount_cents: first.cents,
      currency: 'USD',
    });
    expect(last.body.as_of).toBe(new Date(Math.max(...tolls.map((t) => t.time + 1000))).toISOString());
  });

  it('answers an empty month with a zero total and no trips', async () => {
    const res = await call(server.url, 'GET', '/v1/me/trips?month=2025-01', { auth: token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ month: '2025-01', total_cents: 0, transactions: 0, trips: [] });
    expect(res.body.cursor).toBeUndefined();
  });

  it('refuses a malformed month or cursor, and needs the customer token', async () => {
    expect((await call(server.url, 'GET', '/v1/me/trips?month=2026-13', { auth: token })).status).toBe(400);
    const bad = await call(server.url, 'GET', '/v1/me/trips?cursor=bm90IGEgY3Vyc29y', { auth: token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/cursor/);
    expect((await call(server.url, 'GET', '/v1/me/trips')).status).toBe(401);
  });
});

describe('trip history without a warehouse', () => {
  it('answers 503 saying the deployment has no warehouse', async () => {
    const server = await startApiServer();
    try {
      await call(server.url, 'POST', '/v1/customers', { auth: server.operatorKey!, body: { customer_id: 'C9', email: 'c9@example.com' } });
      const token = (await call(server.url, 'POST', '/v1/customers/C9/tokens', { auth: server.operatorKey! })).body.token;
      const res = await call(server.url, 'GET', '/v1/me/trips', { auth: token });
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/warehouse/);
    } finally {
      await server.close();
    }
  });
});

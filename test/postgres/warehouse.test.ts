/** What only PostgreSQL has to prove: its own ways to write from a query, a query role, an unreachable server. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { openPostgresWarehouse, type Warehouse } from '../../src/warehouse/index.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const row = {
  transaction_id: 'tx-1',
  customer_id: 'C1',
  tag_id: null,
  plate: 'ABC1',
  plaza_id: 'P01',
  lane: 1,
  vehicle_class: 2,
  amount_cents: 9_007_199_254_740_993n, // past 2^53: kept exact as BIGINT
  currency: 'USD',
  event_time: T0,
  arrival_time: T0,
  shard_id: 'a',
  sequence_number: '1',
};

describe('PostgreSQL warehouse', () => {
  let place: PostgresSchema;
  let warehouse: Warehouse;
  const reader = `reader_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    place = postgresSchema('backend');
    warehouse = await place.open();
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    await warehouse.loadBatch({ table: 'toll_transactions', rows: [row], source: { stream: 's', positions: { a: '1' } } });
    await place.admin(`CREATE ROLE ${reader} LOGIN PASSWORD 'reader-secret'`);
    await place.admin(`GRANT USAGE ON SCHEMA ${place.schema} TO ${reader}`);
    await place.admin(`GRANT SELECT ON ALL TABLES IN SCHEMA ${place.schema} TO ${reader}`);
  });
  afterAll(async () => {
    await warehouse?.close();
    await place?.cleanup();
    await place?.admin(`DROP ROLE IF EXISTS ${reader}`);
  });

  const refusedAsReadOnly = (err: unknown) => isTollstreamError(err, 'WAREHOUSE_READ_ONLY');

  it('returns a BIGINT past 2^53 exactly, as a decimal string', async () => {
    expect((await warehouse.query('SELECT amount_cents, amount_cents - 1 AS less FROM toll_transactions')).rows).toEqual([['9007199254740993', '9007199254740992']]);
  });

  it('refuses writes hidden inside a reading statement', async () => {
    const hidden = [
      'WITH gone AS (DELETE FROM toll_transactions RETURNING *) SELECT count(*) FROM gone',
      "SELECT set_config('transaction_read_only', 'off', true)",
      'EXPLAIN ANALYZE DELETE FROM toll_transactions',
      'SELECT nextval(\'no_such_sequence\')',
    ];
    for (const sql of hidden) {
      await expect(warehouse.query(sql), sql).rejects.toSatisfy((err) => isTollstreamError(err) && (err.code === 'WAREHOUSE_READ_ONLY' || err.code === 'INVALID_ARGUMENT'));
    }
    await expect(warehouse.query(hidden[0]!)).rejects.toSatisfy(refusedAsReadOnly);
    expect((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[1]]);
  });

  it('leaves $names inside strings, quoted names and comments alone', async () => {
    const result = await warehouse.query(`SELECT '$plaza' AS literal, "plaza_id" AS "$x", $plaza AS bound /* $nothing */ FROM toll_transactions -- $nor_this`, { plaza: 'P01' });
    expect(result.columns.map((c) => c.name)).toEqual(['literal', '$x', 'bound']);
    expect(result.rows).toEqual([['$plaza', 'P01', 'P01']]);
    await expect(warehouse.query('SELECT $missing')).rejects.toThrow(/no parameter 'missing'/);
  });

  it('runs queries as the query role, which cannot reach server files', async () => {
    const url = new URL(place.url);
    url.username = reader;
    url.password = 'reader-secret';
    const asReader = await openPostgresWarehouse({ connectionString: place.url, schema: place.schema, queryConnectionString: url.toString() });
    try {
      expect((await asReader.query('SELECT current_user, count(*) FROM toll_transactions GROUP BY 1')).rows).toEqual([[reader, 1]]);
      await expect(asReader.query("SELECT pg_read_file('/etc/passwd')")).rejects.toSatisfy(refusedAsReadOnly);
      await expect(asReader.query('DELETE FROM toll_transactions')).rejects.toSatisfy(refusedAsReadOnly);
    } finally {
      await asReader.close();
    }
  });

  it('cancels a query past the statement timeout', async () => {
    const impatient = await place.open({ statementTimeoutMs: 100 });
    try {
      await expect(impatient.query('SELECT pg_sleep(5)')).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_QUERY_TIMEOUT'));
      // The time counts from the call (a pool connection included), so the follow-up gets room to connect.
      expect((await impatient.query('SELECT 1', {}, { timeoutMs: 30_000 })).rows).toEqual([[1]]);
    } finally {
      await impatient.close();
    }
  });

  it('says WAREHOUSE_UNAVAILABLE (retriable) when the server cannot be reached, without the password', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const failing = openPostgresWarehouse({ connectionString: `postgres://someone:hunter2@127.0.0.1:${port}/nothing` });
    await expect(failing).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_UNAVAILABLE') && err.retriable && !err.message.includes('hunter2'));
  });
});

/**
 * A PostgreSQL outage while the warehouse is open: writes fail as WAREHOUSE_UNAVAILABLE (retriable, nothing
 * half-written), and once the server is reachable again the same warehouse object works on fresh connections.
 * The outage is a TCP proxy on 127.0.0.1 that the test closes, cutting every connection through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../../src/core/errors.ts';
import { openPostgresWarehouse, type Row, type Warehouse } from '../../src/warehouse/index.ts';
import { postgresSchema, type PostgresSchema } from './server.ts';
import { TcpProxy as Proxy } from '../support/tcp-proxy.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const row = (i: number): Row => ({
  transaction_id: `tx-${i}`,
  customer_id: 'C1',
  tag_id: null,
  plate: null,
  plaza_id: 'P01',
  lane: 1,
  vehicle_class: 2,
  amount_cents: 100 + i,
  currency: 'USD',
  event_time: T0 + i,
  arrival_time: T0 + i,
  shard_id: 'a',
  sequence_number: String(i).padStart(6, '0'),
});
const batch = (i: number) => ({ table: 'toll_transactions', rows: [row(i)], source: { stream: 's', positions: { a: String(i).padStart(6, '0') } } });

describe('PostgreSQL warehouse across an outage', () => {
  let place: PostgresSchema;
  let proxy: Proxy;
  let warehouse: Warehouse;

  beforeAll(async () => {
    place = postgresSchema('outage');
    const target = new URL(place.url);
    proxy = new Proxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const viaProxy = new URL(place.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    warehouse = await openPostgresWarehouse({ connectionString: viaProxy.toString(), schema: place.schema });
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  });
  afterAll(async () => {
    await warehouse?.close();
    await proxy?.stop();
    await place?.cleanup();
  });

  it('fails writes as retriable while the server is unreachable, then resumes on new connections', async () => {
    await warehouse.loadBatch(batch(1));
    await proxy.stop();
    await expect(warehouse.loadBatch(batch(2))).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_UNAVAILABLE') && err.retriable);
    await expect(warehouse.query('SELECT count(*) FROM toll_transactions')).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_UNAVAILABLE'));
    await proxy.start(); // the same port again
    await warehouse.loadBatch(batch(2));
    expect((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[2]]);
    expect(await warehouse.positions('s', 'toll_transactions')).toEqual({ a: '000002' });
  });

  it('does not load a batch twice when the answer to its COMMIT was lost and it is retried', async () => {
    const before = Number((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows[0]![0]);
    proxy.cutAfterNextCommit();
    await expect(warehouse.loadBatch(batch(3))).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_UNAVAILABLE') && err.retriable);
    // The retry (what delivery does after a retriable error) finds that the first attempt committed.
    await warehouse.loadBatch(batch(3));
    expect((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[before + 1]]);
    expect(await warehouse.positions('s', 'toll_transactions')).toEqual({ a: '000003' });
    // The next batch loads as usual, and a real replay is still refused.
    await warehouse.loadBatch(batch(4));
    await expect(warehouse.loadBatch(batch(4))).rejects.toSatisfy((err) => isTollstreamError(err, 'DELIVERY_POSITION_CONFLICT'));
    expect((await warehouse.query('SELECT count(*) FROM toll_transactions')).rows).toEqual([[before + 2]]);
  });
});

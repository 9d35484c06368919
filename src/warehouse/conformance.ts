/**
 * The conformance suite every warehouse backend runs (DuckDB and PostgreSQL): what delivery and reports rely
 * on, asserted through the `Warehouse` interface only. Its SQL is the common subset of both dialects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { SOURCE_COLUMN_SCHEMAS } from './tables.ts';
import type { Row, TableSchema, Warehouse } from './types.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';

/** A place holding one warehouse's data; `open` may be called again after `close` to reopen the same data. */
export interface WarehouseFixture {
  open(options?: { now?: () => number }): Promise<Warehouse>;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2026-11-26T10:00:00.000Z');

/** A table the platform does not know until it is declared, as an app declares its own. */
const DECLARED_TABLE: TableSchema = {
  name: 'declared_spend',
  description: 'Spend past a threshold, declared by the test as an app declares its tables.',
  columns: [
    { name: 'customer_id', type: 'varchar', description: 'Customer.' },
    { name: 'total_cents', type: 'bigint', description: 'Integer cents.' },
    { name: 'breached_at', type: 'timestamp', description: 'When.' },
    ...SOURCE_COLUMN_SCHEMAS,
  ],
};

/** A reference table as an app declares one (the station alerts' shape): keyed, replaced as a whole, not delivered. */
export const DECLARED_REFERENCE: TableSchema = {
  name: 'declared_reference',
  description: 'Expected traffic per plaza, day of week and slot, declared by the test as an app declares its reference data.',
  columns: [
    { name: 'plaza_id', type: 'varchar', description: 'Toll plaza.' },
    { name: 'day_of_week', type: 'smallint', min: 0, max: 6, description: '0 Sunday ... 6 Saturday (UTC).' },
    { name: 'slot', type: 'smallint', min: 0, max: 47, description: '30-minute slot of the UTC day.' },
    { name: 'expected_count', type: 'integer', min: 0, description: 'Vehicles expected in the slot.' },
    { name: 'alert_threshold', type: 'integer', min: 0, description: 'A slot with fewer vehicles is flagged.' },
  ],
  primaryKey: ['plaza_id', 'day_of_week', 'slot'],
};

function tollRow(i: number, shardId = 'shardId-000000000000', arrival = T0 + i): Row {
  return {
    transaction_id: `tx-${i}`,
    customer_id: `C${String(i % 7).padStart(7, '0')}`,
    tag_id: null,
    plate: `ABC${i}`,
    plaza_id: i % 2 === 0 ? 'P01' : 'P02',
    lane: 1 + (i % 4),
    vehicle_class: 2,
    amount_cents: 1_250 + i,
    currency: 'USD',
    event_time: T0 + i * 1000,
    arrival_time: arrival,
    shard_id: shardId,
    sequence_number: String(1000 + i).padStart(24, '0'),
  };
}

function seq(i: number): string {
  return String(1000 + i).padStart(24, '0');
}

export function describeWarehouseConformance(name: string, createFixture: () => Promise<WarehouseFixture>): void {
  describe(`warehouse conformance: ${name}`, () => {
    let fixture: WarehouseFixture;
    let warehouse: Warehouse;
    let clock = T0;

    beforeEach(async () => {
      clock = T0;
      fixture = await createFixture();
      warehouse = await fixture.open({ now: () => clock });
      await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    });
    afterEach(async () => {
      // Undefined when the fixture could not be created (e.g. no server): that failure is the one to report.
      await (warehouse as Warehouse | undefined)?.close();
      await (fixture as WarehouseFixture | undefined)?.cleanup();
    });

    const count = async (table = 'toll_transactions') => (await warehouse.query(`SELECT count(*) AS n FROM ${table}`)).rows[0]![0];

    it('loads rows and records the source positions with them', async () => {
      await warehouse.loadBatch({
        table: 'toll_transactions',
        rows: [tollRow(1), tollRow(2), tollRow(3, 'shardId-000000000001')],
        source: { stream: 'toll_transactions', positions: { 'shardId-000000000000': seq(2), 'shardId-000000000001': seq(3) } },
      });
      expect(await count()).toBe(3);
      expect(await warehouse.positions('toll_transactions', 'toll_transactions')).toEqual({
        'shardId-000000000000': seq(2),
        'shardId-000000000001': seq(3),
      });
      expect(await warehouse.positions('other_stream', 'toll_transactions')).toEqual({});
    });

    it('keeps money as integer cents and returns timestamps as ISO 8601 UTC', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(5)], source: { stream: 's', positions: { a: seq(5) } } });
      const result = await warehouse.query('SELECT amount_cents, sum(amount_cents) AS total, event_time FROM toll_transactions GROUP BY amount_cents, event_time');
      expect(result.rows[0]).toEqual([1_255, 1_255, new Date(T0 + 5000).toISOString()]);
    });

    it('leaves neither rows nor positions nor errors when a batch fails', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1)], source: { stream: 's', positions: { a: seq(1) } } });
      const bad = { ...tollRow(3), plaza_id: null };
      const failing = warehouse.loadBatch({
        table: 'toll_transactions',
        rows: [tollRow(2), bad],
        errors: [{ shardId: 'a', sequenceNumber: seq(2), errorType: 'format-conversion-failed', errorCode: 'invalid-json', errorMessage: 'x', rawData: new Uint8Array([1]), arrivalTime: T0 }],
        source: { stream: 's', positions: { a: seq(3) } },
      });
      await expect(failing).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_REJECTED'));
      expect(await count()).toBe(1);
      expect(await count('_delivery_errors')).toBe(0);
      expect(await warehouse.positions('s', 'toll_transactions')).toEqual({ a: seq(1) });
      // The warehouse is still usable after the failed transaction.
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(2)], source: { stream: 's', positions: { a: seq(2) } } });
      expect(await count()).toBe(2);
    });

    it('refuses a batch that would load a range again', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1), tollRow(2)], source: { stream: 's', positions: { a: seq(2) } } });
      const replay = warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(2)], source: { stream: 's', positions: { a: seq(2) } } });
      await expect(replay).rejects.toSatisfy((err) => isTollstreamError(err, 'DELIVERY_POSITION_CONFLICT'));
      expect(await count()).toBe(2);
    });

    it('refuses a batch that continues a shard from another position than the one it holds (two writers of one shard)', async () => {
      // Writer 1 resumed shard a from nothing and loaded 1..2; writer 2 also resumed from nothing and read 2..3.
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1), tollRow(2)], source: { stream: 's', positions: { a: seq(2) }, previous: { a: null } } });
      const overlapping = warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(2), tollRow(3)], source: { stream: 's', positions: { a: seq(3), b: seq(1) }, previous: { a: null, b: null } } });
      await expect(overlapping).rejects.toSatisfy((err) => isTollstreamError(err, 'DELIVERY_POSITION_CONFLICT') && err.context.shardId === 'a' && err.context.stored === seq(2));
      expect(await count()).toBe(2);
      // Continuing from what it holds is accepted.
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(3)], source: { stream: 's', positions: { a: seq(3) }, previous: { a: seq(2) } } });
      expect(await count()).toBe(3);
      expect(await warehouse.positions('s', 'toll_transactions')).toEqual({ a: seq(3) });
    });

    it('stores error records with their type and raw bytes in the same transaction', async () => {
      await warehouse.loadBatch({
        table: 'toll_transactions',
        rows: [tollRow(1)],
        errors: [{ shardId: 'a', sequenceNumber: seq(2), errorType: 'processing-failed', errorCode: 'transform-failed', errorMessage: 'no', rawData: Buffer.from('{"x":1}'), arrivalTime: T0 }],
        source: { stream: 's', positions: { a: seq(2) } },
      });
      const result = await warehouse.query('SELECT error_type, error_code, raw_data_base64, sequence_number FROM _delivery_errors');
      expect(result.rows).toEqual([['processing-failed', 'transform-failed', Buffer.from('{"x":1}').toString('base64'), seq(2)]]);
    });

    describe('failed records sent again', () => {
      const key = { stream: 's', table: 'toll_transactions', shardId: 'a', sequenceNumber: seq(2) };
      const failure = (errorCode = 'schema-mismatch', errorMessage = 'lane is out of range') =>
        ({ shardId: 'a', sequenceNumber: seq(2), errorType: 'format-conversion-failed', errorCode, errorMessage, rawData: Buffer.from('{"lane":5000}'), arrivalTime: T0 + 2 }) as const;
      beforeEach(async () => {
        await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1)], errors: [failure()], source: { stream: 's', positions: { a: seq(2) } } });
      });

      it('lists a failed record with its error and raw bytes until it is sent again', async () => {
        const listed = await warehouse.deliveryErrors();
        expect(listed).toHaveLength(1);
        expect(listed[0]).toMatchObject({ ...key, errorType: 'format-conversion-failed', errorCode: 'schema-mismatch', arrivalTime: T0 + 2, failedAt: T0, redrivenAt: null });
        expect(Buffer.from(listed[0]!.rawData).toString()).toBe('{"lane":5000}');
      });

      it('loads the record and takes it off the list in one transaction, and refuses to do it twice', async () => {
        clock = T0 + 60_000;
        await warehouse.redriveDeliveryError({ key, listed: 1, rows: [tollRow(2)], errors: [] });
        expect(await count()).toBe(2);
        expect(await warehouse.deliveryErrors()).toEqual([]);
        expect((await warehouse.deliveryErrors({ key }))[0]!.redrivenAt).toBe(T0 + 60_000);
        // A second redrive of what the first one read finds nothing listed: refused, nothing loaded.
        const again = warehouse.redriveDeliveryError({ key, listed: 1, rows: [tollRow(2)], errors: [] });
        await expect(again).rejects.toSatisfy((err) => isTollstreamError(err, 'CONDITION_FAILED') && err.context.found === 0);
        expect(await count()).toBe(2);
      });

      it('writes nothing when the table refuses the row: the record stays listed as it was', async () => {
        const refused = warehouse.redriveDeliveryError({ key, listed: 1, rows: [{ ...tollRow(2), plaza_id: null }], errors: [] });
        await expect(refused).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_REJECTED'));
        expect(await count()).toBe(1);
        expect(await warehouse.deliveryErrors()).toMatchObject([{ ...key, errorCode: 'schema-mismatch', redrivenAt: null }]);
      });

      it('lists a record that failed again with its new error, once', async () => {
        clock = T0 + 60_000;
        await warehouse.redriveDeliveryError({ key, listed: 1, rows: [], errors: [failure('transform-failed', 'still wrong')] });
        expect(await count()).toBe(1);
        expect(await warehouse.deliveryErrors()).toMatchObject([{ ...key, errorCode: 'transform-failed', errorMessage: 'still wrong', failedAt: T0 + 60_000, redrivenAt: null }]);
        expect(await warehouse.deliveryErrors({ key })).toHaveLength(2);
      });
    });

    it('refuses writes in queries and leaves the data unchanged', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1)], source: { stream: 's', positions: { a: seq(1) } } });
      const writes = [
        "INSERT INTO toll_transactions (transaction_id) VALUES ('x')",
        'DELETE FROM toll_transactions',
        'UPDATE toll_transactions SET amount_cents = 0',
        'CREATE TABLE evil (x INTEGER)',
        'DROP TABLE toll_transactions',
        "COPY toll_transactions TO 'stolen.csv'",
        'SELECT 1; DELETE FROM toll_transactions',
        "ATTACH 'other.db' AS other",
      ];
      for (const sql of writes) {
        await expect(warehouse.query(sql), sql).rejects.toSatisfy((err) => isTollstreamError(err) && (err.code === 'WAREHOUSE_READ_ONLY' || err.code === 'INVALID_ARGUMENT'));
      }
      await expect(warehouse.query('DELETE FROM toll_transactions')).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_READ_ONLY'));
      expect(await count()).toBe(1);
    });

    it('binds parameters by name, including nulls and timestamps', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1), tollRow(2), tollRow(3)], source: { stream: 's', positions: { a: seq(3) } } });
      const sql = 'SELECT count(*) FROM toll_transactions WHERE ($plaza IS NULL OR plaza_id = $plaza) AND event_time >= $from';
      expect((await warehouse.query(sql, { plaza: 'P02', from: new Date(T0) })).rows).toEqual([[2]]);
      expect((await warehouse.query(sql, { plaza: null, from: new Date(T0 + 2000) })).rows).toEqual([[2]]);
      // A value is data, never SQL.
      expect((await warehouse.query(sql, { plaza: "P01' OR '1'='1", from: new Date(0) })).rows).toEqual([[0]]);
    });

    it('reports freshness as now minus the newest loaded arrival time', async () => {
      expect((await warehouse.freshness()).seconds).toBeNull();
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1, 'a', T0), tollRow(2, 'b', T0 + 2000)], source: { stream: 's', positions: { a: seq(1), b: seq(2) } } });
      clock = T0 + 7000;
      expect(await warehouse.freshness()).toEqual({ seconds: 5, newestArrivalTime: new Date(T0 + 2000).toISOString() });
    });

    it('replaces reference rows as a whole', async () => {
      const ref = (expected: number) => ({ plaza_id: 'P01', day_of_week: 4, slot: 20, expected_count: expected, alert_threshold: 10 });
      await warehouse.ensureSchema([TOLL_TRANSACTIONS, DECLARED_REFERENCE]);
      await warehouse.replaceRows(DECLARED_REFERENCE.name, [ref(100)]);
      await warehouse.replaceRows(DECLARED_REFERENCE.name, [ref(120)]);
      expect((await warehouse.query(`SELECT expected_count FROM ${DECLARED_REFERENCE.name}`)).rows).toEqual([[120]]);
    });

    it('keeps every character of text values: quotes, commas, newlines, backslashes, empty strings apart from null', async () => {
      const tricky = ['a,b', 'say "hi"', 'line\nbreak\r\nthere', 'back\\slash \\N', '', 'Zürich – 東京 🚗', "it's"];
      const rows = tricky.map((plate, i) => ({ ...tollRow(i + 1), plate, tag_id: i % 2 === 0 ? null : '' }));
      await warehouse.loadBatch({ table: 'toll_transactions', rows, source: { stream: 's', positions: { a: seq(tricky.length) } } });
      const result = await warehouse.query('SELECT plate, tag_id FROM toll_transactions ORDER BY transaction_id');
      expect(result.rows).toEqual(rows.map((r) => [r.plate, r.tag_id]));
    });

    it('loads a table an app declares, with money as integer cents, and knows it only once declared', async () => {
      const row = (i: number) => ({
        customer_id: `C${i}`,
        total_cents: 5_000 + i * 125,
        breached_at: T0 + i * 60_000,
        arrival_time: T0 + i * 60_000 + 50,
        shard_id: 'a',
        sequence_number: seq(i),
      });
      const load = () => warehouse.loadBatch({ table: DECLARED_TABLE.name, rows: [row(1), row(2)], source: { stream: 'declared', positions: { a: seq(2) } } });
      await expect(load()).rejects.toSatisfy((e) => isTollstreamError(e, 'INVALID_ARGUMENT'));
      expect(warehouse.tableSchema(DECLARED_TABLE.name)).toBeUndefined();
      await warehouse.ensureSchema([TOLL_TRANSACTIONS, DECLARED_TABLE]);
      expect(warehouse.tableSchema(DECLARED_TABLE.name)).toBe(DECLARED_TABLE);
      await load();
      const result = await warehouse.query(`SELECT customer_id, total_cents, breached_at FROM ${DECLARED_TABLE.name} WHERE total_cents > $min ORDER BY customer_id`, { min: 5_100 });
      expect(result.rows).toEqual([['C1', 5_125, new Date(T0 + 60_000).toISOString()], ['C2', 5_250, new Date(T0 + 120_000).toISOString()]]);
      expect(await warehouse.positions('declared', DECLARED_TABLE.name)).toEqual({ a: seq(2) });
      // A declared table may not take a platform table's name.
      await expect(warehouse.ensureSchema([{ ...DECLARED_TABLE, name: '_delivery_positions' }])).rejects.toThrow(/two warehouse tables are named '_delivery_positions'/);
    });

    it('refuses an answer past the row cap, naming the way out, and answers one at the cap', async () => {
      const sql = 'SELECT i FROM generate_series(1, 5000) AS t(i)';
      await expect(warehouse.query(sql, {}, { maxRows: 4999 })).rejects.toSatisfy(
        (err) => isTollstreamError(err, 'WAREHOUSE_RESULT_TOO_LARGE') && /LIMIT/.test(err.message) && /ndjson/.test(err.message) && err.context.maxRows === 4999,
      );
      const exact = await warehouse.query(sql, {}, { maxRows: 5000 });
      expect(exact.rows.length).toBe(5000);
      expect(exact.rows[4999]).toEqual([5000]);
    });

    it('streams an answer of any size in chunks, fetching the next only once the sink took the last', async () => {
      let columns: unknown;
      let rows = 0;
      let sum = 0;
      let chunks = 0;
      let inSink = 0;
      let overlapped = false;
      const result = await warehouse.streamQuery('SELECT i, i * 2 AS twice FROM generate_series(1, 20000) AS t(i) ORDER BY i', {}, {
        columns(c) {
          columns = c.map((x) => x.name);
        },
        async rows(batch) {
          inSink++;
          if (inSink > 1) overlapped = true;
          chunks++;
          for (const row of batch) {
            rows++;
            sum += row[0] as number;
          }
          await new Promise((resolve) => setImmediate(resolve));
          inSink--;
        },
      }, { maxRows: 10 });
      expect(columns).toEqual(['i', 'twice']);
      expect(result.rowCount).toBe(20000);
      expect(rows).toBe(20000);
      expect(sum).toBe((20000 * 20001) / 2);
      expect(chunks).toBeGreaterThan(1);
      expect(overlapped).toBe(false);
    });

    it('interrupts a query past its timeout and keeps serving', async () => {
      // Ten billion rows: far beyond any machine in the time allowed.
      const endless = 'SELECT count(*) FROM generate_series(1, 100000) AS a(x), generate_series(1, 100000) AS b(y)';
      await expect(warehouse.query(endless, {}, { timeoutMs: 200 })).rejects.toSatisfy(
        (err) => isTollstreamError(err, 'WAREHOUSE_QUERY_TIMEOUT') && /queryTimeoutMs/.test(err.message),
      );
      expect((await warehouse.query('SELECT 1 AS one')).rows).toEqual([[1]]);
    });

    it('counts the time a stream waits on its sink against the timeout, and never ends a cut stream as complete', async () => {
      let rows = 0;
      const slowSink = warehouse.streamQuery('SELECT i FROM generate_series(1, 100000) AS t(i)', {}, {
        columns() {},
        async rows(batch) {
          rows += batch.length;
          await new Promise((resolve) => setTimeout(resolve, 400));
        },
      }, { timeoutMs: 100 });
      await expect(slowSink).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_QUERY_TIMEOUT'));
      expect(rows).toBeLessThan(100000);
    });

    it('stops a query whose caller went away', async () => {
      const caller = new AbortController();
      let rows = 0;
      const streaming = warehouse.streamQuery('SELECT i FROM generate_series(1, 1000000) AS t(i)', {}, {
        columns() {},
        rows(batch) {
          rows += batch.length;
          if (rows >= 4000) caller.abort();
        },
      }, { signal: caller.signal });
      await expect(streaming).rejects.toSatisfy((err) => err instanceof Error && err.name === 'AbortError');
      expect(rows).toBeLessThan(1000000);
      expect((await warehouse.query('SELECT 2 AS two')).rows).toEqual([[2]]);
    });

    it('keeps committed batches and positions across a reopen', async () => {
      await warehouse.loadBatch({ table: 'toll_transactions', rows: [tollRow(1)], source: { stream: 's', positions: { a: seq(1) } } });
      await warehouse.close();
      warehouse = await fixture.open({ now: () => clock });
      await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
      expect(await count()).toBe(1);
      expect(await warehouse.positions('s', 'toll_transactions')).toEqual({ a: seq(1) });
    });
  });
}

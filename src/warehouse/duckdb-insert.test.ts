/**
 * The DuckDB warehouse loads a batch as one columnar INSERT (duckdb-insert.ts): every value must come back as
 * it went in, whatever characters text holds, and a value a column cannot hold is refused as before.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { openDuckDBWarehouse } from './duckdb.ts';
import { DECLARED_REFERENCE } from './conformance.ts';
import type { Row, Warehouse } from './types.ts';
import { TOLL_TRANSACTIONS } from '../simulator/index.ts';

const T0 = Date.parse('2026-11-26T10:00:00.000Z');

function tollRow(i: number, overrides: Record<string, Row[string]> = {}): Row {
  return {
    transaction_id: `tx-${String(i).padStart(6, '0')}`,
    customer_id: `C${i}`,
    tag_id: null,
    plate: `ABC${i}`,
    plaza_id: 'P01',
    lane: i % 4,
    vehicle_class: 2,
    amount_cents: 1_000 + i,
    currency: 'USD',
    event_time: T0 + i * 1000,
    arrival_time: T0 + i,
    shard_id: 'shardId-000000000000',
    sequence_number: String(i).padStart(24, '0'),
    ...overrides,
  };
}

describe('DuckDB warehouse: loading a batch', () => {
  let dir: string;
  let warehouse: Warehouse;
  let batches = 0;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-duckdb-insert-'));
    warehouse = await openDuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb'), threads: 1 });
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
  });
  afterEach(async () => {
    await warehouse.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const load = (rows: readonly Row[]) => warehouse.loadBatch({ table: 'toll_transactions', rows, source: { stream: 's', positions: { a: String(++batches).padStart(24, '0') } } });
  const column = async (name: string) => (await warehouse.query(`SELECT ${name} FROM toll_transactions ORDER BY transaction_id`)).rows.map((r) => r[0]);

  it('keeps text holding control characters, NUL, the unit and record separators, and tells empty text from null', async () => {
    const plates = ['\u001f', 'a\u001fb', '\u001e', '\u001e\u001e', 'nul\u0000inside', '', 'tab\there', 'e\u0301 🙂'];
    const tags = [null, '', '\u001e', 'x\u001fy', null, 'plain', '\u001f', ''];
    await load(plates.map((plate, i) => tollRow(i, { plate, tag_id: tags[i]! })));
    expect(await column('plate')).toEqual(plates);
    expect(await column('tag_id')).toEqual(tags);
  });

  it('keeps a text column with nulls and empty strings apart when no value needs the fallback', async () => {
    const tags = [null, '', 'T1', null, ''];
    await load(tags.map((tag_id, i) => tollRow(i, { tag_id })));
    expect(await column('tag_id')).toEqual(tags);
  });

  it('stores a lone surrogate as U+FFFD in either text encoding', async () => {
    await load([tollRow(1, { plate: 'a\ud800b' }), tollRow(2, { plate: 'c\udc00\u001f' })]);
    expect(await column('plate')).toEqual(['a\ufffdb', 'c\ufffd\u001f']);
  });

  it('keeps integers at the limits of their columns, bigint values, and timestamps rounded to the millisecond', async () => {
    await load([
      tollRow(1, { amount_cents: Number.MAX_SAFE_INTEGER, vehicle_class: 5, lane: 1000, event_time: T0 + 0.4 }),
      tollRow(2, { amount_cents: -9_007_199_254_740_993n, vehicle_class: 1, lane: 0n, event_time: T0 + 1.6 }),
      tollRow(3, { amount_cents: 0, event_time: -86_400_000 }),
    ]);
    expect(await column('amount_cents')).toEqual([Number.MAX_SAFE_INTEGER, '-9007199254740993', 0]);
    expect(await column('lane')).toEqual([1000, 0, 3]);
    expect(await column('event_time')).toEqual([new Date(T0).toISOString(), new Date(T0 + 2).toISOString(), '1969-12-31T00:00:00.000Z']);
  });

  it('keeps timestamps to the millisecond however far apart the rows of a batch are', async () => {
    const times = [T0 + 1, T0 - 1, 4_600_000_000_000_001, -4_600_000_000_000_001, 0, T0 + 0.5];
    await load(times.map((event_time, i) => tollRow(i, { event_time })));
    expect(await column('event_time')).toEqual(times.map((ms) => new Date(Math.round(ms)).toISOString()));
  });

  it('loads a large batch row by row in order', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => tollRow(i, { customer_id: i % 3 === 0 ? null : `C${i}` }));
    await load(rows);
    const result = await warehouse.query('SELECT transaction_id, customer_id, lane, sequence_number FROM toll_transactions ORDER BY transaction_id');
    expect(result.rows).toEqual(rows.map((r) => [r.transaction_id, r.customer_id, r.lane, r.sequence_number]));
  });

  it('refuses a value the column cannot hold, naming the column, and loads nothing of the batch', async () => {
    const cases: Array<[Record<string, Row[string]>, string]> = [
      [{ plaza_id: null }, 'toll_transactions.plaza_id is null but the column is NOT NULL'],
      [{ plate: 12 }, 'toll_transactions.plate must be a string, got number'],
      [{ vehicle_class: 40_000 }, 'toll_transactions.vehicle_class must be a smallint, got 40000'],
      [{ lane: 1.5 }, 'toll_transactions.lane must be a integer, got 1.5'],
      [{ amount_cents: 2 ** 60 }, `toll_transactions.amount_cents must be an integer, got ${2 ** 60}`],
      [{ event_time: Number.NaN }, 'toll_transactions.event_time must be milliseconds since the epoch, got NaN'],
      [{ event_time: '2026-11-26' }, 'toll_transactions.event_time must be milliseconds since the epoch, got 2026-11-26'],
    ];
    for (const [overrides, message] of cases) {
      const failing = load([tollRow(1), tollRow(2, overrides)]);
      await expect(failing).rejects.toSatisfy((err) => isTollstreamError(err, 'WAREHOUSE_REJECTED') && err.message === message);
    }
    expect(await column('transaction_id')).toEqual([]);
  });

  it('replaces reference rows with nulls nowhere and integers checked', async () => {
    const rows = [0, 1, 2].map((slot) => ({ plaza_id: `P0${slot}`, day_of_week: 6, slot, expected_count: 10 * slot, alert_threshold: slot }));
    await warehouse.ensureSchema([DECLARED_REFERENCE]);
    await warehouse.replaceRows(DECLARED_REFERENCE.name, rows);
    const result = await warehouse.query(`SELECT plaza_id, day_of_week, slot, expected_count, alert_threshold FROM ${DECLARED_REFERENCE.name} ORDER BY slot`);
    expect(result.rows).toEqual(rows.map((r) => [r.plaza_id, r.day_of_week, r.slot, r.expected_count, r.alert_threshold]));
  });
});

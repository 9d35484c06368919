/**
 * Kinesis Analytics' stream-to-stream joins over a window (`JOIN s OVER (RANGE ...)`): when a LEFT OUTER join
 * sends an order without trades, and how long the join keeps the rows of the windowed side.
 */
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';
import { mergeState } from '../../src/sql/runtime/keyed-state.ts';
import type { MergedKeyedState } from '../../src/sql/runtime/keyed-state.ts';

// Declared, so the inputs start at once rather than after a sample of records to infer their columns from.
const LEFT_JOIN = `
CREATE OR REPLACE STREAM OrderStream (orderId INTEGER);
CREATE OR REPLACE STREAM TradeStream (tradeId INTEGER, orderId INTEGER);
SELECT STREAM ROWTIME, o.orderId, t.tradeId
FROM OrderStream AS o
LEFT OUTER JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t
ON o.orderId = t.orderId;`;

const at = (mmss: string) => `2026-03-02T08:${mmss}Z`;

async function* once<T>(rows: T[]): AsyncIterable<T[]> {
  yield rows;
}

describe('Kinesis Analytics stream-to-stream join', () => {
  it('sends an order without trades padded with NULLs once the trades up to its ROWTIME are in, not a window later', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Only a fallback so a wrong engine fails instead of hanging: the assertion is on the order of events.
    const fallback = setTimeout(() => {
      events.push('inputs released without the padded order');
      release();
    }, 15_000);
    async function* orders() {
      // Order 3 at 08:03:00 has no trade; order 4 moves the orders' ROWTIME on, 20 s later (less than the window).
      yield [
        { orderId: 3, _arrival_time: at('03:00') },
        { orderId: 4, _arrival_time: at('03:20') },
      ];
      await gate;
      yield [{ orderId: 5, _arrival_time: at('09:00') }];
    }
    async function* trades() {
      yield [{ tradeId: 100, orderId: 4, _arrival_time: at('03:10') }];
      await gate;
      yield [{ tradeId: 101, orderId: 5, _arrival_time: at('08:30') }];
    }
    try {
      const result = await runQuery({
        sql: LEFT_JOIN,
        inputs: { OrderStream: orders(), TradeStream: trades() },
        onRow: (_stream, row) => {
          if (row.orderId === 3 && row.tradeId === null) {
            events.push('order 3 padded');
            release();
          }
        },
      });
      expect(events[0]).toBe('order 3 padded');
      // Order 4 joins at once; order 3 waits for the trades' ROWTIME to pass its own, so it can come after.
      const rows = result.streams.result!.map((r) => [r.ROWTIME, r.orderId, r.tradeId]);
      expect(rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
        ['2026-03-02T08:03:00.000Z', 3, null],
        ['2026-03-02T08:03:20.000Z', 4, 100],
        ['2026-03-02T08:09:00.000Z', 5, 101],
      ]);
    } finally {
      clearTimeout(fallback);
    }
  });

  it("reads the ROWTIME of a side an outer join padded as NULL, and gives the row the kept side's ROWTIME", async () => {
    const orders = [
      { orderId: 1, _arrival_time: at('01:00') },
      { orderId: 2, _arrival_time: at('02:00') },
    ];
    const trades = [
      { tradeId: 100, orderId: 1, _arrival_time: at('00:30') },
      { tradeId: 101, orderId: 2, _arrival_time: at('02:30') },
    ];
    const sql = `
      CREATE OR REPLACE STREAM OrderStream (orderId INTEGER);
      CREATE OR REPLACE STREAM TradeStream (tradeId INTEGER, orderId INTEGER);
      CREATE OR REPLACE STREAM kept_orders (rt TIMESTAMP, orderId INTEGER, orderTime TIMESTAMP, tradeId INTEGER, tradeTime TIMESTAMP);
      CREATE OR REPLACE STREAM kept_trades (rt TIMESTAMP, orderId INTEGER, orderTime TIMESTAMP, tradeId INTEGER, tradeTime TIMESTAMP);
      CREATE OR REPLACE PUMP p1 AS INSERT INTO kept_orders
        SELECT STREAM ROWTIME, o.orderId, o.ROWTIME, t.tradeId, t.ROWTIME
        FROM OrderStream AS o LEFT JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON o.orderId = t.orderId;
      CREATE OR REPLACE PUMP p2 AS INSERT INTO kept_trades
        SELECT STREAM ROWTIME, t.orderId, o.ROWTIME, t.tradeId, t.ROWTIME
        FROM OrderStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS o RIGHT JOIN TradeStream AS t ON o.orderId = t.orderId;`;
    const result = await runQuery({ sql, inputs: { OrderStream: once(orders), TradeStream: once(trades) } });
    // Padded rows leave when the watermark passes them, after rows joined at once: compared in ROWTIME order.
    const rows = (stream: string) => result.streams[stream]!.map((r) => [r.rt, r.orderId, r.orderTime, r.tradeId, r.tradeTime]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const t = (mmss: string) => `2026-03-02T08:${mmss}.000Z`;
    expect(rows('kept_orders')).toEqual([
      [t('01:00'), 1, t('01:00'), 100, t('00:30')],
      [t('02:00'), 2, t('02:00'), null, null],
    ]);
    expect(rows('kept_trades')).toEqual([
      [t('00:30'), 1, null, 100, t('00:30')],
      [t('02:30'), 2, t('02:00'), 101, t('02:30')],
    ]);
  });

  it('joins a third stream to a LEFT JOIN over a window, on the joined ROWTIME', async () => {
    const sql = `
      CREATE OR REPLACE STREAM OrderStream (orderId INTEGER);
      CREATE OR REPLACE STREAM TradeStream (tradeId INTEGER, orderId INTEGER);
      CREATE OR REPLACE STREAM ShipStream (shipId VARCHAR(4), orderId INTEGER);
      SELECT STREAM ROWTIME AS rt, o.orderId, t.tradeId, t.ROWTIME AS tt, s.shipId
      FROM OrderStream AS o
      LEFT JOIN TradeStream OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON o.orderId = t.orderId
      LEFT JOIN ShipStream OVER (RANGE INTERVAL '2' MINUTE PRECEDING) AS s ON o.orderId = s.orderId;`;
    const inputs = {
      OrderStream: once([{ orderId: 1, _arrival_time: at('01:00') }, { orderId: 2, _arrival_time: at('02:00') }, { orderId: 3, _arrival_time: at('03:00') }]),
      TradeStream: once([{ tradeId: 100, orderId: 1, _arrival_time: at('00:30') }, { tradeId: 101, orderId: 2, _arrival_time: at('02:30') }]),
      ShipStream: once([{ shipId: 's1', orderId: 1, _arrival_time: at('00:10') }, { shipId: 's2', orderId: 2, _arrival_time: at('01:00') }, { shipId: 's3', orderId: 3, _arrival_time: at('01:00') }]),
    };
    const result = await runQuery({ sql, inputs });
    const t = (mmss: string) => `2026-03-02T08:${mmss}.000Z`;
    // Order 2's trade comes after it: padded, its ROWTIME 02:00 still finds s2 of 01:00; s3 is two minutes before order 3.
    expect(result.streams.result!.map((r) => [r.rt, r.orderId, r.tradeId, r.tt, r.shipId]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      [t('01:00'), 1, 100, t('00:30'), 's1'],
      [t('02:00'), 2, null, null, 's2'],
      [t('03:00'), 3, null, null, null],
    ]);
  });

  it('keeps only the trades of the last minute for the orders to come', async () => {
    // Ten minutes of one trade and one order per second, checkpointed: what the join holds at each checkpoint.
    const trades = Array.from({ length: 600 }, (_, i) => ({ tradeId: i, orderId: i % 7, _arrival_time: new Date(Date.UTC(2026, 2, 2, 8, 0, i)).toISOString() }));
    const orders = trades.map((t, i) => ({ orderId: i % 7, _arrival_time: t._arrival_time }));
    const held: { watermark: number; times: number[] }[] = [];
    // The join's checkpoints hold what changed: merged, as the query store keeps them, they are its state.
    const merged = new Map<string, unknown>();
    const result = await runQuery({
      sql: LEFT_JOIN,
      inputs: { OrderStream: once(orders), TradeStream: once(trades) },
      checkpointEveryRows: 50,
      onSnapshot: (task, _id, state) => {
        const m = mergeState(merged.get(task), structuredClone(state)) as MergedKeyedState;
        merged.set(task, m);
        const meta = m?.meta as { watermark: number; sides?: unknown[] } | undefined;
        if (!meta?.sides) return;
        // The trades' times: a chunk's times (the ROWTIME), or by key each row's ROWTIME.
        const times: number[] = [];
        for (const chunk of m.entries.get('chunks:1')?.values() ?? []) times.push(...(chunk as { times: Float64Array }).times);
        for (const rows of m.entries.get('keys:1')?.values() ?? []) times.push(...(rows as [unknown[][]])[0].map((row) => row[2] as number));
        held.push({ watermark: meta.watermark, times });
      },
    });
    expect(held.length).toBeGreaterThan(10);
    for (const { watermark, times } of held) {
      // A trade is needed while an order can still come less than a minute after it: orders come at the watermark or later.
      expect(times.every((t) => t >= watermark - 60_000)).toBe(true);
      expect(times.length).toBeLessThanOrEqual(61 + 50);
    }
    // Each order joins the trades of its orderId of the last minute: those 7, 14, ... 56 seconds before, and its own.
    const rows = result.streams.result!;
    const last = rows.filter((r) => r.ROWTIME === '2026-03-02T08:09:59.000Z').map((r) => r.tradeId as number);
    expect(last.sort((a, b) => a - b)).toEqual([543, 550, 557, 564, 571, 578, 585, 592, 599]);
  });
});

/**
 * An outer interval join pads a row that matched nothing when the watermark passes the last time a match
 * could come, while the inputs are still open: not only when they end.
 */
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

const SQL = `
CREATE TABLE Orders (id BIGINT, order_time TIMESTAMP(3), WATERMARK FOR order_time AS order_time);
CREATE TABLE Shipments (order_id BIGINT, ship_time TIMESTAMP(3), WATERMARK FOR ship_time AS ship_time);
SELECT o.id, s.ship_time
FROM Orders o LEFT JOIN Shipments s
ON o.id = s.order_id AND o.order_time BETWEEN s.ship_time - INTERVAL '4' HOUR AND s.ship_time;`;

const at = (hhmm: string) => `2026-03-02T${hhmm}:00Z`;

describe('outer interval join', () => {
  it('emits an unmatched order padded with NULLs once both watermarks pass its bound, before the inputs end', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Only a fallback so a wrong engine fails instead of hanging: the assertion is on the order of events.
    const fallback = setTimeout(() => {
      events.push('inputs released without the padded row');
      release();
    }, 15_000);
    async function* orders() {
      // Order 2 (09:00) can match shipments up to 13:00; order 9 moves the orders' watermark to 13:30.
      yield [{ id: 2, order_time: at('09:00') }, { id: 9, order_time: at('13:30') }];
      await gate;
      yield { id: 10, order_time: at('14:00') };
    }
    async function* shipments() {
      yield [{ order_id: 9, ship_time: at('13:40') }];
      await gate;
      yield { order_id: 10, ship_time: at('15:00') };
    }
    try {
      const result = await runQuery({
        sql: SQL,
        inputs: { Orders: orders(), Shipments: shipments() },
        onRow: (_stream, row) => {
          if (row.id === 2 && row.ship_time === null) {
            events.push('order 2 padded');
            release();
          }
        },
      });
      expect(events[0]).toBe('order 2 padded');
      expect(result.streams.result!.map((r) => [r.id, r.ship_time])).toEqual([
        [9, '2026-03-02T13:40:00.000Z'],
        [2, null],
        [10, '2026-03-02T15:00:00.000Z'],
      ]);
    } finally {
      clearTimeout(fallback);
    }
  });
});

/**
 * A source decodes only the columns its script reads (Flink dialect): EXPLAIN names them, a bad value in a
 * column nothing reads is no error, a script that reads whole rows (`*`) decodes every column, and a
 * checkpoint whose rows carry every column (as written when every column was decoded) restores into the
 * pruned plan with the same result. `checkpoints/highest-bid-every-column.json` was taken by the code before
 * pruning and before the select list after a window aggregate was folded into it (its EXPLAIN and the rows
 * delivered before it are kept beside the v8-serialized state): it restores unchanged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';
import { mergeState, restorableState } from '../../src/sql/runtime/keyed-state.ts';

const TABLE = `CREATE TABLE bid (auction BIGINT, price BIGINT, note VARCHAR, dateTime TIMESTAMP(3),
  WATERMARK FOR dateTime AS dateTime - INTERVAL '1' SECOND) WITH ('stream' = 'bid');`;

// Every bid at its 10-second window's highest price: the join buffers the bids.
const HIGHEST = `${TABLE}
CREATE VIEW max_price AS
SELECT window_start, window_end, MAX(price) AS maxprice
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
SELECT m.window_start, b.auction, b.price FROM bid b JOIN max_price m
  ON b.price = m.maxprice AND m.window_end BETWEEN b.dateTime AND b.dateTime + INTERVAL '20' SECOND
  AND b.dateTime >= m.window_start AND b.dateTime < m.window_end;`;

function bids(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    auction: i % 11,
    price: (i * 7919) % 1000,
    note: `note ${i}`,
    dateTime: Date.UTC(2026, 11, 7) + i * 700,
  }));
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const sourceLine = (plan: string) => plan.split('\n').find((l) => l.trim().startsWith('Source ['));
const rowText = (row: Record<string, unknown>) => JSON.stringify(row);

describe('column pruning at the source', () => {
  it('EXPLAIN names the columns a source decodes', async () => {
    const pruned = await runQuery({ sql: HIGHEST, inputs: { bid: iterate([]) }, explain: true });
    expect(sourceLine(pruned.explain!)).toContain('reads=auction, price, dateTime (3 of 4 columns)');
    const whole = await runQuery({ sql: `${TABLE}\nSELECT * FROM bid;`, inputs: { bid: iterate([]) }, explain: true });
    expect(sourceLine(whole.explain!)).not.toContain('reads=');
  });

  it('a bad value in a column nothing reads is no error; in a column read it is', async () => {
    const records = [
      { auction: 1, price: 10, note: 'w', dateTime: 1000 },
      { auction: 2, price: 'ten', note: 'x', dateTime: 2000 },
      { auction: 3, price: 30, note: 'y', dateTime: 3000 },
    ];
    const sql = `${TABLE}\nSELECT auction, price FROM bid;`;
    const result = await runQuery({ sql, inputs: { bid: iterate(records) } });
    expect(result.streams.result).toEqual([
      { auction: 1, price: 10 },
      { auction: 3, price: 30 },
    ]);
    expect(result.errors.map((e) => [e.ERROR_NAME, e.MESSAGE])).toEqual([['PARSE_ERROR', 'field "price" is "ten", not an integer']]);

    // Declared BIGINT, text is an error only where the column is read.
    const narrow = TABLE.replace('note VARCHAR', 'note BIGINT');
    const big = [{ auction: 1, price: 10, note: 'many', dateTime: 1000 }];
    const skipped = await runQuery({ sql: `${narrow}\nSELECT auction FROM bid;`, inputs: { bid: iterate(big) } });
    expect(skipped.errors).toEqual([]);
    expect(skipped.streams.result).toEqual([{ auction: 1 }]);
    const read = await runQuery({ sql: `${narrow}\nSELECT * FROM bid;`, inputs: { bid: iterate(big) } });
    expect(read.errors.map((e) => e.ERROR_NAME)).toEqual(['PARSE_ERROR']);
  });

  it('a checkpoint whose rows carry every column restores into the pruned plan', async () => {
    const input = bids(600);
    const full = await runQuery({ sql: HIGHEST, inputs: { bid: iterate(input) } });
    const all = full.streams.result!.map(rowText).sort();
    expect(all.length).toBeGreaterThan(10);

    // The same plan decoding every column: an unused view reading `*` changes no task, only what is decoded.
    const everyColumn = `${HIGHEST.replace('SELECT m.window_start', 'CREATE VIEW whole AS SELECT * FROM bid;\nSELECT m.window_start')}`;
    const wholePlan = await runQuery({ sql: everyColumn, inputs: { bid: iterate([]) }, explain: true });
    const prunedPlan = await runQuery({ sql: HIGHEST, inputs: { bid: iterate([]) }, explain: true });
    expect(sourceLine(wholePlan.explain!)).not.toContain('reads=');
    expect(wholePlan.explain!.replace(/ reads=[^\]]*/g, '')).toBe(prunedPlan.explain!.replace(/ reads=[^\]]*/g, ''));

    const states = new Map<number, Record<string, unknown>>();
    const delivered: string[] = [];
    const cuts = new Map<number, number>();
    await runQuery({
      sql: everyColumn,
      inputs: { bid: iterate(input) },
      batchSize: 10,
      checkpointEveryRows: 50,
      onRow: (_stream, row) => delivered.push(rowText(row)),
      onSnapshot: (task, id, state) => {
        const byTask = states.get(id) ?? {};
        byTask[task] = structuredClone(state);
        states.set(id, byTask);
        if (task.startsWith('sink:')) cuts.set(id, delivered.length);
      },
    });
    const ids = [...states.keys()].sort((a, b) => a - b);
    expect(ids.length).toBeGreaterThan(4);
    const cutId = ids[Math.floor(ids.length / 2)]!;
    const merged: Record<string, unknown> = {};
    for (const id of ids.filter((i) => i <= cutId)) for (const [task, state] of Object.entries(states.get(id)!)) merged[task] = mergeState(merged[task], state);
    const restoreFrom = structuredClone(Object.fromEntries(Object.entries(merged).map(([task, state]) => [task, restorableState(state)])));
    // The buffered bids in the checkpoint hold their notes (the join's chunks of rows are entries of a Map).
    expect(JSON.stringify(restoreFrom, (_key, value: unknown) => (value instanceof Map ? [...value] : value))).toContain('note ');

    const restored = await runQuery({ sql: HIGHEST, inputs: { bid: iterate(input) }, batchSize: 10, restoreFrom });
    const before = delivered.slice(0, cuts.get(cutId));
    const after = restored.streams.result!.map(rowText);
    expect([...before, ...after].sort()).toEqual(all);
  });

  it('a checkpoint taken before pruning and folding restores into the current plan', async () => {
    const saved = JSON.parse(readFileSync(join(import.meta.dirname, 'checkpoints', 'highest-bid-every-column.json'), 'utf8')) as {
      explain: string[];
      delivered: string[];
      restoreFrom: string;
    };
    // As the query store keeps checkpoints: v8-serialized (base64 in the file).
    const restoreFrom = deserialize(Buffer.from(saved.restoreFrom, 'base64')) as Record<string, unknown>;
    const plan = (await runQuery({ sql: HIGHEST, inputs: { bid: iterate([]) }, explain: true })).explain!.split('\n');
    // The plan changed since: the source reads 3 columns and the select list is folded into the aggregate.
    expect(plan).not.toEqual(saved.explain);
    expect(plan.some((l) => l.includes('TumblingWindowAggregate') && l.includes('; select window_start, window_end, MAX(price) AS maxprice'))).toBe(true);

    const input = bids(600);
    const full = await runQuery({ sql: HIGHEST, inputs: { bid: iterate(input) } });
    const restored = await runQuery({ sql: HIGHEST, inputs: { bid: iterate(input) }, batchSize: 10, restoreFrom });
    expect(saved.delivered.length).toBeGreaterThan(0);
    expect(restored.streams.result!.length).toBeGreaterThan(0);
    expect([...saved.delivered, ...restored.streams.result!.map(rowText)].sort()).toEqual(full.streams.result!.map(rowText).sort());
  });
});

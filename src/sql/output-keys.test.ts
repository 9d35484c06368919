import { describe, expect, it } from 'vitest';
import { planLiveQuery } from './index.ts';

const TOLLS = `CREATE TABLE tolls (customer_id VARCHAR, plaza_id VARCHAR, amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls');`;

async function keysOf(sql: string, inferred?: Record<string, { name: string; type: 'VARCHAR' | 'BIGINT' | 'TIMESTAMP' }[]>) {
  const plan = await planLiveQuery({ sql, inferred });
  return Object.fromEntries(plan.outputs.map((o) => [o.name, o.keys]));
}

describe('output keys of a live query', () => {
  it('a window TVF aggregate is named by its bounds and group keys, partitioned by the group keys', async () => {
    const keys = await keysOf(`${TOLLS}
      CREATE TABLE out (window_start TIMESTAMP(3), customer_id VARCHAR, total BIGINT) WITH ('stream' = 'spend');
      INSERT INTO out SELECT window_start, customer_id, SUM(amount_cents)
      FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, customer_id;`);
    expect(keys.spend).toEqual({ mode: 'window', identity: ['window_start', 'customer_id'], partition: ['customer_id'] });
  });

  it('a window whose bounds are not in the output, a projection and a GROUP BY without a window', async () => {
    const keys = await keysOf(`${TOLLS}
      CREATE TABLE a (customer_id VARCHAR, total BIGINT) WITH ('stream' = 'a');
      CREATE TABLE b (customer_id VARCHAR, amount_cents BIGINT) WITH ('stream' = 'b');
      CREATE TABLE c (plaza_id VARCHAR, n BIGINT) WITH ('stream' = 'c');
      INSERT INTO a SELECT customer_id, SUM(amount_cents) FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, customer_id;
      INSERT INTO b SELECT customer_id, amount_cents FROM tolls WHERE amount_cents > 100;
      INSERT INTO c SELECT plaza_id, COUNT(*) FROM tolls GROUP BY plaza_id;`);
    expect(keys.a!.mode).toBe('row');
    expect(keys.b!.mode).toBe('row');
    expect(keys.c).toEqual({ mode: 'group', identity: ['plaza_id'], partition: ['plaza_id'] });
  });

  it('grouping sets give several rows per window and bounds, none named by them alone', async () => {
    const keys = await keysOf(`${TOLLS}
      CREATE TABLE out (window_start TIMESTAMP(3), customer_id VARCHAR, total BIGINT) WITH ('stream' = 'spend');
      INSERT INTO out SELECT window_start, customer_id, SUM(amount_cents)
      FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, ROLLUP (customer_id);`);
    expect(keys.spend!.mode).toBe('row');
  });

  it('Kinesis: STEP over ROWTIME is the window, STEP over another column a plain key', async () => {
    const input = { SOURCE_SQL_STREAM_001: [{ name: 'customer_id', type: 'VARCHAR' as const }, { name: 'event_time', type: 'TIMESTAMP' as const }] };
    const keys = await keysOf(`
      CREATE OR REPLACE STREAM "D" ("customer_id" VARCHAR(16), "minute" TIMESTAMP, "n" BIGINT);
      CREATE OR REPLACE STREAM "E" ("customer_id" VARCHAR(16), "minute" TIMESTAMP, "n" BIGINT);
      CREATE OR REPLACE PUMP "P1" AS INSERT INTO "D" SELECT STREAM "customer_id", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE), COUNT(*)
        FROM "SOURCE_SQL_STREAM_001" GROUP BY "customer_id", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE);
      CREATE OR REPLACE PUMP "P2" AS INSERT INTO "E" SELECT STREAM "customer_id", STEP("event_time" BY INTERVAL '1' MINUTE), COUNT(*)
        FROM "SOURCE_SQL_STREAM_001" GROUP BY "customer_id", STEP("event_time" BY INTERVAL '1' MINUTE);`, input);
    expect(keys.D).toEqual({ mode: 'window', identity: ['customer_id', 'minute'], partition: ['customer_id'] });
    expect(keys.E).toEqual({ mode: 'group', identity: ['customer_id', 'minute'], partition: ['customer_id', 'minute'] });
  });

  it('a Top-N outside windows keeps the changes of one partition together, a window Top-N does not', async () => {
    const keys = await keysOf(`${TOLLS}
      CREATE TABLE a (customer_id VARCHAR, plaza_id VARCHAR, amount_cents BIGINT, event_time TIMESTAMP(3), rn BIGINT) WITH ('stream' = 'a');
      CREATE TABLE b (plaza_id VARCHAR, amount_cents BIGINT) WITH ('stream' = 'b');
      CREATE TABLE c (p VARCHAR, amount_cents BIGINT) WITH ('stream' = 'c');
      CREATE TABLE d (customer_id VARCHAR, amount_cents BIGINT) WITH ('stream' = 'd');
      CREATE TABLE e (window_start TIMESTAMP(3), window_end TIMESTAMP(3), plaza_id VARCHAR, total BIGINT, rn BIGINT) WITH ('stream' = 'e');
      INSERT INTO a SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plaza_id ORDER BY amount_cents DESC) AS rn FROM tolls) WHERE rn <= 3;
      INSERT INTO b SELECT plaza_id, amount_cents FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plaza_id ORDER BY amount_cents DESC) AS rn FROM tolls) WHERE rn <= 3;
      INSERT INTO c SELECT plaza_id AS p, amount_cents FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plaza_id ORDER BY event_time DESC) AS rn FROM tolls) WHERE rn = 1;
      INSERT INTO d SELECT customer_id, amount_cents FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY plaza_id ORDER BY amount_cents DESC) AS rn FROM tolls) WHERE rn <= 3;
      INSERT INTO e SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY total DESC) AS rn
        FROM (SELECT window_start, window_end, plaza_id, SUM(amount_cents) AS total FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, plaza_id)) WHERE rn <= 3;`);
    expect(keys.a).toEqual({ mode: 'row', identity: [], partition: ['plaza_id'] });
    expect(keys.b).toEqual({ mode: 'row', identity: [], partition: ['plaza_id'] });
    // Renamed on the way out: the column under its new name.
    expect(keys.c).toEqual({ mode: 'row', identity: [], partition: [] });
    // The partition column is not in the output.
    expect(keys.d).toEqual({ mode: 'row', identity: [], partition: [] });
    expect(keys.e).toEqual({ mode: 'row', identity: [], partition: [] });
  });
});

/** VALUES in live queries: united with a stream it is planned (its task reports no checkpoint state); alone it is refused. */
import { describe, expect, it } from 'vitest';
import { planLiveQuery } from '../../src/sql/index.ts';

const TOLLS = `CREATE TABLE tolls (plate VARCHAR(8), amount BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('stream' = 'tolls');`;

describe('VALUES in a live query', () => {
  it('united with a stream: planned, and the checkpoint waits only for tasks a source feeds', async () => {
    const plan = await planLiveQuery({
      sql: `${TOLLS}
        SELECT plate, amount FROM tolls UNION ALL SELECT p, a FROM (VALUES ('X1', 5)) AS v(p, a);`,
    });
    const values = plan.graph.nodes.find((n) => n.name === 'Values')!;
    expect(values).toBeDefined();
    expect(plan.taskIds).not.toContain(values.id);
    expect(plan.taskIds).toContain(plan.outputs[0]!.sinkTaskId);
  });

  it('alone: refused, naming the supported form', async () => {
    await expect(planLiveQuery({ sql: `SELECT * FROM (VALUES (1, 'a')) AS t(id, name);` })).rejects.toThrow(/fed by VALUES alone.*\n[\s\S]*UNION ALL/);
  });
});

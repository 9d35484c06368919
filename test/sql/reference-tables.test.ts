import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

async function* records(rows: Record<string, unknown>[]) {
  yield* rows;
}

describe('reference tables in the file runner', () => {
  it('a table kept from a stream, with no file to read it from, fails with what to do instead of joining an empty table', async () => {
    const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'tolls');
      CREATE TABLE stations (plaza_id INT, name VARCHAR(32)) WITH ('stream' = 'station_reference', 'kind' = 'table', 'key' = 'plaza_id');
      SELECT t.plate, s.name FROM tolls t JOIN stations s ON t.plaza_id = s.plaza_id;`;
    await expect(runQuery({ sql, inputs: { tolls: records([{ plate: 'AB-1', plaza_id: 1 }]), station_reference: records([{ plaza_id: 1, name: 'North' }]) } })).rejects.toMatchObject({
      code: 'SQL_INPUT',
      message: expect.stringContaining("give the table a file with 'path'"),
    });
  });
});

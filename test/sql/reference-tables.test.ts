import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

async function* records(rows: Record<string, unknown>[]) {
  yield* rows;
}

describe('reference tables in the file runner', () => {
  const sql = `
      CREATE TABLE tolls (plate VARCHAR(16), plaza_id INT) WITH ('stream' = 'tolls');
      CREATE TABLE stations (plaza_id INT, name VARCHAR(32)) WITH ('stream' = 'station_reference', 'kind' = 'table', 'key' = 'plaza_id');
      SELECT t.plate, s.name FROM tolls t JOIN stations s ON t.plaza_id = s.plaza_id;`;

  it('a table kept from a stream reads that stream as a changelog when it is given as an input', async () => {
    const result = await runQuery({
      sql,
      inputs: {
        tolls: records([{ plate: 'AB-1', plaza_id: 1 }, { plate: 'CD-2', plaza_id: 2 }, { plate: 'EF-3', plaza_id: 3 }]),
        station_reference: records([
          { plaza_id: 1, name: 'North' },
          { plaza_id: 2, name: 'South' },
          { plaza_id: 1, name: 'North Gate' },
          { plaza_id: 2, _deleted: true },
          { plaza_id: 3, name: 'East' },
        ]),
      },
    });
    const rows = Object.entries(result.streams).filter(([name]) => name !== 'error_stream').flatMap(([, r]) => r).sort((a, b) => String(a.plate).localeCompare(String(b.plate)));
    expect(rows).toEqual([
      { plate: 'AB-1', name: 'North Gate' },
      { plate: 'EF-3', name: 'East' },
    ]);
  });

  it('a table kept from a stream, with no file and no input to read it from, fails with what to do instead of joining an empty table', async () => {
    await expect(runQuery({ sql, inputs: { tolls: records([{ plate: 'AB-1', plaza_id: 1 }]) } })).rejects.toMatchObject({
      code: 'SQL_INPUT',
      message: expect.stringContaining("give the table a file with 'path'"),
    });
  });
});

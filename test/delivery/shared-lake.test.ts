/**
 * The lake a cluster's nodes share (one folder, commits in PostgreSQL), with two lakes in one process as two
 * nodes: a batch that does not continue a shard from the position the lake holds is refused and leaves no file,
 * and a file a killed writer left uncommitted is deleted once no commit can take it any more, and not before.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openParquetLake, openSharedParquetLake, type DestinationBatch, type SharedParquetLake } from '../../src/delivery/index.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import type { Row } from '../../src/warehouse/index.ts';
import { postgresSchema, type PostgresSchema } from '../postgres/server.ts';
import { tempDir, T0 } from './helpers.ts';

const STREAM = 'toll_transactions';
const SHARD = 'shardId-000000000000';

function row(seq: number): Row {
  return {
    transaction_id: `t${seq}`,
    customer_id: 'c1',
    tag_id: null,
    plate: 'ABC123',
    plaza_id: `P0${seq % 2}`,
    lane: 1,
    vehicle_class: 2,
    amount_cents: 250,
    currency: 'USD',
    event_time: T0 + seq,
    arrival_time: T0 + seq,
    shard_id: SHARD,
    sequence_number: String(seq),
  };
}

/** Records `first` to `last` of the shard, continuing from `previous`. */
function batch(first: number, last: number, previous: string | null): DestinationBatch {
  const rows = Array.from({ length: last - first + 1 }, (_, i) => row(first + i));
  return { stream: STREAM, rows, errors: [], positions: { [SHARD]: String(last) }, previous: { [SHARD]: previous } };
}

async function idsOnDisk(dir: string): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const glob = path.join(dir, STREAM, '**', '*.parquet').replaceAll("'", "''");
    return (await conn.runAndReadAll(`SELECT transaction_id FROM read_parquet('${glob}') ORDER BY CAST(sequence_number AS BIGINT)`)).getRowsJS().map((r) => String(r[0]));
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

describe('the Parquet lake the nodes of a cluster share', () => {
  let dir: string;
  let place: PostgresSchema;
  const lakes: SharedParquetLake[] = [];
  const open = async () => {
    const lake = await openSharedParquetLake({ dir, schema: TOLL_TRANSACTIONS, postgresUrl: place.url, postgresSchema: place.schema });
    lakes.push(lake);
    return lake;
  };

  beforeEach(async () => {
    dir = await tempDir('tollstream-shared-lake-');
    place = postgresSchema('shared_lake');
  });
  afterEach(async () => {
    for (const lake of lakes.splice(0)) await lake.close();
    await place.cleanup();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a batch that does not continue from the held position, leaving none of its files', async () => {
    const [a, b] = [await open(), await open()];
    await a.write(batch(1, 3, null));
    // b read the position before a's commit (a lease that moved under it): its batch covers records a wrote.
    await expect(b.write(batch(1, 5, null))).rejects.toMatchObject({ code: 'DELIVERY_POSITION_CONFLICT', context: { shardId: SHARD } });
    expect(await idsOnDisk(dir)).toEqual(['t1', 't2', 't3']);
    expect(await b.positions(STREAM)).toEqual({ [SHARD]: '3' });
    await b.write(batch(4, 5, '3'));
    expect(await idsOnDisk(dir)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect((await a.files()).map((f) => [f.firstSequenceNumber, f.lastSequenceNumber])).toEqual([['1', '3'], ['1', '3'], ['4', '5'], ['4', '5']]);
    const current = JSON.parse(await fs.readFile(path.join(dir, STREAM, '_current.json'), 'utf8')) as { files: string[] };
    expect(current.files.sort()).toEqual((await a.files()).map((f) => f.path).sort());
  });

  it('is never opened as a lone node\'s lake, which would delete the files its manifests do not name, nor over one', async () => {
    await (await open()).write(batch(1, 2, null));
    await expect(openParquetLake({ dir, schema: TOLL_TRANSACTIONS, compactionIntervalSeconds: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', context: { key: 'lake.dir' } });
    expect(await idsOnDisk(dir)).toEqual(['t1', 't2']);
    const lone = path.join(dir, 'lone');
    const lake = await openParquetLake({ dir: lone, schema: TOLL_TRANSACTIONS, compactionIntervalSeconds: 0 });
    await lake.write(batch(1, 2, null));
    await lake.close();
    await expect(openSharedParquetLake({ dir: lone, schema: TOLL_TRANSACTIONS, postgresUrl: place.url, postgresSchema: place.schema })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('deletes the files of a writer killed before its commit once the shard has moved past them', async () => {
    const a = await open();
    await a.write(batch(1, 2, null));
    // What a writer killed between writing its files and committing them leaves: rows not committed and files
    // on disk, for records 3 to 4 (after the held position, so a commit could still take them).
    const [committed] = await a.files();
    const orphan = committed!.path.replace(/-1-2-([0-9a-f]+)\.parquet$/, '-3-4-dead00000000.parquet');
    await fs.copyFile(path.join(dir, STREAM, committed!.path), path.join(dir, STREAM, orphan));
    await place.admin(
      `INSERT INTO "${place.schema}".lake_files (lake, path, attempt, stream, shard_id, first_sequence_number, entry) VALUES ('toll_transactions', $1, 'dead00000000', $2, $3, 3, '{}')`,
      [orphan, STREAM, SHARD],
    );
    const b = await open();
    // Taking the shard: the file starts after the held position, so it stays (its writer might still commit).
    expect(await b.positions(STREAM)).toEqual({ [SHARD]: '2' });
    expect(await fs.stat(path.join(dir, STREAM, orphan)).then(() => true)).toBe(true);
    // The new owner writes records 3 to 6: the orphan can never commit now, and goes.
    await b.write(batch(3, 6, '2'));
    await expect(fs.stat(path.join(dir, STREAM, orphan))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await idsOnDisk(dir)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
    expect((await place.admin(`SELECT count(*)::int AS n FROM "${place.schema}".lake_files WHERE commit_no IS NULL`)).rows[0].n).toBe(0);
  });
});

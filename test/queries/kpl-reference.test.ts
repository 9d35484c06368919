/** A stream-backed reference table whose changelog a KPL producer writes: its rows come from the user records. */
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedStreamLog } from '../../src/log/index.ts';
import { QueryManager } from '../../src/queries/index.ts';
import { aggregateWithBadDigest, encodeAggregate } from '../support/kpl-aggregate.ts';
import { NAMED_TOLLS_SQL, openLog, readAll, tempDir, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('reference tables from KPL aggregated records', () => {
  it('applies every user record of an aggregate and ignores a malformed aggregate', async () => {
    const { dir, cleanup } = await tempDir('kpl-ref-');
    const log: EmbeddedStreamLog = await openLog(dir);
    const manager = new QueryManager({ log, dir: `${dir}/queries`, checkpointIntervalMs: 200, referenceDir: dir });
    cleanups.push(cleanup, async () => {
      await manager.close();
      await log.close();
    });
    await log.createStream('toll_transactions', { shardCount: 1, dedupe: { mode: 'key' } });
    await log.createStream('station_reference', { shardCount: 1 });
    const station = (plaza: string, name: string) => ({ partitionKey: plaza, data: JSON.stringify({ plaza_id: plaza, name }) });
    await log.append('station_reference', [
      { partitionKey: 'batch-1', data: encodeAggregate([station('P1', 'North Gate'), station('P2', 'River Bridge')]) },
      // A malformed aggregate after them would rename P1 if it were read.
      { partitionKey: 'batch-2', data: aggregateWithBadDigest([station('P1', 'Wrong Name')]) },
    ]);
    await manager.start();
    await manager.createQuery({
      name: 'named',
      sql: NAMED_TOLLS_SQL,
    });
    await log.append('toll_transactions', [
      { partitionKey: 't1', data: Buffer.from(JSON.stringify({ transaction_id: 't1', plaza_id: 'P1' })) },
      { partitionKey: 't2', data: Buffer.from(JSON.stringify({ transaction_id: 't2', plaza_id: 'P2' })) },
    ]);
    let rows: Record<string, unknown>[] = [];
    await waitFor(async () => {
      rows = await readAll(log, 'named_tolls').catch(() => []);
      return rows.length >= 2;
    }, 'the two joined rows');
    expect(rows.map((r) => [r.transaction_id, r.plaza]).sort()).toEqual([
      ['t1', 'North Gate'],
      ['t2', 'River Bridge'],
    ]);
  });
});

/**
 * Query definitions and checkpoints on a real PostgreSQL (a schema of their own per test): the shared query
 * store suite, and checkpoint writes fenced by the query's lease.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { leaseStoreTimeoutMs, leaseTimings } from '../../src/config/index.ts';
import { openPostgresQueryStore } from '../../src/queries/postgres-store.ts';
import { describeQueryStoreConformance } from '../../src/queries/conformance.ts';
import type { Checkpoint } from '../../src/queries/types.ts';
import { postgresSchema } from '../postgres/server.ts';

describeQueryStoreConformance('PostgreSQL', async () => {
  const place = postgresSchema('queries');
  return {
    open: ({ checkpointFullEvery }) => openPostgresQueryStore({ connectionString: place.url, schema: place.schema, checkpointFullEvery }),
    cleanup: () => place.cleanup(),
  };
});

describe('checkpoints fenced by the query lease', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  function checkpoint(id: number): Checkpoint {
    return { version: 1, id, takenAt: id, states: { count: { n: id } }, positions: { tolls: { 'shardId-000000000000': String(id) } }, sinks: {} };
  }

  it('a node writes checkpoints only while it holds the lease; after a takeover the new holder reads the last one committed and the old one is refused', async () => {
    const leasePlace = postgresSchema('qleases');
    const place = postgresSchema('queries');
    cleanups.push(() => leasePlace.cleanup(), () => place.cleanup());
    const leases = await openPostgresLeaseStore({ connectionString: leasePlace.url, schema: leasePlace.schema, timeoutMs: leaseStoreTimeoutMs(leaseTimings(undefined)) });
    cleanups.push(() => leases.close());
    const open = async () => {
      const store = await openPostgresQueryStore({ connectionString: place.url, schema: place.schema, leaseSchema: leasePlace.schema, checkpointFullEvery: 3 });
      cleanups.push(() => store.close());
      return store;
    };
    const [a, b] = [await open(), await open()];
    await a.saveDefinition({ name: 'spend', sql: 'SELECT 1', inputs: {}, outputs: {}, errorStream: 'spend_errors', inferred: {}, createdAt: 1, stopped: false });
    await leases.ensure(['query:spend']);
    const takenA = (await leases.take('query:spend', 'node-a', 0, 30_000))!;
    const fenceA = { key: 'query:spend', owner: 'node-a', epoch: takenA.epoch };
    expect(await a.loadCheckpoint('spend', fenceA)).toBeNull();
    for (let id = 1; id <= 4; id++) await a.saveCheckpoint('spend', checkpoint(id), fenceA);
    // Not at the epoch it holds, not by another owner, and not without the lease at all.
    await expect(a.saveCheckpoint('spend', checkpoint(5), { ...fenceA, epoch: takenA.epoch + 1 })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(a.saveCheckpoint('spend', checkpoint(5), { ...fenceA, owner: 'node-b' })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(a.saveCheckpoint('spend', checkpoint(5), null)).rejects.toMatchObject({ code: 'LEASE_LOST' });
    // node-a stops renewing (its last renewal gives it 300 ms); the lease expires; node-b takes it and reads checkpoint 4, the last committed under node-a's lease.
    await leases.renew('query:spend', 'node-a', takenA.epoch, 300);
    while ((await leases.read()).leases[0]!.expiresInMs > 0) await new Promise((r) => setTimeout(r, 100));
    const takenB = (await leases.take('query:spend', 'node-b', takenA.epoch, 30_000))!;
    expect(takenB.owner).toBe('node-b');
    const fenceB = { key: 'query:spend', owner: 'node-b', epoch: takenB.epoch };
    expect(await b.loadCheckpoint('spend', fenceB)).toMatchObject({ id: 4, states: { count: { n: 4 } } });
    // node-a, which still believes it runs the query, can write nothing more.
    await expect(a.saveCheckpoint('spend', checkpoint(5), fenceA)).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await b.saveCheckpoint('spend', checkpoint(5), fenceB);
    expect(await (await open()).loadCheckpoint('spend')).toMatchObject({ id: 5 });
    // Dropping the query removes its lease in the same transaction.
    await b.remove('spend');
    expect((await leases.read()).leases.map((l) => l.key)).toEqual([]);
    await expect(b.saveCheckpoint('spend', checkpoint(6), fenceB)).rejects.toMatchObject({ code: 'LEASE_LOST' });
  });
});

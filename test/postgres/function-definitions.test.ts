/**
 * Deployed functions' definitions shared in PostgreSQL (src/functions/shared-definitions.ts), as two nodes use
 * them: a change made from an older read is refused, a deleted function cannot be claimed, and it is removed with
 * its checkpoints only once no node with a live claim runs it, its leases released so that a node still running it
 * cannot commit under them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { leaseStoreTimeoutMs, leaseTimings } from '../../src/config/index.ts';
import { SharedDefinitions } from '../../src/functions/index.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { openPostgresTables } from '../../src/tables/index.ts';
import { postgresSchema } from './server.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const definition = (version: number, extra: Record<string, unknown> = {}) => ({
  name: 'count',
  stream: 'events',
  settings: {},
  version,
  codeSha256: `sha-${version}`,
  paused: false,
  source: 'api' as const,
  createdAt: 1,
  updatedAt: version,
  ...extra,
});

async function setUp() {
  const tablesPlace = postgresSchema('fndefs');
  const leasePlace = postgresSchema('fndefs_leases');
  cleanups.push(() => tablesPlace.cleanup(), () => leasePlace.cleanup());
  const store = await openPostgresTables({ connectionString: tablesPlace.url, schema: tablesPlace.schema });
  cleanups.push(() => store.close());
  const leases = await openPostgresLeaseStore({ connectionString: leasePlace.url, schema: leasePlace.schema, timeoutMs: leaseStoreTimeoutMs(leaseTimings(undefined)) });
  cleanups.push(() => leases.close());
  const node = (name: string, runnerTtlMs = 60_000) => SharedDefinitions.open({ store, node: name, leaseSchema: leasePlace.schema, runnerTtlMs });
  return { store, leases, node };
}

describe('function definitions shared in PostgreSQL', () => {
  it('refuses a change made from an older read, and a second deploy of a taken name', async () => {
    const { node } = await setUp();
    const [a, b] = [await node('node-a'), await node('node-b')];
    await a.create(definition(1), 'export const handler = () => {};');
    await expect(b.create(definition(1), 'x')).rejects.toMatchObject({ code: 'FUNCTION_EXISTS' });
    const read = (await b.get('count'))!;
    expect(read).toMatchObject({ revision: 1, deleted: false, definition: { version: 1 } });
    await a.replace(definition(2), 1, 'export const handler = () => 2;');
    // b changes what it read at revision 1: a changed it since.
    await expect(b.replace(definition(3), read.revision)).rejects.toMatchObject({ code: 'FUNCTION_CHANGED', retriable: true, context: { function: 'count' } });
    await expect(b.markDeleted('count', read.revision)).rejects.toMatchObject({ code: 'FUNCTION_CHANGED' });
    expect(await b.code('count', 2)).toBe('export const handler = () => 2;');
    expect(await b.code('count', 1)).toBeUndefined();
    expect((await b.list()).map((d) => [d.definition.version, d.revision])).toEqual([[2, 2]]);
  });

  it('removes a deleted function with its checkpoints only once no node runs it, and releases its leases', async () => {
    const { store, leases, node } = await setUp();
    const [a, b] = [await node('node-a'), await node('node-b')];
    await a.create(definition(1), 'export const handler = () => {};');
    expect(await a.claim('count')).toBe(true);
    expect(await b.claim('count')).toBe(true);
    await store.transaction(async (tx) => {
      await tx.setCheckpoint('function:count', 'events', 'shardId-000000000000', '100');
      await tx.setCheckpoint('function:other', 'events', 'shardId-000000000000', '7');
    });
    const checkpoint = async (consumer: string) => (await store.getCheckpoint(consumer, 'events', 'shardId-000000000000'))?.sequenceNumber;
    const key = 'function:count:events:shardId-000000000000';
    await leases.ensure([key, 'function:other:events:shardId-000000000000']);
    await leases.heartbeat('node-b', 60_000);
    const taken = (await leases.take(key, 'node-b', 0, 60_000))!;

    await a.markDeleted('count', 1);
    // A node that has not seen the delete yet cannot start the function any more.
    expect(await a.claim('count')).toBe(false);
    await a.unclaim('count');
    // node-b still runs it: nothing is removed.
    expect(await a.removeDeleted()).toEqual([]);
    expect(await checkpoint('function:count')).toBe('100');
    expect(await b.refresh()).toEqual(new Set(['count']));

    await b.unclaim('count');
    expect(await b.removeDeleted()).toEqual(['count']);
    expect(await checkpoint('function:count')).toBeUndefined();
    expect(await checkpoint('function:other')).toBe('7');
    expect(await a.list()).toEqual([]);
    // The lease row stays for a function deployed anew under the name, unowned at a new epoch: node-b's old lease renews nothing.
    const table = await leases.read();
    expect(table.leases.find((l) => l.key === key)).toMatchObject({ owner: null, epoch: taken.epoch + 1 });
    expect(table.leases.find((l) => l.key === 'function:other:events:shardId-000000000000')).toMatchObject({ epoch: 0 });
    expect(await leases.renew(key, 'node-b', taken.epoch, 60_000)).toBeUndefined();
    // The name is free again.
    await b.create(definition(1), 'export const handler = () => {};');
    expect(await b.claim('count')).toBe(true);
  });

  it('does not wait for a node whose claim expired (it died, or lost PostgreSQL for longer than the claim lasts)', async () => {
    const { node } = await setUp();
    const a = await node('node-a');
    const dead = await node('node-dead', 300);
    await a.create(definition(1), 'export const handler = () => {};');
    expect(await dead.claim('count')).toBe(true);
    await a.markDeleted('count', 1);
    // A live claim holds the removal back (above); one not refreshed for 300 ms no longer does.
    const removed: string[] = [];
    for (let i = 0; i < 100 && removed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      removed.push(...(await a.removeDeleted()));
    }
    expect(removed).toEqual(['count']);
    // Its claims are gone with the function: its next refresh tells it so.
    expect(await dead.refresh()).toEqual(new Set());
  });
});

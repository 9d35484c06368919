/**
 * The conformance suite every query store runs (files in `conformance.test.ts`, PostgreSQL in
 * `test/queries/postgres-store.test.ts`): definitions stored, replaced and listed; checkpoints stored and read
 * back by a store opened afresh (another process, or another node), incremental chains merged on restore,
 * a query removed with its checkpoints. A query's checkpoints are saved after its definition.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyedState } from '../sql/runtime/keyed-state.ts';
import { seal } from './sealed-state.ts';
import type { Checkpoint, QueryDefinition, QueryStateStore } from './types.ts';

/** One place of stored queries; `open` may be called many times (a restart, or another node). */
export interface QueryStoreFixture {
  open(options: { checkpointFullEvery: number }): Promise<QueryStateStore>;
  cleanup(): Promise<void>;
}

function definition(name: string, createdAt: number, stopped = false): QueryDefinition {
  return { name, sql: `SELECT * FROM tolls -- ${name}`, inputs: { tolls: 'toll_transactions' }, outputs: { OUT: `${name}_out` }, errorStream: `${name}_errors`, inferred: {}, createdAt, stopped };
}

/** Checkpoint `id` of a run where checkpoint i changes customers i*3 .. i*3+4 of 50, and the first writes them all. */
function incremental(id: number): Checkpoint {
  const changed = id === 1 ? Array.from({ length: 50 }, (_, i) => i) : Array.from({ length: 5 }, (_, i) => (id * 3 + i) % 50);
  const set: [string, unknown][] = changed.map((c) => [`C-${c}`, { cents: c * 100 + id }]);
  const agg: KeyedState = { keyed: 1, meta: { watermark: id }, dropped: [], sections: [{ name: 0, set, removed: id > 2 ? [`C-${id + 40}`] : [] }] };
  return { version: 1, id, takenAt: 1_700_000_000_000 + id, states: { agg, source: { offset: id } }, positions: { toll_transactions: { 'shardId-000000000000': String(1000 + id) } }, sinks: { OUT: { counts: new Map([['k', [id, id]]]) } } };
}

/** Every customer's value after checkpoints 1..id, as a restore must give them. */
function expectedEntries(id: number): Map<string, unknown> {
  const all = new Map<string, unknown>();
  for (let i = 1; i <= id; i++) {
    const section = (incremental(i).states.agg as KeyedState).sections[0]!;
    for (const key of section.removed) all.delete(key as string);
    for (const [k, v] of section.set) all.set(k as string, v);
  }
  return all;
}

/** Checkpoint `id` as a query thread hands it over: every task's state and the key counters sealed (sealed-state.ts). */
function sealedIncremental(id: number): Checkpoint {
  const cp = incremental(id);
  const sealed = { states: Object.fromEntries(Object.entries(cp.states).map(([t, s]) => [t, seal(s)])), sinks: Object.fromEntries(Object.entries(cp.sinks).map(([o, s]) => [o, seal(s)])) };
  return { version: 1, id, takenAt: cp.takenAt, states: {}, positions: cp.positions, sinks: {}, sealed };
}

function entriesOf(cp: Checkpoint): Map<string, unknown> {
  return new Map((cp.states.agg as KeyedState).sections[0]!.set as Iterable<[string, unknown]>);
}

export function describeQueryStoreConformance(name: string, createFixture: () => Promise<QueryStoreFixture>): void {
  describe(`query store conformance: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const fn of cleanups.splice(0).reverse()) await fn();
    });
    async function setUp() {
      const fixture = await createFixture();
      cleanups.push(() => fixture.cleanup());
      const open = async (checkpointFullEvery = 4) => {
        const store = await fixture.open({ checkpointFullEvery });
        cleanups.push(() => store.close());
        return store;
      };
      return { open };
    }

    it('stores definitions, replaces one whole, and lists them oldest first to a store opened afresh', async () => {
      const { open } = await setUp();
      const store = await open();
      expect(await store.listDefinitions()).toEqual([]);
      await store.saveDefinition(definition('later', 20));
      await store.saveDefinition(definition('earlier', 10));
      await store.saveDefinition(definition('later', 20, true));
      const other = await open();
      expect(await other.listDefinitions()).toEqual([definition('earlier', 10), definition('later', 20, true)]);
    });

    it('creates a definition only once, also when another store (another node) tries the same name', async () => {
      const { open } = await setUp();
      const [one, other] = [await open(), await open()];
      await one.saveDefinition(definition('spend', 1), { create: true });
      await expect(other.saveDefinition(definition('spend', 2), { create: true })).rejects.toMatchObject({ code: 'QUERY_EXISTS' });
      await expect(one.saveDefinition(definition('spend', 3), { create: true })).rejects.toMatchObject({ code: 'QUERY_EXISTS' });
      expect(await (await open()).listDefinitions()).toEqual([definition('spend', 1)]);
    });

    it('reads back the newest checkpoint of an incremental chain, merged, from a store opened afresh, and continues the chain', async () => {
      const { open } = await setUp();
      const first = await open(4);
      await first.saveDefinition(definition('spend', 1));
      expect(await first.loadCheckpoint('spend')).toBeNull();
      for (let id = 1; id <= 6; id++) expect(await first.saveCheckpoint('spend', incremental(id))).toBeGreaterThan(0);
      // Another process (or node) reads what the first wrote.
      const second = await open(4);
      const at6 = await second.loadCheckpoint('spend');
      expect(at6).toMatchObject({ id: 6, positions: incremental(6).positions, sinks: incremental(6).sinks, states: { source: { offset: 6 } } });
      expect(entriesOf(at6!)).toEqual(expectedEntries(6));
      // It goes on from there (past the next full checkpoint), and a third store reads its chain.
      for (let id = 7; id <= 11; id++) await second.saveCheckpoint('spend', incremental(id));
      const at11 = await (await open(4)).loadCheckpoint('spend');
      expect(at11?.id).toBe(11);
      expect(entriesOf(at11!)).toEqual(expectedEntries(11));
    });

    it('stores checkpoints whose states arrive sealed from a query thread as it stores open ones, mixed in one chain', async () => {
      const { open } = await setUp();
      const store = await open(3);
      await store.saveDefinition(definition('spend', 1));
      // Sealed and open checkpoints alternate, as when a query moves between a thread and the main thread.
      for (let id = 1; id <= 7; id++) expect(await store.saveCheckpoint('spend', id % 3 === 0 ? incremental(id) : sealedIncremental(id))).toBeGreaterThan(0);
      const at7 = await (await open(3)).loadCheckpoint('spend');
      expect(at7).toMatchObject({ id: 7, positions: incremental(7).positions, sinks: incremental(7).sinks, states: { source: { offset: 7 } } });
      expect(at7).not.toHaveProperty('sealed');
      expect(entriesOf(at7!)).toEqual(expectedEntries(7));
    });

    it('keeps each query its own chain', async () => {
      const { open } = await setUp();
      const store = await open(3);
      await store.saveDefinition(definition('a', 1));
      await store.saveDefinition(definition('b', 2));
      for (let id = 1; id <= 4; id++) await store.saveCheckpoint('a', incremental(id));
      for (let id = 1; id <= 2; id++) await store.saveCheckpoint('b', incremental(id));
      const fresh = await open(3);
      expect((await fresh.loadCheckpoint('a'))?.id).toBe(4);
      expect((await fresh.loadCheckpoint('b'))?.id).toBe(2);
      expect(entriesOf((await fresh.loadCheckpoint('b'))!)).toEqual(expectedEntries(2));
    });

    it('removes a query with its checkpoints: a store opened afresh knows neither', async () => {
      const { open } = await setUp();
      const store = await open();
      await store.saveDefinition(definition('gone', 1));
      await store.saveDefinition(definition('kept', 2));
      for (let id = 1; id <= 3; id++) {
        await store.saveCheckpoint('gone', incremental(id));
        await store.saveCheckpoint('kept', incremental(id));
      }
      await store.remove('gone');
      const fresh = await open();
      expect((await fresh.listDefinitions()).map((d) => d.name)).toEqual(['kept']);
      expect(await fresh.loadCheckpoint('gone')).toBeNull();
      expect((await fresh.loadCheckpoint('kept'))?.id).toBe(3);
      // A query created again under the name starts afresh.
      await fresh.saveDefinition(definition('gone', 3));
      await fresh.saveCheckpoint('gone', incremental(1));
      expect(entriesOf((await (await open()).loadCheckpoint('gone'))!)).toEqual(expectedEntries(1));
    });
  });
}

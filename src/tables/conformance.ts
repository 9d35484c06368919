/**
 * The conformance suite of the asynchronous tables door (`TableStore`): every backend runs it from one of
 * its test files,
 *
 *   describeTableStoreConformance('SQLite', async () => ({ store, reopen, openPeer, cleanup }));
 *
 * It asserts only behaviour a caller can observe through the interface: items, conditions, counters, queries,
 * scans, checkpoints, transactions (commit, rollback, savepoints), and that concurrent transactions from two
 * stores over the same storage (two processes' worth of connections) never lose an update.
 *
 * This file imports vitest, so it is a door for test files only and is not re-exported by `index.ts`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TollstreamError } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { StoreTx, TableStore } from './types.ts';

export interface TableStoreHarness {
  readonly store: TableStore;
  /** Closes `store` and opens the backend again over the same storage; later tests use the returned store. */
  reopen(): Promise<TableStore>;
  /** Another store over the same storage with connections of its own, as a second process would open it. */
  openPeer(): Promise<TableStore>;
  /** Closes whatever is open and removes the storage. */
  cleanup(): Promise<void>;
}

async function rejection(p: Promise<unknown> | (() => Promise<unknown>)): Promise<TollstreamError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof TollstreamError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function expectCode(p: Promise<unknown> | (() => Promise<unknown>), code: ErrorCode): Promise<TollstreamError> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  return err;
}

interface SpendRecord {
  sequenceNumber: string;
  customer: string;
  cents: number;
}

/** A stream function's batch: skip what the checkpoint covers, add the rest, move the checkpoint, in one transaction. */
async function applyBatchIn(tx: StoreTx, records: readonly SpendRecord[], crashAfter?: number, pause?: number, by?: string): Promise<void> {
  const done = (await tx.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0'))?.sequenceNumber;
  if (pause !== undefined) await sleep(pause);
  let applied = 0;
  for (const record of records) {
    if (done !== undefined && BigInt(record.sequenceNumber) <= BigInt(done)) continue;
    await tx.update('spend', { pk: record.customer, sk: '2026-11' }, { add: { total_cents: record.cents } });
    if (by !== undefined) await tx.put('spend', { pk: 'applied', sk: `${record.sequenceNumber}:${by}` }, {});
    applied++;
    if (crashAfter !== undefined && applied === crashAfter) throw new Error('crash');
  }
  const last = records[records.length - 1];
  if (last) await tx.setCheckpoint('spend-fn', 'toll_transactions', 'shard-0', last.sequenceNumber);
}

export function describeTableStoreConformance(name: string, open: () => Promise<TableStoreHarness>): void {
  describe(`tables conformance: ${name}`, () => {
    let harness: TableStoreHarness;
    let store: TableStore;

    beforeEach(async () => {
      harness = await open();
      store = harness.store;
      await store.createTable('spend', { sortKey: true });
      await store.createTable('customers');
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    describe('items', () => {
      it('puts and gets a JSON object with its version', async () => {
        const stored = await store.put('customers', { pk: 'c-1' }, { name: 'Ana', limit_cents: 5000, tags: ['ev'], meta: { tier: null } });
        expect(stored.version).toBe(1);
        const read = await store.get('customers', { pk: 'c-1' });
        expect(read?.value).toEqual({ name: 'Ana', limit_cents: 5000, tags: ['ev'], meta: { tier: null } });
        expect(read?.version).toBe(1);
        expect(read).not.toHaveProperty('sk');
        expect(read?.updatedAt).toBe(stored.updatedAt);
        expect(await store.get('customers', { pk: 'nobody' })).toBeUndefined();
        const second = await store.put('customers', { pk: 'c-1' }, { name: 'Ana B' });
        expect(second.version).toBe(2);
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual({ name: 'Ana B' });
      });

      it('keeps integers exact up to 2^53-1, other numbers and strings as written, and rejects larger integers', async () => {
        const max = Number.MAX_SAFE_INTEGER;
        const value = { a: max, b: -max, c: 0.1, d: 0.1 + 0.2, e: -2.5e-300, f: 'é\u{1F600}"\\\n', g: [1, [2, { h: true }]], i: false };
        await store.put('customers', { pk: 'c-1' }, value);
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual(value);

        const err = await expectCode(store.put('customers', { pk: 'c-2' }, { nested: { big: 2 ** 60 } }), 'INVALID_ARGUMENT');
        expect(err.message).toContain('value.nested.big');
        expect(err.message).toContain('2^53');
        await expectCode(store.put('customers', { pk: 'c-2' }, { x: Number.NaN }), 'INVALID_ARGUMENT');
        await expectCode(store.put('customers', { pk: 'c-2' }, { when: new Date() } as never), 'INVALID_ARGUMENT');
        expect(await store.get('customers', { pk: 'c-2' })).toBeUndefined();
      });

      it('adds atomically, creating missing items and attributes, and returns the new item', async () => {
        const first = await store.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 125 }, set: { currency: 'USD' } });
        expect(first.value).toEqual({ total_cents: 125, currency: 'USD' });
        expect(first.version).toBe(1);
        const second = await store.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 250, 'by_plaza.p7': 1 } });
        expect(second.value).toEqual({ total_cents: 375, currency: 'USD', by_plaza: { p7: 1 } });
        expect(second.version).toBe(2);
        expect((await store.get('spend', { pk: 'c-1', sk: '2026-11' }))?.value).toEqual(second.value);
        const removed = await store.update('spend', { pk: 'c-1', sk: '2026-11' }, { remove: ['currency'] });
        expect(removed.value).toEqual({ total_cents: 375, by_plaza: { p7: 1 } });
      });

      it('refuses an add that would leave the exact integer range, and an add to a non-number', async () => {
        await store.put('customers', { pk: 'c-1' }, { total: Number.MAX_SAFE_INTEGER - 1, name: 'x' });
        expect((await rejection(store.update('customers', { pk: 'c-1' }, { add: { total: 5 } }))).message).toContain('2^53');
        await expectCode(store.update('customers', { pk: 'c-1' }, { add: { name: 5 } }), 'INVALID_ARGUMENT');
        expect((await store.get('customers', { pk: 'c-1' }))?.version).toBe(1);
      });

      it('refuses a value over 400 KiB as JSON with PAYLOAD_TOO_LARGE, by put and by update', async () => {
        const big = 'x'.repeat(400 * 1024);
        await expectCode(store.put('customers', { pk: 'c-1' }, { big }), 'PAYLOAD_TOO_LARGE');
        await store.put('customers', { pk: 'c-1' }, { small: 1 });
        await expectCode(store.update('customers', { pk: 'c-1' }, { set: { big } }), 'PAYLOAD_TOO_LARGE');
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual({ small: 1 });
      });

      it('refuses an update spec with an unknown key instead of writing nothing', async () => {
        expect((await rejection(store.update('customers', { pk: 'c-1' }, { inc: { n: 1 } } as never))).message).toContain("unknown key 'inc'");
        expect(await store.get('customers', { pk: 'c-1' })).toBeUndefined();
      });

      it('refuses attribute paths that are empty or reach into prototypes', async () => {
        for (const path of ['', 'a..b', '__proto__', 'x.constructor']) {
          await expectCode(store.update('customers', { pk: 'c-1' }, { set: { [path]: 1 } }), 'INVALID_ARGUMENT');
        }
        expect(await store.get('customers', { pk: 'c-1' })).toBeUndefined();
      });

      it('deletes and returns what was removed', async () => {
        await store.put('customers', { pk: 'c-1' }, { a: 1 });
        expect((await store.delete('customers', { pk: 'c-1' }))?.value).toEqual({ a: 1 });
        expect(await store.get('customers', { pk: 'c-1' })).toBeUndefined();
        expect(await store.delete('customers', { pk: 'c-1' })).toBeUndefined();
      });

      it('checks keys against the table: sort key required, forbidden, or non-empty', async () => {
        await expectCode(store.put('spend', { pk: 'c-1' }, {}), 'INVALID_ARGUMENT');
        expect((await rejection(store.put('customers', { pk: 'c-1', sk: 'x' }, {}))).message).toContain('no sort key');
        await expectCode(store.put('customers', { pk: '' }, {}), 'INVALID_ARGUMENT');
        const missing = await expectCode(store.get('nope', { pk: 'a' }), 'NOT_FOUND');
        expect(missing.context).toEqual({ table: 'nope' });
        await expectCode(store.put('nope', { pk: 'a' }, {}), 'NOT_FOUND');
      });

      it('keeps items and tables across reopening', async () => {
        await store.update('spend', { pk: 'c-1', sk: '2026-11' }, { add: { total_cents: 7 } });
        store = await harness.reopen();
        expect((await store.listTables()).map((t) => [t.name, t.sortKey])).toEqual([
          ['customers', false],
          ['spend', true],
        ]);
        expect((await store.describeTable('spend')).sortKey).toBe(true);
        expect((await store.get('spend', { pk: 'c-1', sk: '2026-11' }))?.value).toEqual({ total_cents: 7 });
      });

      it('deleting a table removes its items', async () => {
        await store.put('customers', { pk: 'c-1' }, { a: 1 });
        await store.deleteTable('customers');
        await expectCode(store.get('customers', { pk: 'c-1' }), 'NOT_FOUND');
        await expectCode(store.describeTable('customers'), 'NOT_FOUND');
        await store.createTable('customers');
        expect(await store.get('customers', { pk: 'c-1' })).toBeUndefined();
      });

      it('creating an existing table fails unless ifNotExists matches its key shape', async () => {
        expect((await store.createTable('spend', { sortKey: true, ifNotExists: true })).name).toBe('spend');
        await expectCode(store.createTable('spend', { sortKey: true }), 'INVALID_ARGUMENT');
        expect((await rejection(store.createTable('spend', { ifNotExists: true }))).message).toContain('sortKey=true');
        await expectCode(store.createTable('no spaces'), 'INVALID_ARGUMENT');
      });
    });

    describe('conditional writes', () => {
      it('put with item absent creates once, then fails with CONDITION_FAILED and context', async () => {
        await store.put('customers', { pk: 'c-1' }, { n: 1 }, { condition: { item: 'absent' } });
        const err = await expectCode(store.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { item: 'absent' } }), 'CONDITION_FAILED');
        expect(err.context).toMatchObject({ table: 'customers', pk: 'c-1', operation: 'put', currentVersion: 1 });
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual({ n: 1 });
      });

      it('expected version guards against lost updates', async () => {
        const v1 = await store.put('customers', { pk: 'c-1' }, { n: 1 });
        await store.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { version: v1.version } });
        await expectCode(store.put('customers', { pk: 'c-1' }, { n: 3 }, { condition: { version: v1.version } }), 'CONDITION_FAILED');
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual({ n: 2 });
      });

      it('a put on the version it read returns the next version; a refused one names the current version and leaves the transaction usable', async () => {
        const v1 = await store.put('customers', { pk: 'c-1' }, { n: 1 });
        const v2 = await store.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { version: v1.version } });
        expect(v2).toMatchObject({ pk: 'c-1', value: { n: 2 }, version: v1.version + 1 });
        await store.transaction(async (tx) => {
          const stale = await expectCode(tx.put('customers', { pk: 'c-1' }, { n: 3 }, { condition: { version: v1.version } }), 'CONDITION_FAILED');
          expect(stale.context).toMatchObject({ table: 'customers', pk: 'c-1', operation: 'put', currentVersion: v2.version });
          await expectCode(tx.put('customers', { pk: 'absent' }, { n: 1 }, { condition: { version: 1 } }), 'CONDITION_FAILED');
          await expectCode(tx.put('customers', { pk: 'c-1' }, { n: 3 }, { condition: { version: 0 } }), 'INVALID_ARGUMENT');
          expect((await tx.put('customers', { pk: 'c-1' }, { n: 4 }, { condition: { version: v2.version } })).version).toBe(v2.version + 1);
        });
        expect(await store.get('customers', { pk: 'c-1' })).toMatchObject({ value: { n: 4 }, version: v2.version + 1 });
        expect(await store.get('customers', { pk: 'absent' })).toBeUndefined();
      });

      it('attribute comparisons decide updates and deletes', async () => {
        const key = { pk: 'c-1', sk: '2026-11' };
        await store.put('spend', key, { total_cents: 4000, alerted: false });
        const crossing = await store.update('spend', key, {
          set: { alerted: true },
          condition: { and: [{ attr: 'total_cents', op: '>=', value: 4000 }, { attr: 'alerted', op: '=', value: false }] },
        });
        expect(crossing.value.alerted).toBe(true);
        const again = await expectCode(store.update('spend', key, { set: { alerted: true }, condition: { attr: 'alerted', op: '=', value: false } }), 'CONDITION_FAILED');
        expect(again.context).toMatchObject({ sk: '2026-11', operation: 'update', currentVersion: 2 });
        await expectCode(store.delete('spend', key, { condition: { attr: 'total_cents', op: '<', value: 5 } }), 'CONDITION_FAILED');
        expect(await store.delete('spend', key, { condition: { not: { attr: 'missing', op: 'attribute_exists' } } })).toBeDefined();
        expect(await store.get('spend', key)).toBeUndefined();
      });

      it('rejects malformed conditions instead of treating them as false', async () => {
        await store.put('customers', { pk: 'c-1' }, { n: 1 });
        await expectCode(store.put('customers', { pk: 'c-1' }, { n: 2 }, { condition: { attr: 'n', op: '==', value: 1 } as never }), 'INVALID_ARGUMENT');
        expect((await store.get('customers', { pk: 'c-1' }))?.value).toEqual({ n: 1 });
      });
    });

    describe('query', () => {
      beforeEach(async () => {
        for (const month of ['2026-09', '2026-10', '2026-11', '2026-12', '2027-01']) await store.put('spend', { pk: 'c-1', sk: month }, { month });
        await store.put('spend', { pk: 'c-2', sk: '2026-11' }, { month: '2026-11' });
      });

      const months = (r: { items: readonly { sk?: string }[] }) => r.items.map((i) => i.sk);

      it('returns one partition in sort key order, ascending or descending', async () => {
        expect(months(await store.query('spend', 'c-1'))).toEqual(['2026-09', '2026-10', '2026-11', '2026-12', '2027-01']);
        expect(months(await store.query('spend', 'c-1', { order: 'desc', limit: 2 }))).toEqual(['2027-01', '2026-12']);
        const [first] = (await store.query('spend', 'c-2')).items;
        expect(first).toMatchObject({ pk: 'c-2', sk: '2026-11', value: { month: '2026-11' }, version: 1 });
      });

      it('filters by prefix and by range', async () => {
        expect(months(await store.query('spend', 'c-1', { sk: { beginsWith: '2026-1' } }))).toEqual(['2026-10', '2026-11', '2026-12']);
        expect(months(await store.query('spend', 'c-1', { sk: { gt: '2026-10', lte: '2026-12' } }))).toEqual(['2026-11', '2026-12']);
        expect(months(await store.query('spend', 'c-1', { sk: { beginsWith: '2026', gte: '2026-11' } }))).toEqual(['2026-11', '2026-12']);
        expect(months(await store.query('spend', 'c-1', { sk: { gte: '2026-10', lt: '2026-12' }, order: 'desc' }))).toEqual(['2026-11', '2026-10']);
      });

      it('pages with a cursor without gaps or repeats, in both orders', async () => {
        for (const order of ['asc', 'desc'] as const) {
          const seen: (string | undefined)[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await store.query('spend', 'c-1', { limit: 2, order, ...(cursor ? { cursor } : {}) });
            seen.push(...months(page));
            cursor = page.cursor;
            pages++;
          } while (cursor);
          expect(pages).toBe(3);
          const expected = ['2026-09', '2026-10', '2026-11', '2026-12', '2027-01'];
          expect(seen).toEqual(order === 'asc' ? expected : expected.reverse());
        }
      });

      it('rejects a cursor of another partition, a bad limit and a bad order', async () => {
        const page = await store.query('spend', 'c-1', { limit: 1 });
        await expectCode(store.query('spend', 'c-2', { cursor: page.cursor as string }), 'INVALID_ARGUMENT');
        await expectCode(store.query('spend', 'c-1', { limit: 1001 }), 'INVALID_ARGUMENT');
        await expectCode(store.query('spend', 'c-1', { order: 'up' as never }), 'INVALID_ARGUMENT');
      });

      it('orders keys by code point, like their UTF-8 bytes, not by a locale', async () => {
        for (const sk of ['a\u{1F600}', 'a\uFFFD', 'b', 'B', 'a', 'ä', 'a b', 'a-b', 'ab']) await store.put('spend', { pk: 'u', sk }, {});
        expect(months(await store.query('spend', 'u'))).toEqual(['B', 'a', 'a b', 'a-b', 'ab', 'a\uFFFD', 'a\u{1F600}', 'b', 'ä']);
        expect(months(await store.query('spend', 'u', { sk: { beginsWith: 'a' } }))).toEqual(['a', 'a b', 'a-b', 'ab', 'a\uFFFD', 'a\u{1F600}']);
        for (const pk of ['é', 'Z', 'e', '\u{10000}', '\uFFFF']) await store.put('customers', { pk }, {});
        expect((await store.scan('customers')).items.map((i) => i.pk)).toEqual(['Z', 'e', 'é', '\uFFFF', '\u{10000}']);
      });
    });

    describe('scan', () => {
      it('pages through every item of one table in key order, across partitions', async () => {
        for (const id of ['c-3', 'c-1', 'c-2', 'c-5', 'c-4']) await store.put('customers', { pk: id }, { id });
        await store.put('spend', { pk: 'c-1', sk: '2026-01' }, { cents: 1 });
        await store.put('spend', { pk: 'c-1', sk: '2026-02' }, { cents: 2 });
        await store.put('spend', { pk: 'c-0', sk: '2026-03' }, { cents: 3 });

        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.scan('customers', { limit: 2, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items.map((i) => i.pk));
          cursor = page.cursor;
          pages++;
        } while (cursor);
        expect(seen).toEqual(['c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
        expect(pages).toBe(3);

        const first = await store.scan('spend', { limit: 2 });
        expect(first.items.map((i) => [i.pk, i.sk])).toEqual([['c-0', '2026-03'], ['c-1', '2026-01']]);
        const second = await store.scan('spend', { limit: 2, cursor: first.cursor! });
        expect(second.items.map((i) => [i.pk, i.sk])).toEqual([['c-1', '2026-02']]);
        expect(second.cursor).toBeUndefined();
        expect(await store.transaction(async (tx) => (await tx.scan('customers')).items.length)).toBe(5);
      });

      it('refuses a cursor of another table and a bad limit', async () => {
        await store.put('spend', { pk: 'c-1', sk: 'a' }, {});
        await store.put('spend', { pk: 'c-1', sk: 'b' }, {});
        const cursor = (await store.scan('spend', { limit: 1 })).cursor!;
        await expectCode(store.scan('customers', { cursor }), 'INVALID_ARGUMENT');
        await expectCode(store.scan('customers', { limit: 0 }), 'INVALID_ARGUMENT');
      });
    });

    describe('transactions with checkpoints', () => {
      const batch: SpendRecord[] = [
        { sequenceNumber: '0001', customer: 'c-1', cents: 125 },
        { sequenceNumber: '0002', customer: 'c-2', cents: 300 },
        { sequenceNumber: '0003', customer: 'c-1', cents: 75 },
      ];

      const applyBatch = (records: readonly SpendRecord[], crashAfter?: number) => store.transaction((tx) => applyBatchIn(tx, records, crashAfter));
      const total = async (customer: string, on = store) => (await on.get('spend', { pk: customer, sk: '2026-11' }))?.value.total_cents;

      it('a transaction that throws leaves neither writes nor checkpoint, and rethrows the very error', async () => {
        const thrown = new RangeError('the handler failed');
        const caught = await store
          .transaction(async (tx) => {
            await tx.put('spend', { pk: 'c-1', sk: 'x' }, { n: 1 });
            throw thrown;
          })
          .catch((err: unknown) => err);
        expect(caught).toBe(thrown);
        await expect(applyBatch(batch, 2)).rejects.toThrow('crash');
        expect(await total('c-1')).toBeUndefined();
        expect(await total('c-2')).toBeUndefined();
        expect(await store.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0')).toBeUndefined();
      });

      it('a batch redelivered after its commit has no second effect', async () => {
        await applyBatch(batch);
        await applyBatch(batch);
        expect(await total('c-1')).toBe(200);
        expect(await total('c-2')).toBe(300);
        expect((await store.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0'))?.sequenceNumber).toBe('0003');
      });

      it('after a crash and reopen, redelivery applies the batch exactly once', async () => {
        await expect(applyBatch(batch, 1)).rejects.toThrow('crash');
        store = await harness.reopen();
        await applyBatch(batch);
        await applyBatch([...batch, { sequenceNumber: '0004', customer: 'c-2', cents: 1 }]);
        expect(await total('c-1')).toBe(200);
        expect(await total('c-2')).toBe(301);
        expect(await store.listCheckpoints('spend-fn')).toEqual([
          expect.objectContaining({ consumer: 'spend-fn', stream: 'toll_transactions', shardId: 'shard-0', sequenceNumber: '0004' }),
        ]);
        expect(await store.deleteCheckpoints('spend-fn')).toBe(1);
        expect(await store.listCheckpoints('spend-fn')).toEqual([]);
      });

      it('checkpoints are listed per consumer in stream and shard order, and bad ones are refused', async () => {
        await store.transaction(async (tx) => {
          await tx.setCheckpoint('f', 's2', 'shard-0', '9');
          await tx.setCheckpoint('f', 's1', 'shard-1', '8');
          await tx.setCheckpoint('f', 's1', 'shard-0', '7');
          await tx.setCheckpoint('g', 's1', 'shard-0', '1');
        });
        expect((await store.listCheckpoints('f')).map((c) => [c.stream, c.shardId, c.sequenceNumber])).toEqual([
          ['s1', 'shard-0', '7'],
          ['s1', 'shard-1', '8'],
          ['s2', 'shard-0', '9'],
        ]);
        await expectCode(store.transaction((tx) => tx.setCheckpoint('f', 's1', 'shard-0', 'not-a-number')), 'INVALID_ARGUMENT');
        await expectCode(store.getCheckpoint('', 's1', 'shard-0'), 'INVALID_ARGUMENT');
        expect((await store.getCheckpoint('f', 's1', 'shard-0'))?.sequenceNumber).toBe('7');
      });

      it('returns the function result, and reads its own writes before the commit', async () => {
        const result = await store.transaction(async (tx) => {
          await tx.update('spend', { pk: 'c-9', sk: 'm' }, { add: { n: 1 } });
          await sleep(1);
          const seen = await tx.get('spend', { pk: 'c-9', sk: 'm' });
          const listed = await tx.query('spend', 'c-9');
          return { version: seen?.version, listed: listed.items.length };
        });
        expect(result).toEqual({ version: 1, listed: 1 });
        expect(await store.transaction((tx) => tx.get('spend', { pk: 'c-9', sk: 'm' }).then((i) => i?.value))).toEqual({ n: 1 });
      });

      it('several writes to one item in a transaction leave what the last one wrote, with versions counted as they happen', async () => {
        await store.put('customers', { pk: 'old' }, { n: 1 });
        await store.transaction(async (tx) => {
          await tx.put('customers', { pk: 'a' }, { n: 1 });
          expect((await tx.update<{ n: number }>('customers', { pk: 'a' }, { add: { n: 1 } })).version).toBe(2);
          expect((await tx.delete('customers', { pk: 'a' }))?.value).toEqual({ n: 2 });
          expect((await tx.put('customers', { pk: 'a' }, { n: 5 })).version).toBe(1);
          await tx.put('customers', { pk: 'gone' }, { n: 1 });
          await tx.delete('customers', { pk: 'gone' });
          await tx.delete('customers', { pk: 'old' });
          expect((await tx.update('customers', { pk: 'old' }, { set: { again: true } })).version).toBe(1);
          // Changing what a call returned, or the value given to it, changes nothing stored.
          const given = { n: 1, nested: { m: 1 } };
          await tx.put('customers', { pk: 'b' }, given);
          given.nested.m = 99;
          const got = await tx.get<{ n: number; nested: { m: number } }>('customers', { pk: 'b' });
          (got!.value as { n: number }).n = 42;
          expect((await tx.get('customers', { pk: 'b' }))?.value).toEqual({ n: 1, nested: { m: 1 } });
        });
        expect((await store.scan('customers')).items.map((i) => [i.pk, i.value, i.version])).toEqual([
          ['a', { n: 5 }, 1],
          ['b', { n: 1, nested: { m: 1 } }, 1],
          ['old', { again: true }, 1],
        ]);
      });

      it('operations a transaction starts without awaiting each run one after another, in call order', async () => {
        const key = { pk: 'c-1', sk: 'm' };
        const results = await store.transaction((tx) =>
          Promise.all(Array.from({ length: 10 }, () => tx.update<{ n: number }>('spend', key, { add: { n: 1 } })).concat([tx.delete('spend', { pk: 'none', sk: 'm' }) as never])),
        );
        expect(results.slice(0, 10).map((item) => item.value.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect((await store.get('spend', key))?.version).toBe(10);
      });

      it('a nested transaction that throws undoes only its own writes', async () => {
        await store.transaction(async (tx) => {
          await tx.put('spend', { pk: 'outer', sk: 'm' }, { n: 1 });
          await expect(
            tx.transaction(async (inner) => {
              await inner.put('spend', { pk: 'inner', sk: 'm' }, { n: 1 });
              throw new Error('inner failed');
            }),
          ).rejects.toThrow('inner failed');
          expect(await tx.get('spend', { pk: 'inner', sk: 'm' })).toBeUndefined();
          await tx.transaction((inner) => inner.put('spend', { pk: 'kept', sk: 'm' }, { n: 2 }));
        });
        expect(await store.get('spend', { pk: 'outer', sk: 'm' })).toBeDefined();
        expect(await store.get('spend', { pk: 'kept', sk: 'm' })).toBeDefined();
        expect(await store.get('spend', { pk: 'inner', sk: 'm' })).toBeUndefined();
      });

      it('a tx handle cannot be used after its transaction ended', async () => {
        let leaked: StoreTx | undefined;
        await store.transaction((tx) => {
          leaked = tx;
        });
        await expect(leaked!.put('spend', { pk: 'a', sk: 'b' }, {})).rejects.toThrow('transaction has ended');
        expect(await store.get('spend', { pk: 'a', sk: 'b' })).toBeUndefined();
      });

      it('calling the store itself inside its transaction is refused, not deadlocked', async () => {
        const err = await rejection(store.transaction(async () => store.get('spend', { pk: 'a', sk: 'b' })));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toContain("transaction's tx");
        await expectCode(store.transaction(async () => store.transaction(() => 1)), 'INVALID_ARGUMENT');
      });

      it('a caught conditional failure inside a transaction does not undo the other writes', async () => {
        await store.transaction(async (tx) => {
          await tx.put('spend', { pk: 'c-1', sk: 'm' }, { n: 1 });
          await expect(tx.put('spend', { pk: 'c-1', sk: 'm' }, { n: 2 }, { condition: { item: 'absent' } })).rejects.toThrow();
          await tx.setCheckpoint('f', 's', 'shard-0', '5');
        });
        expect((await store.get('spend', { pk: 'c-1', sk: 'm' }))?.value).toEqual({ n: 1 });
        expect((await store.getCheckpoint('f', 's', 'shard-0'))?.sequenceNumber).toBe('5');
      });

      it('writes of a transaction are not seen by others before it commits', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const peer = await harness.openPeer();
        try {
          let written!: () => void;
          const didWrite = new Promise<void>((resolve) => (written = resolve));
          const running = store.transaction(async (tx) => {
            await tx.put('customers', { pk: 'pending' }, { n: 1 });
            written();
            await gate;
          });
          await didWrite;
          expect(await peer.get('customers', { pk: 'pending' })).toBeUndefined();
          release();
          await running;
          expect((await peer.get('customers', { pk: 'pending' }))?.value).toEqual({ n: 1 });
        } finally {
          release();
          await peer.close();
        }
      });
    });

    describe('concurrency', () => {
      it('transactions adding to one counter from two stores never lose an update', async () => {
        const peer = await harness.openPeer();
        try {
          const perStore = 40;
          const key = { pk: 'counter', sk: 'm' };
          const adders = (on: TableStore, id: string) =>
            Array.from({ length: perStore }, (_, i) =>
              on.transaction(async (tx) => {
                const before = (await tx.get<{ n?: number }>('spend', key))?.value.n ?? 0;
                const after = await tx.update<{ n: number }>('spend', key, { add: { n: 1 } });
                // Serializable: the add lands on exactly what this transaction read.
                if (after.value.n !== before + 1) throw new Error(`read ${before} but the add gave ${after.value.n}`);
                await tx.setCheckpoint(`adder-${id}`, 's', 'shard-0', String(i + 1));
              }),
            );
          await Promise.all([...adders(store, 'a'), ...adders(peer, 'b')]);
          expect((await store.get('spend', key))?.value).toEqual({ n: 2 * perStore });
          expect((await peer.get('spend', key))?.version).toBe(2 * perStore);
          // Every transaction's checkpoint committed with its add, the last one per adder included.
          const checkpoints = [...(await store.listCheckpoints('adder-a')), ...(await store.listCheckpoints('adder-b'))];
          expect(checkpoints).toHaveLength(2);
        } finally {
          await peer.close();
        }
      });

      it('two consumers applying the same batch at once apply it once: the checkpoint read is part of the transaction', async () => {
        const peer = await harness.openPeer();
        try {
          const records: SpendRecord[] = [
            { sequenceNumber: '11', customer: 'c-1', cents: 100 },
            { sequenceNumber: '12', customer: 'c-1', cents: 10 },
          ];
          await store.put('spend', { pk: 'c-1', sk: '2026-11' }, { total_cents: 0 });
          // Each reads the checkpoint, then waits so that the other can read it too before either writes.
          await Promise.all([
            store.transaction((tx) => applyBatchIn(tx, records, undefined, 30, 'a')),
            peer.transaction((tx) => applyBatchIn(tx, records, undefined, 30, 'b')),
          ]);
          const applied = (await store.query('spend', 'applied')).items.map((i) => i.sk);
          expect(applied.length).toBe(2);
          expect(new Set(applied.map((sk) => sk?.split(':')[1])).size).toBe(1);
          expect((await store.get('spend', { pk: 'c-1', sk: '2026-11' }))?.value).toEqual({ total_cents: 110 });
          expect((await store.getCheckpoint('spend-fn', 'toll_transactions', 'shard-0'))?.sequenceNumber).toBe('12');
        } finally {
          await peer.close();
        }
      });

      it('creating one table from two stores at once with ifNotExists succeeds for both', async () => {
        const peer = await harness.openPeer();
        try {
          const created = await Promise.all([store.createTable('shared', { sortKey: true, ifNotExists: true }), peer.createTable('shared', { sortKey: true, ifNotExists: true })]);
          expect(created.map((t) => [t.name, t.sortKey])).toEqual([
            ['shared', true],
            ['shared', true],
          ]);
          expect((await store.listTables()).filter((t) => t.name === 'shared')).toHaveLength(1);
        } finally {
          await peer.close();
        }
      });

      it('a table created or deleted through another store is listed and described at once', async () => {
        const peer = await harness.openPeer();
        try {
          await store.listTables();
          await peer.createTable('by_peer', { sortKey: true });
          expect((await store.listTables()).map((t) => [t.name, t.sortKey])).toEqual([
            ['by_peer', true],
            ['customers', false],
            ['spend', true],
          ]);
          expect(await store.describeTable('by_peer')).toMatchObject({ name: 'by_peer', sortKey: true });
          await peer.deleteTable('by_peer');
          expect((await store.listTables()).map((t) => t.name)).toEqual(['customers', 'spend']);
          await expectCode(store.describeTable('by_peer'), 'NOT_FOUND');
        } finally {
          await peer.close();
        }
      });

      it('writes follow a table another store deleted and created again, not the table this store saw first', async () => {
        const peer = await harness.openPeer();
        try {
          await peer.createTable('by_peer');
          await store.put('by_peer', { pk: 'old' }, { n: 1 });
          await peer.deleteTable('by_peer');
          await expectCode(store.put('by_peer', { pk: 'lost' }, { n: 0 }), 'NOT_FOUND');
          await peer.createTable('by_peer', { sortKey: true });
          await store.put('by_peer', { pk: 'new', sk: 'a' }, { n: 2 });
          expect((await peer.get('by_peer', { pk: 'new', sk: 'a' }))?.value).toEqual({ n: 2 });
        } finally {
          await peer.close();
        }
      });

      it('creating a missing item from two stores at once with item absent lets exactly one win', async () => {
        const peer = await harness.openPeer();
        try {
          const attempts = await Promise.allSettled(
            [store, peer, store, peer].map((on, i) => on.put('customers', { pk: 'only-once' }, { by: i }, { condition: { item: 'absent' } })),
          );
          expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
          for (const a of attempts) if (a.status === 'rejected') expect((a.reason as TollstreamError).code).toBe('CONDITION_FAILED');
          expect((await store.get('customers', { pk: 'only-once' }))?.version).toBe(1);
        } finally {
          await peer.close();
        }
      });
    });
  });
}

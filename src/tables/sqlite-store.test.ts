import { describe, expect, it } from 'vitest';
import { describeTableStoreConformance } from './conformance.ts';
import { openTables, sqliteTableStore, type TableStore } from './index.ts';
import { tablesInternals } from './internal.ts';
import { tempDir } from './test-helpers.ts';

describeTableStoreConformance('SQLite', async () => {
  const dir = tempDir();
  const open = () => sqliteTableStore(openTables({ path: dir.dbPath }));
  let store = open();
  const peers: TableStore[] = [];
  return {
    store,
    reopen: async () => {
      await store.close();
      return (store = open());
    },
    // A second connection to the same file: SQLite's file lock decides between the two, as between processes.
    openPeer: async () => {
      const peer = open();
      peers.push(peer);
      return peer;
    },
    cleanup: async () => {
      for (const peer of peers) await peer.close();
      await store.close();
      dir.remove();
    },
  };
});

describe('the SQLite door and the synchronous API on one connection', () => {
  it('refuses synchronous use while an asynchronous transaction waits, and serves it again after', async () => {
    const dir = tempDir();
    const tables = openTables({ path: dir.dbPath });
    const store = sqliteTableStore(tables);
    tables.createTable('t');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = store.transaction(async (tx) => {
      await tx.put('t', { pk: 'a' }, { n: 1 });
      await gate;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(() => tables.put('t', { pk: 'b' }, { n: 1 })).toThrow('asynchronous transaction');
    expect(() => tables.get('t', { pk: 'a' })).toThrow('asynchronous transaction');
    release();
    await running;
    expect(tables.get('t', { pk: 'a' })?.value).toEqual({ n: 1 });
    expect(tables.get('t', { pk: 'b' })).toBeUndefined();
    await store.close();
    dir.remove();
  });

  it("waits for another connection's write lock without blocking the event loop, and gives up after the busy timeout", async () => {
    const dir = tempDir();
    const holder = sqliteTableStore(openTables({ path: dir.dbPath }));
    const waiter = sqliteTableStore(openTables({ path: dir.dbPath, busyTimeoutMs: 200 }));
    try {
      await holder.createTable('t');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = holder.transaction(async (tx) => {
        await tx.put('t', { pk: 'held' }, {});
        locked();
        await gate;
      });
      await isLocked;
      // Timers keep running while the waiter waits: the event loop is free.
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      const err = await waiter.put('t', { pk: 'late' }, {}).catch((e: unknown) => e);
      clearInterval(ticker);
      expect((err as { code?: string }).code).toBe('IO_ERROR');
      expect((err as Error).message).toContain('busy timeout');
      expect(ticks).toBeGreaterThan(0);
      // Once the holder commits, the waiter's next write goes through.
      const writing = waiter.put('t', { pk: 'after' }, {});
      release();
      await holding;
      await writing;
      expect((await waiter.scan('t')).items.map((i) => i.pk)).toEqual(['after', 'held']);
    } finally {
      await holder.close();
      await waiter.close();
      dir.remove();
    }
  });

  it("keeps Tables' flush choices: a when-needed commit is not flushed unless something in it requires it, and the level is restored", async () => {
    const dir = tempDir();
    const tables = openTables({ path: dir.dbPath });
    const store = sqliteTableStore(tables);
    try {
      await store.createTable('t');
      const internals = tablesInternals(tables);
      const before = { ...internals.stats };
      const commits = () => ({ flushed: internals.stats.flushedCommits - before.flushedCommits, unflushed: internals.stats.unflushedCommits - before.unflushedCommits });
      await store.transaction((tx) => tx.update('t', { pk: 'a' }, { add: { n: 1 } }), { flush: 'when-needed' });
      expect(commits()).toEqual({ flushed: 0, unflushed: 1 });
      await store.transaction(async (tx) => {
        await tx.update('t', { pk: 'a' }, { add: { n: 1 } });
        internals.requireFlush();
      }, { flush: 'when-needed' });
      expect(commits()).toEqual({ flushed: 1, unflushed: 1 });
      await store.update('t', { pk: 'a' }, { add: { n: 1 } });
      expect(commits()).toEqual({ flushed: 2, unflushed: 1 });
      // 2 is FULL: statements outside the door's transactions are flushed again.
      expect(internals.db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { describeTableStoreConformance } from './conformance.ts';
import { openTables, sqliteTableStore, type TableStore } from './index.ts';
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
});

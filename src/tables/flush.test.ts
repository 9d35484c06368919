import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openTables, type Tables } from './index.ts';
import { tablesInternals } from './internal.ts';
import { tempDir, type TempDir } from './test-helpers.ts';

let dir: TempDir | undefined;
let tables: Tables | undefined;

afterEach(() => {
  tables?.close();
  dir?.remove();
  tables = undefined;
  dir = undefined;
});

function open(synchronous?: 'full' | 'normal') {
  dir = tempDir();
  tables = openTables({ path: dir.dbPath, ...(synchronous ? { synchronous } : {}) });
  tables.createTable('totals');
  const internals = tablesInternals(tables);
  const before = { ...internals.stats };
  /** Commits since open() returned, by whether they were flushed. */
  const commits = () => ({
    flushed: internals.stats.flushedCommits - before.flushedCommits,
    unflushed: internals.stats.unflushedCommits - before.unflushedCommits,
  });
  /** The safety level SQLite would commit the next statement with: 2 is FULL (flushed), 1 NORMAL. */
  const level = () => internals.db.pragma('synchronous', { simple: true });
  return { tables, internals, commits, level };
}

describe('commit flushing', () => {
  it('a when-needed transaction that only writes state commits without a flush; one that requires it is flushed', () => {
    const { tables, internals, commits } = open();
    tables.transaction((tx) => tx.update('totals', { pk: 'c-1' }, { add: { cents: 5 } }), { flush: 'when-needed' });
    expect(commits()).toEqual({ flushed: 0, unflushed: 1 });
    tables.transaction((tx) => {
      tx.update('totals', { pk: 'c-1' }, { add: { cents: 5 } });
      internals.requireFlush();
    }, { flush: 'when-needed' });
    expect(commits()).toEqual({ flushed: 1, unflushed: 1 });
    expect(tables.get('totals', { pk: 'c-1' })?.value).toEqual({ cents: 10 });
  });

  it('every other write is flushed as before, also right after a when-needed commit', () => {
    const { tables, commits, level } = open();
    tables.transaction((tx) => tx.put('totals', { pk: 'a' }, { n: 1 }), { flush: 'when-needed' });
    expect(level()).toBe(2);
    tables.put('totals', { pk: 'b' }, { n: 2 });
    tables.transaction((tx) => tx.put('totals', { pk: 'c' }, { n: 3 }));
    tables.transaction((tx) => tx.put('totals', { pk: 'd' }, { n: 4 }), { flush: 'always' });
    expect(commits()).toEqual({ flushed: 3, unflushed: 1 });
  });

  it('a when-needed transaction that fails rolls back and leaves later commits flushed', () => {
    const { tables, commits, level } = open();
    expect(() =>
      tables.transaction((tx) => {
        tx.put('totals', { pk: 'a' }, { n: 1 });
        throw new Error('handler failed');
      }, { flush: 'when-needed' }),
    ).toThrow('handler failed');
    expect(tables.get('totals', { pk: 'a' })).toBeUndefined();
    expect(level()).toBe(2);
    tables.put('totals', { pk: 'b' }, { n: 2 });
    expect(commits()).toEqual({ flushed: 1, unflushed: 0 });
  });

  it('a write that asks for durability inside a when-needed transaction makes its commit flushed', () => {
    const { tables, commits } = open();
    tables.transaction((tx) => {
      tx.put('totals', { pk: 'a' }, { n: 1 });
      tables.put('totals', { pk: 'b' }, { n: 2 });
    }, { flush: 'when-needed' });
    expect(commits()).toEqual({ flushed: 1, unflushed: 0 });
    expect(tables.get('totals', { pk: 'b' })?.value).toEqual({ n: 2 });
  });

  it("with synchronous 'normal' no commit is flushed, as configured", () => {
    const { tables, internals, commits, level } = open('normal');
    tables.put('totals', { pk: 'a' }, { n: 1 });
    tables.transaction(() => internals.requireFlush(), { flush: 'when-needed' });
    expect(commits()).toEqual({ flushed: 0, unflushed: 2 });
    expect(level()).toBe(1);
  });

  it('an in-memory database takes when-needed transactions too', () => {
    tables = openTables({ path: ':memory:' });
    tables.createTable('totals');
    const internals = tablesInternals(tables);
    tables.transaction((tx) => {
      tx.put('totals', { pk: 'a' }, { n: 1 });
      internals.requireFlush();
    }, { flush: 'when-needed' });
    expect(tables.get('totals', { pk: 'a' })?.value).toEqual({ n: 1 });
  });

  it('refuses every later write once a flush after commit failed, and reads still answer', () => {
    const { tables, internals } = open();
    tables.transaction((tx) => tx.update('totals', { pk: 'c-1' }, { add: { cents: 5 } }));
    // The WAL file's name no longer leads to it: the flush after the next commit cannot open it.
    fs.renameSync(`${dir!.dbPath}-wal`, `${dir!.dbPath}-wal.moved`);
    const publishLike = () =>
      tables.transaction((tx) => {
        tx.update('totals', { pk: 'c-1' }, { add: { cents: 5 } });
        internals.requireFlush();
      }, { flush: 'when-needed' });
    expect(publishLike).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
    expect(() => tables.transaction((tx) => tx.update('totals', { pk: 'c-1' }, { add: { cents: 5 } }), { flush: 'when-needed' })).toThrow(
      expect.objectContaining({ code: 'IO_ERROR', message: expect.stringContaining('refused until the database is opened again') }),
    );
    expect(() => tables.put('totals', { pk: 'c-2' }, { cents: 1 })).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
    expect(tables.get('totals', { pk: 'c-1' })?.value).toEqual({ cents: 10 });
    fs.renameSync(`${dir!.dbPath}-wal.moved`, `${dir!.dbPath}-wal`);
  });
});

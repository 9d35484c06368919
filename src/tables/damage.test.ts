/** Damaged and lost database files: refused at open, naming the file, never read as valid (or empty) data. */
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { openTables } from './index.ts';
import { tempDir, type TempDir } from './test-helpers.ts';

let dir: TempDir;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

/** A database of a few hundred pages: 3,000 items in one table, closed (checkpointed into the file). */
function filled(path: string): void {
  const tables = openTables({ path, refuseLostFile: true, synchronous: 'normal' });
  tables.createTable('customers');
  for (let i = 0; i < 3000; i++) tables.put('customers', { pk: `c-${i}` }, { name: `customer ${i}`, note: 'x'.repeat(200), limit_cents: i });
  tables.close();
}

/** Inverts the first 16 bytes of pages `from` to `to` (1-based): their b-tree page headers. */
function flipPageHeaders(path: string, from: number, to: number): void {
  const pageSize = 4096;
  const fd = openSync(path, 'r+');
  try {
    for (let page = from; page <= to; page++) {
      const bytes = Buffer.alloc(16);
      readSync(fd, bytes, 0, bytes.length, (page - 1) * pageSize);
      for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
      writeSync(fd, bytes, 0, bytes.length, (page - 1) * pageSize);
    }
  } finally {
    closeSync(fd);
  }
}

function openError(open: () => unknown): TollstreamError {
  try {
    const tables = open() as { close(): void };
    tables.close();
  } catch (err) {
    if (err instanceof TollstreamError) return err;
    throw err;
  }
  throw new Error('expected the open to be refused');
}

describe('damaged and lost tables databases', () => {
  it('refuses a database whose pages were flipped, naming the file', () => {
    filled(dir.dbPath);
    const pages = statSync(dir.dbPath).size / 4096;
    expect(pages).toBeGreaterThan(100);
    // Pages deep in the customers b-tree: nothing read at open touches them.
    flipPageHeaders(dir.dbPath, Math.floor(pages / 2), Math.floor(pages / 2) + 3);
    const err = openError(() => openTables({ path: dir.dbPath }));
    expect(err.code).toBe('TABLES_CORRUPT');
    expect(err.message).toContain(dir.dbPath);
    expect(err.message).toMatch(/quick_check/);
    expect(err.context.path).toBe(dir.dbPath);
  });

  it('refuses a file that is not a database at all as damaged, not as an I/O error', () => {
    filled(dir.dbPath);
    flipPageHeaders(dir.dbPath, 1, 1);
    expect(openError(() => openTables({ path: dir.dbPath })).code).toBe('TABLES_CORRUPT');
  });

  it('refuses to start empty where a database was, and starts empty once the marker is gone too', () => {
    filled(dir.dbPath);
    for (const suffix of ['', '-wal', '-shm']) rmSync(dir.dbPath + suffix, { force: true });
    const err = openError(() => openTables({ path: dir.dbPath, refuseLostFile: true }));
    expect(isTollstreamError(err, 'TABLES_MISSING')).toBe(true);
    expect(err.message).toContain(dir.dbPath);
    expect(err.message).toContain(`${dir.dbPath}.created`);

    rmSync(`${dir.dbPath}.created`);
    const fresh = openTables({ path: dir.dbPath, refuseLostFile: true });
    try {
      expect(fresh.listTables()).toEqual([]);
    } finally {
      fresh.close();
    }
  });
});

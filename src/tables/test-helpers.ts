/** Temp-dir databases for tests of tables and of components built on them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TempDir {
  readonly dir: string;
  readonly dbPath: string;
  remove(): void;
}

export function tempDir(prefix = 'tollstream-tables-'): TempDir {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    dbPath: path.join(dir, 'tables.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

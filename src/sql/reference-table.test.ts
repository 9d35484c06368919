import { mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveInside } from '../core/confined-path.ts';
import type { RefTableDef } from './planner/logical/nodes.ts';
import { ChangelogReferenceTable, FileReferenceTable, changelogRows } from './reference-table.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const columns = [
  { name: 'plaza_id', type: 'VARCHAR' },
  { name: 'toll_cents', type: 'BIGINT' },
] as const;

function def(over: Partial<RefTableDef>): RefTableDef {
  return { name: 'plazas', path: null, stream: null, format: 'csv', columns, key: [], changelog: false, refreshMs: null, ...over };
}

async function csvTable(text: string): Promise<{ table: FileReferenceTable; rewrite: (t: string) => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ref-table-'));
  dirs.push(dir);
  const file = join(dir, 'plazas.csv');
  await writeFile(file, text);
  const table = new FileReferenceTable(def({ path: file }), (p) => resolveInside(dir, p, 'reference table plazas'), 0);
  await table.load();
  return {
    table,
    rewrite: async (t) => {
      await writeFile(`${file}.tmp`, t);
      await rename(`${file}.tmp`, file);
    },
  };
}

describe('FileReferenceTable', () => {
  it('swaps in the new rows when the file changes, and leaves them alone when it does not', async () => {
    const { table, rewrite } = await csvTable('plaza_id,toll_cents\nP1,250\n');
    expect(table.rows()).toEqual([['P1', 250]]);
    await table.check();
    expect(table.version).toBe(0);
    await rewrite('plaza_id,toll_cents\nP1,275\nP2,300\n');
    const reloads: number[] = [];
    await table.check({ onReload: (_t, rows) => reloads.push(rows) });
    expect(table.rows()).toEqual([['P1', 275], ['P2', 300]]);
    expect(table.version).toBe(1);
    expect(reloads).toEqual([2]);
  });

  it('keeps the previous rows whole when the new file has a bad value or is gone, and reports each change once', async () => {
    const { table, rewrite } = await csvTable('plaza_id,toll_cents\nP1,250\n');
    const errors: string[] = [];
    const listener = { onReloadError: (_t: string, _p: string, m: string) => errors.push(m) };
    await rewrite('plaza_id,toll_cents\nP1,260\nP2,oops\n');
    await table.check(listener);
    await table.check(listener);
    expect(table.rows()).toEqual([['P1', 250]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/record 2: column toll_cents/);
    expect(errors[0]).toMatch(/previous rows of plazas stay in use/);
    await rm(table.path);
    await table.check(listener);
    expect(errors).toHaveLength(2);
    expect(table.rows()).toEqual([['P1', 250]]);
  });

  it('refuses a file swapped for a link out of its directory at the next check, keeping the previous rows', async () => {
    const { table } = await csvTable('plaza_id,toll_cents\nP1,250\n');
    const dir = dirs[dirs.length - 1]!;
    const outside = await mkdtemp(join(tmpdir(), 'ref-outside-'));
    dirs.push(outside);
    await writeFile(join(outside, 'secret.csv'), 'plaza_id,toll_cents\nROOT,1\n');
    await rm(join(dir, 'plazas.csv'));
    await symlink(join(outside, 'secret.csv'), join(dir, 'plazas.csv'));
    const errors: string[] = [];
    await table.check({ onReloadError: (_t, _p, m) => errors.push(m) });
    expect(table.rows()).toEqual([['P1', 250]]);
    expect(errors).toEqual([expect.stringContaining('outside the directory files may come from')]);
  });

  it('checkFile refuses what load refuses (a link out of the directory, a missing file) and reads no rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ref-table-'));
    const outside = await mkdtemp(join(tmpdir(), 'ref-outside-'));
    dirs.push(dir, outside);
    const at = (file: string) => new FileReferenceTable(def({ path: file }), (p) => resolveInside(dir, p, 'reference table plazas'), 0);
    await writeFile(join(dir, 'plazas.csv'), 'plaza_id,toll_cents\nP1,250\n');
    const inside = at(join(dir, 'plazas.csv'));
    await inside.checkFile();
    expect(inside.rows()).toEqual([]);
    await writeFile(join(outside, 'secret.csv'), 'plaza_id,toll_cents\nROOT,1\n');
    await symlink(join(outside, 'secret.csv'), join(dir, 'link.csv'));
    await expect(at(join(dir, 'link.csv')).checkFile()).rejects.toMatchObject({ code: 'PATH_NOT_ALLOWED' });
    await expect(at(join(dir, 'link.csv')).load()).rejects.toMatchObject({ code: 'PATH_NOT_ALLOWED' });
    await expect(at(join(dir, 'gone.csv')).checkFile()).rejects.toMatchObject({ code: 'SQL_INPUT', context: { table: 'plazas' } });
  });
});

describe('ChangelogReferenceTable', () => {
  it('keeps the latest record per key, removes a key on _deleted, and ignores records it cannot use', () => {
    const table = new ChangelogReferenceTable(def({ stream: 'plazas', key: ['plaza_id'], changelog: true }));
    expect(table.apply({ plaza_id: 'P1', toll_cents: 250 })).toBeNull();
    expect(table.apply({ plaza_id: 'P2', toll_cents: 300 })).toBeNull();
    expect(table.apply({ plaza_id: 'P1', toll_cents: 275 })).toBeNull();
    expect(table.apply({ plaza_id: 'P2', _deleted: true })).toBeNull();
    expect(table.rows()).toEqual([['P1', 275]]);
    expect(table.apply('not json')).toMatch(/not a JSON object/);
    expect(table.apply({ toll_cents: 1 })).toMatch(/key \(plaza_id\)/);
    expect(table.apply({ plaza_id: 'P3', toll_cents: 'many' })).toMatch(/toll_cents/);
    expect(table.rows()).toEqual([['P1', 275]]);
  });
});

describe('changelogRows', () => {
  it('applies a bounded changelog whole, in order', async () => {
    async function* batches() {
      yield [{ plaza_id: 'P1', toll_cents: 1 }, { plaza_id: 'P2', toll_cents: 2 }];
      yield [{ plaza_id: 'P1', toll_cents: 3 }, { plaza_id: 'P2', _deleted: true }, 'garbage'];
    }
    const { rows, rejected } = await changelogRows(def({ stream: 'plazas', key: ['plaza_id'], changelog: true }), batches());
    expect(rows).toEqual([['P1', 3]]);
    expect(rejected).toBe(1);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from './expr/types.ts';
import type { RefTableDef } from './planner/logical/nodes.ts';
import { loadRefTable } from './reference-load.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const columns = [
  { name: 'xway', type: 'BIGINT' },
  { name: 'seg', type: 'BIGINT' },
  { name: 'rate', type: 'DOUBLE' },
  { name: 'label', type: 'VARCHAR' },
  { name: 'open', type: 'BOOLEAN' },
] as const;

async function load(text: string, over: Partial<RefTableDef> = {}): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ref-load-'));
  dirs.push(dir);
  const file = join(dir, over.format === 'json' ? 'segments.ndjson' : 'segments.csv');
  await writeFile(file, text);
  const def: RefTableDef = { name: 'segments', path: file, stream: null, format: 'csv', columns, key: [], changelog: false, refreshMs: null, ...over };
  return (await loadRefTable(def, dir)).rows();
}

function quoted(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

describe('loadRefTable', () => {
  it('reads a CSV file of several chunks into the rows its cells make, quoted cells cut by a chunk included', async () => {
    const want: Row[] = [];
    const lines = ['XWAY,seg,rate,label,open'];
    for (let i = 0; i < 40_000; i++) {
      const label = i % 5 === 0 ? `say "hi", line\nbreak ${i} é` : `seg ${i} 東京`;
      const big = i % 7 === 0 ? 2 ** 40 + i : i;
      want.push([big, i % 100, i % 3 === 0 ? null : i / 4, label, i % 2 === 0]);
      lines.push(`${big},${i % 100},${i % 3 === 0 ? '' : i / 4},${quoted(label)},${i % 2 === 0}`);
    }
    const text = `${lines.join('\r\n')}\r\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    expect(await load(text)).toEqual(want);
  });

  it('keeps the last record per key of a changelog file, in the order keys first came, and drops deleted keys', async () => {
    const records: object[] = [];
    const model = new Map<string, Row>();
    for (let i = 0; i < 30_000; i++) {
      const xway = i % 50;
      const seg = (i * 7) % 90;
      const k = JSON.stringify([xway, seg]);
      if (i % 4 === 3) {
        records.push({ xway, seg, _deleted: true });
        model.delete(k);
      } else {
        const row: Row = [xway, seg, i / 2, `label ${i}`, null];
        records.push({ xway, seg, rate: i / 2, label: `label ${i}` });
        model.set(k, row);
      }
    }
    const text = `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
    const def = { format: 'json' as const, key: ['xway', 'seg'], changelog: true };
    expect(await load(text, def)).toEqual([...model.values()]);
    expect(await load(`[${records.map((r) => JSON.stringify(r)).join(',\n')}]`, def)).toEqual([...model.values()]);
  });

  it('names the record and column of a value that does not fit, and the file that is not JSON', async () => {
    await expect(load('xway,seg,rate,label,open\n1,2,0.5,a,true\n1,x,0.5,b,true\n')).rejects.toMatchObject({
      code: 'SQL_INPUT',
      message: expect.stringMatching(/record 2: column seg/),
    });
    await expect(load('{"xway":1}\n{"xway":\n', { format: 'json' })).rejects.toMatchObject({ code: 'SQL_INPUT', message: expect.stringMatching(/is not valid JSON/) });
    await expect(load('{"xway":1}\n[1]\n', { format: 'json' })).rejects.toMatchObject({ message: expect.stringMatching(/record 2: not an object/) });
  });
});

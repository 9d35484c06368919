import { describe, expect, it } from 'vitest';
import { planCompaction, type CompactionPolicy } from './lake-compaction.ts';
import type { ManifestFile } from './lake-manifest.ts';

const MiB = 1024 * 1024;
const POLICY: CompactionPolicy = { targetBytes: 8 * MiB, minFiles: 4, quietMs: 5 * 60_000 };
const HOUR_END = Date.parse('2026-11-26T11:00:00Z');

function file(name: string, hour = '10', plaza = 'P01'): ManifestFile {
  const dir = `plaza_id=${plaza}/dt=2026-11-26/hour=${hour}`;
  return { path: `${dir}/${name}.parquet`, kind: 'data', rows: 1, partition: { plaza_id: plaza, dt: '2026-11-26', hour } };
}

describe('planCompaction', () => {
  it('waits for minFiles small files while the hour is open, then merges from two once it has been over for quietMs', () => {
    const three = [file('a'), file('b'), file('c')];
    const size = () => MiB;
    expect(planCompaction(three, size, POLICY, HOUR_END - 1)).toEqual([]);
    expect(planCompaction(three, size, POLICY, HOUR_END + POLICY.quietMs - 1)).toEqual([]);
    expect(planCompaction(three, size, POLICY, HOUR_END + POLICY.quietMs)).toEqual([{ dir: 'plaza_id=P01/dt=2026-11-26/hour=10', files: three }]);
    const four = [...three, file('d')];
    expect(planCompaction(four, size, POLICY, HOUR_END - 1).map((g) => g.files.length)).toEqual([4]);
  });

  it('fills groups up to the target, leaves files of half the target or more alone, and never mixes partitions', () => {
    const sizes: Record<string, number> = { a: 3 * MiB, b: 3 * MiB, big: 4 * MiB, c: 3 * MiB, d: 1 * MiB, e: 3 * MiB };
    const files = ['a', 'b', 'big', 'c', 'd', 'e'].map((n) => file(n));
    const other = [file('x', '10', 'P02'), file('y', '10', 'P02')];
    const groups = planCompaction([...files, ...other, file('lone', '12')], (f) => sizes[f.path.split('/').pop()!.replace('.parquet', '')] ?? MiB, POLICY, HOUR_END + POLICY.quietMs * 100);
    expect(groups.map((g) => [g.dir.split('/')[0], g.files.map((f) => f.path.split('/').pop()!.replace('.parquet', ''))])).toEqual([
      // In commit order: a + b, then c would pass 8 MiB, so c starts the next group.
      ['plaza_id=P01', ['a', 'b']],
      ['plaza_id=P01', ['c', 'd', 'e']],
      ['plaza_id=P02', ['x', 'y']],
    ]);
  });
});

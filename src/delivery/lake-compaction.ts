/**
 * Which small files of the lake to merge, and into how many: a plan only (the lake does the merging). Files of
 * one partition are merged in commit order into groups of at most the target size; a partition is compacted
 * once it has gathered `minFiles` small files, or, with two or more, once its time range has ended and no
 * more rows are expected for it (a late toll can still add a file, merged on a later pass).
 */
import type { ManifestFile } from './lake-manifest.ts';

export interface CompactionPolicy {
  /** The size a merged file aims for, in bytes; files of half of it or more are left as they are. */
  readonly targetBytes: number;
  /** A partition still being written is compacted once it holds this many small files. */
  readonly minFiles: number;
  /** A partition whose time range ended this long ago (ms) is compacted from two small files. */
  readonly quietMs: number;
}

export interface CompactionGroup {
  /** The partition's folder, relative to the table folder. */
  readonly dir: string;
  readonly files: readonly ManifestFile[];
}

export function planCompaction(live: readonly ManifestFile[], sizeOf: (file: ManifestFile) => number, policy: CompactionPolicy, now: number): CompactionGroup[] {
  const byPartition = new Map<string, ManifestFile[]>();
  for (const file of live) {
    if (file.kind !== 'data' || sizeOf(file) >= policy.targetBytes / 2) continue;
    const dir = file.path.slice(0, file.path.lastIndexOf('/'));
    const list = byPartition.get(dir);
    if (list) list.push(file);
    else byPartition.set(dir, [file]);
  }
  const groups: CompactionGroup[] = [];
  for (const [dir, small] of byPartition) {
    if (small.length < 2) continue;
    const quiet = partitionEnd(small[0]!.partition) + policy.quietMs <= now;
    if (small.length < policy.minFiles && !quiet) continue;
    let group: ManifestFile[] = [];
    let bytes = 0;
    for (const file of small) {
      const size = sizeOf(file);
      if (group.length > 0 && bytes + size > policy.targetBytes) {
        if (group.length >= 2) groups.push({ dir, files: group });
        group = [];
        bytes = 0;
      }
      group.push(file);
      bytes += size;
    }
    if (group.length >= 2) groups.push({ dir, files: group });
  }
  return groups;
}

/** When a partition's time range ends (ms since the epoch): the end of its hour, or of its day; never without `dt`. */
function partitionEnd(partition: Readonly<Record<string, string>> | undefined): number {
  const dt = partition?.dt;
  if (dt === undefined) return Infinity;
  const hour = partition?.hour;
  const start = Date.parse(`${dt}T${hour ?? '00'}:00:00Z`);
  return Number.isNaN(start) ? Infinity : start + (hour === undefined ? 86_400_000 : 3_600_000);
}

/**
 * The lake's manifests: what each commit added, and from them which files are live. Two kinds of commit:
 *
 *   - a batch (`lake-manifest`): the files one delivered batch wrote, and the positions of every shard after it;
 *   - a snapshot (`lake-snapshot`, written by compaction): every live file after the compaction, the files it
 *     replaced, and the positions unchanged. A snapshot makes every older manifest redundant.
 *
 * The live files are those of the newest snapshot plus those of the batches after it. A commit is the rename of
 * its manifest into `_manifest/<commit>.json`; anything a commit wrote before that rename is not live yet.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import { decodeStateFile, writeStateFile, type StateFormat } from '../core/state-file.ts';

export interface ManifestFile {
  /** Relative to the table folder, with `/` separators. */
  readonly path: string;
  readonly kind: 'data' | 'errors';
  readonly rows: number;
  /** The file's size in bytes (absent in manifests written before compaction existed). */
  readonly bytes?: number;
  /** The shard and sequence range of a delivered file; a compacted file has `ranges` instead. */
  readonly shardId?: string;
  readonly firstSequenceNumber?: string;
  readonly lastSequenceNumber?: string;
  /** Of a compacted file: per shard, the first and last sequence numbers of the rows it holds. */
  readonly ranges?: Readonly<Record<string, readonly [string, string]>>;
  /** Partition values of a data file, e.g. `{ plaza_id: 'P07', dt: '2026-11-26', hour: '10' }`. */
  readonly partition?: Readonly<Record<string, string>>;
  readonly minEventTime?: string;
  readonly maxEventTime?: string;
}

export interface Manifest {
  readonly commit: number;
  readonly stream: string;
  readonly committedAt: string;
  /** Positions of every shard after this commit (not only the ones this batch touched). */
  readonly positions: Readonly<Record<string, string>>;
  /** A batch: the files it wrote. A snapshot: every live file. */
  readonly files: readonly ManifestFile[];
  /** A snapshot written by compaction: `files` is the whole lake, and `replaces` the files it no longer holds. */
  readonly snapshot?: true;
  readonly replaces?: readonly string[];
}

export const MANIFEST_DIR = '_manifest';
/** A checksummed state file (src/core/state-file.ts); manifests written before checksums are plain JSON. */
const BATCH_FORMAT: StateFormat = { kind: 'lake-manifest', version: 1, legacy: (b) => b[0] === 0x7b };
/** Another kind, so a build that predates compaction refuses a snapshot rather than misreading it. */
const SNAPSHOT_FORMAT: StateFormat = { kind: 'lake-snapshot', version: 1 };
const MANIFEST_NAME = /^\d{20}\.json$/;

export function manifestName(commit: number): string {
  return `${String(commit).padStart(20, '0')}.json`;
}

/**
 * Reads every manifest of `root` from the newest snapshot on, oldest first (deleting leftovers of an
 * interrupted manifest write); the manifests before that snapshot are returned in `superseded`, to delete.
 */
export async function readManifests(root: string): Promise<{ manifests: Manifest[]; superseded: string[] }> {
  const dir = path.join(root, MANIFEST_DIR);
  const all: Array<{ file: string; manifest: Manifest }> = [];
  for (const name of (await fs.readdir(dir)).sort()) {
    const full = path.join(dir, name);
    if (!MANIFEST_NAME.test(name)) {
      await fs.rm(full, { force: true });
      continue;
    }
    all.push({ file: full, manifest: await readManifest(full) });
  }
  let base = 0;
  for (const [i, m] of all.entries()) if (m.manifest.snapshot) base = i;
  return { manifests: all.slice(base).map((m) => m.manifest), superseded: all.slice(0, base).map((m) => m.file) };
}

async function readManifest(file: string): Promise<Manifest> {
  const bytes = await fs.readFile(file);
  let read = decodeStateFile(BATCH_FORMAT, bytes);
  if (!read.ok) {
    const snapshot = decodeStateFile(SNAPSHOT_FORMAT, bytes);
    if (snapshot.ok) read = snapshot;
  }
  let manifest: Manifest | undefined;
  try {
    if (read.ok) manifest = JSON.parse(read.body.toString('utf8')) as Manifest;
  } catch {
    manifest = undefined;
  }
  if (!read.ok || typeof manifest !== 'object' || manifest === null || typeof manifest.positions !== 'object' || !Array.isArray(manifest.files)) {
    // Refused before anything is deleted: the files only this manifest names must stay.
    throw new TollstreamError(
      'STATE_CORRUPT',
      `the lake manifest ${file} is damaged (${read.ok ? 'it is not a manifest of a known layout' : read.detail}); restore it from a backup before delivery can resume`,
      { context: { file } },
    );
  }
  if (read.legacy) await writeStateFile(file, BATCH_FORMAT, read.body);
  return manifest;
}

export async function writeManifest(root: string, manifest: Manifest): Promise<void> {
  await writeStateFile(path.join(root, MANIFEST_DIR, manifestName(manifest.commit)), manifest.snapshot ? SNAPSHOT_FORMAT : BATCH_FORMAT, JSON.stringify(manifest, null, 1));
}

/** The live files after `manifests` (the newest snapshot first, then the batches after it), in commit order. */
export function liveFiles(manifests: readonly Manifest[]): ManifestFile[] {
  const live = new Map<string, ManifestFile>();
  for (const m of manifests) {
    if (m.snapshot) live.clear();
    for (const f of m.files) live.set(f.path, f);
  }
  return [...live.values()];
}

/** The manifest entry of a file merged from `sources`: their rows, partition, sequence ranges and times. */
export function mergedEntry(rel: string, sources: readonly ManifestFile[], bytes: number): ManifestFile {
  const ranges: Record<string, [string, string]> = {};
  const widen = (shardId: string, first: string, last: string) => {
    const r = ranges[shardId];
    if (!r) ranges[shardId] = [first, last];
    else {
      if (BigInt(first) < BigInt(r[0])) r[0] = first;
      if (BigInt(last) > BigInt(r[1])) r[1] = last;
    }
  };
  for (const f of sources) {
    if (f.shardId !== undefined && f.firstSequenceNumber !== undefined && f.lastSequenceNumber !== undefined) widen(f.shardId, f.firstSequenceNumber, f.lastSequenceNumber);
    for (const [shardId, [first, last]] of Object.entries(f.ranges ?? {})) widen(shardId, first, last);
  }
  const times = (pick: (f: ManifestFile) => string | undefined) => sources.map(pick).filter((t): t is string => t !== undefined).sort();
  const min = times((f) => f.minEventTime)[0];
  const max = times((f) => f.maxEventTime).at(-1);
  return {
    path: rel,
    kind: 'data',
    rows: sources.reduce((n, f) => n + f.rows, 0),
    bytes,
    ranges,
    ...(sources[0]!.partition ? { partition: sources[0]!.partition } : {}),
    ...(min !== undefined ? { minEventTime: min } : {}),
    ...(max !== undefined ? { maxEventTime: max } : {}),
  };
}

/**
 * Delivery into a local data lake of Parquet files, partitioned Hive-style by fields and event time:
 *
 *   <dir>/<table>/plaza_id=P07/dt=2026-11-26/hour=10/<shardId>-<firstSeq>-<lastSeq>.parquet
 *   <dir>/<table>/_errors/<shardId>-<firstSeq>-<lastSeq>.jsonl      failed records of a batch
 *   <dir>/<table>/plaza_id=P07/dt=2026-11-26/hour=10/c<commit>-<n>.parquet   small files of a partition, merged
 *   <dir>/<table>/_errors/<shardId>-<firstSeq>-<lastSeq>.jsonl      failed records of a batch
 *   <dir>/<table>/_manifest/<commit>.json                           what a commit wrote, and the positions after it
 *   <dir>/<table>/_current.json                                     the live files, for readers outside the server
 *
 * A batch commits when its manifest is renamed into place, after its files are written and synced. On open,
 * files no manifest names (a batch cut short by a crash) are deleted, and delivery resumes from the last
 * manifest's positions; a file name carries its shard and sequence range, so a replayed range writes the same
 * names and replaces rather than adds. Files are written by DuckDB's `COPY ... (FORMAT PARQUET)`.
 *
 * Compaction merges the small files of a partition (lake-compaction.ts decides which) and commits a snapshot
 * manifest that names every live file: before that rename the old files are the lake, after it the new ones,
 * so a reader of the manifests (or of `_current.json`) never sees a row twice or misses one, and a crash
 * leaves one or the other. Replaced files are deleted a grace period later, so a reader still on the older
 * list can finish.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checkSetting, DEFAULT_CONFIG } from '../config/index.ts';
import { fsyncDir, writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { TableSchema } from '../warehouse/index.ts';
import { checkLakeKind, lakeLayout, literal, planFiles, quote, syncFile, writeFiles, type LakeLayout } from './lake-files.ts';
import type { DeliveryDestination, DestinationBatch } from './types.ts';
import { planCompaction, type CompactionPolicy } from './lake-compaction.ts';
import { liveFiles, MANIFEST_DIR, manifestName, mergedEntry, readManifests, writeManifest, type Manifest, type ManifestFile } from './lake-manifest.ts';

export type { Manifest, ManifestFile } from './lake-manifest.ts';

export interface ParquetLakeOptions {
  /** The lake's root folder; the table's files live in `<dir>/<table>/`. */
  readonly dir: string;
  /** The table delivered: its name names the lake's folder, its columns the files'. */
  readonly schema: TableSchema;
  /** Fields that partition the files, outermost first. @default ['plaza_id'] */
  readonly partitionBy?: readonly string[];
  /** The timestamp column of the time partitions (`dt=YYYY-MM-DD/hour=HH`, UTC). @default 'event_time' */
  readonly timeField?: string;
  /** `day` partitions by `dt` only; `hour` adds `hour=HH`. @default 'hour' */
  readonly timeGranularity?: 'day' | 'hour';
  /** The size compaction merges small files up to, in MiB: the `lake.targetFileMiB` setting, with its default and range. */
  readonly targetFileMiB?: number;
  /** Run compaction this often, in seconds; 0 runs it only when `compact()` is called. @default 60 */
  readonly compactionIntervalSeconds?: number;
  /** A partition still being written is compacted once it holds this many small files. @default 8 */
  readonly compactionMinFiles?: number;
  /** A partition's time range must have ended this long ago (seconds) before its last few small files merge. @default 300 */
  readonly compactionQuietSeconds?: number;
  /** Files replaced by a compaction are deleted this long after it (seconds), so readers of the older list finish. @default 300 */
  readonly replacedGraceSeconds?: number;
  readonly logger?: Logger;
  /** The clock, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

export interface ParquetLake extends DeliveryDestination {
  /** The manifests from the newest snapshot on, oldest first: together they name every live file. */
  manifests(): Promise<Manifest[]>;
  /** The live files at the last commit, as one consistent list (what a reader should read). */
  snapshot(): Promise<{ commit: number; files: ManifestFile[] }>;
  /** Merges small files now (after any batch being written); resolves with what it merged. */
  compact(): Promise<CompactionResult>;
  close(): Promise<void>;
}

export interface CompactionResult {
  /** Files merged away, and files written in their place. */
  readonly filesReplaced: number;
  readonly filesWritten: number;
  /** Files of earlier compactions deleted now that their grace period is over. */
  readonly filesDeleted: number;
}

/** The live files at the last commit, rewritten after each commit (plain JSON, for readers outside the server). */
const CURRENT_FILE = '_current.json';
const MiB = 1024 * 1024;

export async function openParquetLake(options: ParquetLakeOptions): Promise<ParquetLake> {
  const layout = lakeLayout(options);
  const root = layout.root;
  await checkLakeKind(layout, 'lone');
  await fs.mkdir(path.join(root, MANIFEST_DIR), { recursive: true });
  const targetFileMiB = options.targetFileMiB ?? DEFAULT_CONFIG.lake.targetFileMiB;
  checkSetting('lake.targetFileMiB', targetFileMiB, 'the Parquet lake options');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const lake = new Lake(layout, instance, conn, {
    policy: {
      targetBytes: targetFileMiB * MiB,
      minFiles: options.compactionMinFiles ?? 8,
      quietMs: (options.compactionQuietSeconds ?? 300) * 1000,
    },
    graceMs: (options.replacedGraceSeconds ?? 300) * 1000,
    logger: (options.logger ?? silentLogger).child({ component: 'lake', dir: root }),
    now: options.now ?? Date.now,
  });
  try {
    await lake.recover();
  } catch (err) {
    await lake.close();
    throw err;
  }
  const interval = options.compactionIntervalSeconds ?? 60;
  if (interval > 0) lake.compactEvery(interval * 1000);
  return lake;
}

interface LakeSettings {
  readonly policy: CompactionPolicy;
  readonly graceMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

class Lake implements ParquetLake {
  readonly description: string;
  private committed: Manifest[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** Files replaced by a compaction, waiting for their grace period to end. */
  private replaced: Array<{ path: string; at: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  readonly schema: TableSchema;
  private readonly root: string;

  constructor(
    private readonly layout: LakeLayout,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly settings: LakeSettings,
  ) {
    this.root = layout.root;
    this.schema = layout.schema;
    this.description = `parquet:${layout.root}`;
  }

  /**
   * Loads the manifests from the newest snapshot on and deletes every file none of them names: the leftovers
   * of an interrupted batch or compaction, files a compaction replaced, manifests a snapshot made redundant.
   */
  async recover(): Promise<void> {
    const { manifests, superseded } = await readManifests(this.root);
    this.committed = manifests;
    const live = new Set(liveFiles(this.committed).map((f) => f.path));
    for (const file of await listFiles(this.root)) {
      if (file.startsWith(`${MANIFEST_DIR}/`) || file === CURRENT_FILE) continue;
      if (!live.has(file)) await fs.rm(path.join(this.root, file), { force: true });
    }
    // Only once the files they alone named are gone: a crash in between finds the snapshot again.
    for (const file of superseded) await fs.rm(file, { force: true });
    await this.writeCurrent();
  }

  async positions(stream: string): Promise<Record<string, string>> {
    const last = this.committed[this.committed.length - 1];
    if (!last) return {};
    if (last.stream !== stream) {
      throw new TollstreamError('DELIVERY_POSITION_CONFLICT', `the lake at ${this.root} holds stream '${last.stream}', not '${stream}'`, { context: { stream } });
    }
    return { ...last.positions };
  }

  async manifests(): Promise<Manifest[]> {
    return [...this.committed];
  }

  async snapshot(): Promise<{ commit: number; files: ManifestFile[] }> {
    return { commit: this.committed.at(-1)?.commit ?? 0, files: liveFiles(this.committed) };
  }

  compact(): Promise<CompactionResult> {
    const run = this.queue.then(() => this.compactNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  compactEvery(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.compact().catch((err: unknown) => this.settings.logger.error('compacting the lake failed; the files stay as they were and the next pass tries again', { err }));
    }, intervalMs);
    this.timer.unref();
  }

  write(batch: DestinationBatch): Promise<void> {
    const run = this.queue.then(() => this.writeBatch(batch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.queue;
    this.conn.closeSync();
    this.instance.closeSync();
  }

  private async writeBatch(batch: DestinationBatch): Promise<void> {
    const previous = this.committed[this.committed.length - 1];
    const positions: Record<string, string> = { ...(previous?.positions ?? {}) };
    for (const [shardId, seq] of Object.entries(batch.positions)) {
      const before = positions[shardId];
      if (before !== undefined && BigInt(seq) <= BigInt(before)) {
        throw new TollstreamError('DELIVERY_POSITION_CONFLICT', `batch ends at ${seq} of ${shardId} but the lake already holds it up to ${before}`, { context: { shardId, seq, before } });
      }
      positions[shardId] = seq;
    }
    const files = await writeFiles(this.conn, this.layout, planFiles(this.layout, batch));
    const manifest: Manifest = { commit: (previous?.commit ?? 0) + 1, stream: batch.stream, committedAt: new Date(this.settings.now()).toISOString(), positions, files };
    await writeManifest(this.root, manifest);
    this.committed.push(manifest);
    await this.writeCurrent();
  }

  /**
   * One compaction pass: deletes the files of earlier passes whose grace period is over, merges the planned
   * groups into new files (synced), then commits them with one snapshot manifest and drops the older manifests.
   */
  private async compactNow(): Promise<CompactionResult> {
    if (this.closed) return { filesReplaced: 0, filesWritten: 0, filesDeleted: 0 };
    const now = this.settings.now();
    const expired = this.replaced.filter((r) => r.at + this.settings.graceMs <= now);
    for (const r of expired) await fs.rm(path.join(this.root, r.path), { force: true });
    this.replaced = this.replaced.filter((r) => r.at + this.settings.graceMs > now);

    const previous = this.committed.at(-1);
    const live = liveFiles(this.committed);
    const sizes = new Map<string, number>();
    for (const f of live) if (f.kind === 'data') sizes.set(f.path, f.bytes ?? (await fs.stat(path.join(this.root, f.path))).size);
    const groups = planCompaction(live, (f) => sizes.get(f.path) ?? 0, this.settings.policy, now);
    if (!previous || groups.length === 0) return { filesReplaced: 0, filesWritten: 0, filesDeleted: expired.length };

    const commit = previous.commit + 1;
    const written: ManifestFile[] = [];
    const replaces = new Set<string>();
    const select = this.schema.columns.map((c) => quote(c.name)).join(', ');
    try {
      for (const [i, group] of groups.entries()) {
        const rel = `${group.dir}/c${String(commit).padStart(20, '0')}-${i}.parquet`;
        const target = path.join(this.root, rel);
        const sources = group.files.map((f) => literal(path.join(this.root, f.path))).join(', ');
        await this.conn.run(`COPY (SELECT ${select} FROM read_parquet([${sources}]) ORDER BY shard_id, sequence_number) TO ${literal(`${target}.tmp`)} (FORMAT PARQUET)`);
        await syncFile(`${target}.tmp`);
        await fs.rename(`${target}.tmp`, target);
        written.push(mergedEntry(rel, group.files, (await fs.stat(target)).size));
        for (const f of group.files) replaces.add(f.path);
      }
      for (const dir of new Set(groups.map((g) => g.dir))) await fsyncDir(path.join(this.root, dir));
    } catch (err) {
      throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `compacting Parquet files under ${this.root} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const snapshot: Manifest = {
      commit,
      stream: previous.stream,
      committedAt: new Date(now).toISOString(),
      positions: previous.positions,
      files: [...live.filter((f) => !replaces.has(f.path)), ...written],
      snapshot: true,
      replaces: [...replaces],
    };
    await writeManifest(this.root, snapshot);
    const superseded = this.committed.map((m) => m.commit);
    this.committed = [snapshot];
    for (const old of superseded) await fs.rm(path.join(this.root, MANIFEST_DIR, manifestName(old)), { force: true });
    for (const p of replaces) this.replaced.push({ path: p, at: now });
    await this.writeCurrent();
    this.settings.logger.info('compacted lake files', { commit, filesReplaced: replaces.size, filesWritten: written.length });
    return { filesReplaced: replaces.size, filesWritten: written.length, filesDeleted: expired.length };
  }

  /** `_current.json`: the live data files of the last commit, written atomically after it. */
  private async writeCurrent(): Promise<void> {
    const files = liveFiles(this.committed).filter((f) => f.kind === 'data').map((f) => f.path);
    await writeFileAtomic(path.join(this.root, CURRENT_FILE), JSON.stringify({ commit: this.committed.at(-1)?.commit ?? 0, files }, null, 1));
  }
}

async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(root, rel)));
    else out.push(rel);
  }
  return out;
}

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
import { DuckDBInstance, timestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { fsyncDir, writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { DUCKDB_COLUMN_TYPES, type ColumnSchema, type Row, type TableSchema } from '../warehouse/index.ts';
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
  /** The size compaction merges small files up to, in MiB. @default 128 */
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

const ERRORS_DIR = '_errors';
/** The live files at the last commit, rewritten after each commit (plain JSON, for readers outside the server). */
const CURRENT_FILE = '_current.json';
const MiB = 1024 * 1024;

export async function openParquetLake(options: ParquetLakeOptions): Promise<ParquetLake> {
  const schema = options.schema;
  const partitionBy = options.partitionBy ?? ['plaza_id'];
  const timeField = options.timeField ?? 'event_time';
  for (const field of [...partitionBy, timeField]) {
    if (!schema.columns.some((c) => c.name === field)) {
      throw new TollstreamError('INVALID_ARGUMENT', `cannot partition ${schema.name} by '${field}': no such column`, { context: { field } });
    }
  }
  const root = path.join(options.dir, schema.name);
  await fs.mkdir(path.join(root, MANIFEST_DIR), { recursive: true });
  const targetFileMiB = options.targetFileMiB ?? 128;
  if (!(targetFileMiB >= 1 && targetFileMiB <= 1024)) {
    throw new TollstreamError('INVALID_ARGUMENT', `targetFileMiB must be from 1 to 1024 (got ${targetFileMiB})`, { context: { targetFileMiB } });
  }
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const lake = new Lake(root, schema, partitionBy, timeField, options.timeGranularity ?? 'hour', instance, conn, {
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

  constructor(
    private readonly root: string,
    readonly schema: TableSchema,
    private readonly partitionBy: readonly string[],
    private readonly timeField: string,
    private readonly granularity: 'day' | 'hour',
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly settings: LakeSettings,
  ) {
    this.description = `parquet:${root}`;
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
    const ranges = shardRanges(batch);
    const files: ManifestFile[] = [];
    try {
      if (batch.rows.length > 0) files.push(...(await this.writeDataFiles(batch.rows, ranges)));
      if (batch.errors.length > 0) files.push(...(await this.writeErrorFiles(batch, ranges)));
    } catch (err) {
      throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `writing Parquet files under ${this.root} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
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

  private async writeDataFiles(rows: readonly Row[], ranges: ReadonlyMap<string, [string, string]>): Promise<ManifestFile[]> {
    const groups = new Map<string, { partition: Record<string, string>; shardId: string; rows: Row[] }>();
    for (const row of rows) {
      const partition = this.partitionOf(row);
      const shardId = String(row.shard_id);
      const key = `${shardId}\n${JSON.stringify(partition)}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { partition, shardId, rows: [] }));
      group.rows.push(row);
    }
    const columns = this.schema.columns;
    await this.conn.run(`CREATE OR REPLACE TEMP TABLE batch (${columns.map((c) => `${quote(c.name)} ${DUCKDB_COLUMN_TYPES[c.type]}`).join(', ')}, _file INTEGER)`);
    const appender = await this.conn.createAppender('batch', 'main', 'temp');
    const files: ManifestFile[] = [];
    let index = 0;
    for (const group of groups.values()) {
      for (const row of group.rows) {
        for (const column of columns) appendValue(appender, column, row[column.name] ?? null);
        appender.appendInteger(index);
        appender.endRow();
      }
      const [first, last] = ranges.get(group.shardId)!;
      const dir = Object.entries(group.partition).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('/');
      const times = group.rows.map((r) => Number(r[this.timeField]));
      files.push({
        path: `${dir}/${safeName(group.shardId)}-${first}-${last}.parquet`,
        kind: 'data',
        rows: group.rows.length,
        shardId: group.shardId,
        firstSequenceNumber: first,
        lastSequenceNumber: last,
        partition: group.partition,
        minEventTime: new Date(Math.min(...times)).toISOString(),
        maxEventTime: new Date(Math.max(...times)).toISOString(),
      });
      index++;
    }
    appender.flushSync();
    appender.closeSync();
    const select = columns.map((c) => quote(c.name)).join(', ');
    for (const [i, file] of files.entries()) {
      const target = path.join(this.root, file.path);
      const tmp = `${target}.tmp`;
      await fs.mkdir(path.dirname(target), { recursive: true });
      // The path is ours (encoded partition values, shard ids and digits); quotes are still escaped.
      await this.conn.run(`COPY (SELECT ${select} FROM batch WHERE _file = ${i} ORDER BY shard_id, sequence_number) TO ${literal(tmp)} (FORMAT PARQUET)`);
      await syncFile(tmp);
      await fs.rename(tmp, target);
      files[i] = { ...file, bytes: (await fs.stat(target)).size };
    }
    await this.conn.run('DROP TABLE batch');
    return files;
  }

  private async writeErrorFiles(batch: DestinationBatch, ranges: ReadonlyMap<string, [string, string]>): Promise<ManifestFile[]> {
    const byShard = new Map<string, string[]>();
    for (const e of batch.errors) {
      const line = JSON.stringify({
        stream: batch.stream,
        shard_id: e.shardId,
        sequence_number: e.sequenceNumber,
        error_type: e.errorType,
        error_code: e.errorCode,
        error_message: e.errorMessage,
        raw_data_base64: Buffer.from(e.rawData).toString('base64'),
        arrival_time: new Date(e.arrivalTime).toISOString(),
      });
      byShard.set(e.shardId, [...(byShard.get(e.shardId) ?? []), line]);
    }
    const files: ManifestFile[] = [];
    await fs.mkdir(path.join(this.root, ERRORS_DIR), { recursive: true });
    for (const [shardId, lines] of byShard) {
      const [first, last] = ranges.get(shardId)!;
      const rel = `${ERRORS_DIR}/${safeName(shardId)}-${first}-${last}.jsonl`;
      await writeFileAtomic(path.join(this.root, rel), lines.join('\n') + '\n');
      files.push({ path: rel, kind: 'errors', rows: lines.length, shardId, firstSequenceNumber: first, lastSequenceNumber: last });
    }
    return files;
  }

  private partitionOf(row: Row): Record<string, string> {
    const partition: Record<string, string> = {};
    for (const field of this.partitionBy) partition[field] = row[field] === null || row[field] === undefined ? '__null__' : String(row[field]);
    const iso = new Date(Number(row[this.timeField])).toISOString();
    partition.dt = iso.slice(0, 10);
    if (this.granularity === 'hour') partition.hour = iso.slice(11, 13);
    return partition;
  }
}

/** Per shard, the first and last sequence numbers of the batch's records (rows and errors alike). */
function shardRanges(batch: DestinationBatch): Map<string, [string, string]> {
  const ranges = new Map<string, [string, string]>();
  const add = (shardId: string, seq: string) => {
    const r = ranges.get(shardId);
    if (!r) ranges.set(shardId, [seq, seq]);
    else {
      if (BigInt(seq) < BigInt(r[0])) r[0] = seq;
      if (BigInt(seq) > BigInt(r[1])) r[1] = seq;
    }
  };
  for (const row of batch.rows) add(String(row.shard_id), String(row.sequence_number));
  for (const e of batch.errors) add(e.shardId, e.sequenceNumber);
  return ranges;
}

function appendValue(appender: DuckDBAppender, column: ColumnSchema, value: Row[string]): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (column.type) {
    case 'varchar':
      return appender.appendVarchar(String(value));
    case 'smallint':
      return appender.appendSmallInt(Number(value));
    case 'integer':
      return appender.appendInteger(Number(value));
    case 'bigint':
      return appender.appendBigInt(BigInt(value));
    case 'timestamp':
      return appender.appendTimestamp(timestampValue(BigInt(Math.round(Number(value))) * 1000n));
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

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

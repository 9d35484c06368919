/**
 * Delivery into a local data lake of Parquet files, partitioned Hive-style by fields and event time:
 *
 *   <dir>/<table>/plaza_id=P07/dt=2026-11-26/hour=10/<shardId>-<firstSeq>-<lastSeq>.parquet
 *   <dir>/<table>/_errors/<shardId>-<firstSeq>-<lastSeq>.jsonl      failed records of a batch
 *   <dir>/<table>/_manifest/<commit>.json                           what a batch wrote, and the positions after it
 *
 * A batch commits when its manifest is renamed into place, after its files are written and synced. On open,
 * files no manifest names (a batch cut short by a crash) are deleted, and delivery resumes from the last
 * manifest's positions; a file name carries its shard and sequence range, so a replayed range writes the same
 * names and replaces rather than adds. Files are written by DuckDB's `COPY ... (FORMAT PARQUET)`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, timestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { decodeStateFile, writeStateFile } from '../core/state-file.ts';
import type { StateFormat } from '../core/state-file.ts';
import { DUCKDB_COLUMN_TYPES, TOLL_TRANSACTIONS, type ColumnSchema, type Row, type TableSchema } from '../warehouse/index.ts';
import type { DeliveryDestination, DestinationBatch } from './types.ts';

export interface ParquetLakeOptions {
  /** The lake's root folder; the table's files live in `<dir>/<table>/`. */
  readonly dir: string;
  /** @default TOLL_TRANSACTIONS */
  readonly schema?: TableSchema;
  /** Fields that partition the files, outermost first. @default ['plaza_id'] */
  readonly partitionBy?: readonly string[];
  /** The timestamp column of the time partitions (`dt=YYYY-MM-DD/hour=HH`, UTC). @default 'event_time' */
  readonly timeField?: string;
  /** `day` partitions by `dt` only; `hour` adds `hour=HH`. @default 'hour' */
  readonly timeGranularity?: 'day' | 'hour';
}

export interface ManifestFile {
  /** Relative to the table folder, with `/` separators. */
  readonly path: string;
  readonly kind: 'data' | 'errors';
  readonly rows: number;
  readonly shardId: string;
  readonly firstSequenceNumber: string;
  readonly lastSequenceNumber: string;
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
  readonly files: readonly ManifestFile[];
}

export interface ParquetLake extends DeliveryDestination {
  /** The committed manifests, oldest first. */
  manifests(): Promise<Manifest[]>;
  close(): Promise<void>;
}

const MANIFEST_DIR = '_manifest';
/** A checksummed state file (src/core/state-file.ts); manifests written before checksums are plain JSON. */
const MANIFEST_FORMAT: StateFormat = { kind: 'lake-manifest', version: 1, legacy: (b) => b[0] === 0x7b };
const ERRORS_DIR = '_errors';

export async function openParquetLake(options: ParquetLakeOptions): Promise<ParquetLake> {
  const schema = options.schema ?? TOLL_TRANSACTIONS;
  const partitionBy = options.partitionBy ?? ['plaza_id'];
  const timeField = options.timeField ?? 'event_time';
  for (const field of [...partitionBy, timeField]) {
    if (!schema.columns.some((c) => c.name === field)) {
      throw new TollstreamError('INVALID_ARGUMENT', `cannot partition ${schema.name} by '${field}': no such column`, { context: { field } });
    }
  }
  const root = path.join(options.dir, schema.name);
  await fs.mkdir(path.join(root, MANIFEST_DIR), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const lake = new Lake(root, schema, partitionBy, timeField, options.timeGranularity ?? 'hour', instance, conn);
  await lake.recover();
  return lake;
}

class Lake implements ParquetLake {
  readonly description: string;
  private committed: Manifest[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    readonly schema: TableSchema,
    private readonly partitionBy: readonly string[],
    private readonly timeField: string,
    private readonly granularity: 'day' | 'hour',
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {
    this.description = `parquet:${root}`;
  }

  /** Loads the manifests and deletes every file none of them names: the leftovers of an interrupted batch. */
  async recover(): Promise<void> {
    const names = (await fs.readdir(path.join(this.root, MANIFEST_DIR))).sort();
    for (const name of names) {
      const full = path.join(this.root, MANIFEST_DIR, name);
      if (!/^\d{20}\.json$/.test(name)) {
        await fs.rm(full, { force: true });
        continue;
      }
      const read = decodeStateFile(MANIFEST_FORMAT, await fs.readFile(full));
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
          `the lake manifest ${full} is damaged (${read.ok ? 'it is not a manifest of a known layout' : read.detail}); restore it from a backup before delivery can resume`,
          { context: { file: full } },
        );
      }
      if (read.legacy) await writeStateFile(full, MANIFEST_FORMAT, read.body);
      this.committed.push(manifest);
    }
    const live = new Set(this.committed.flatMap((m) => m.files.map((f) => f.path)));
    for (const file of await listFiles(this.root)) {
      if (file.startsWith(`${MANIFEST_DIR}/`)) continue;
      if (!live.has(file)) await fs.rm(path.join(this.root, file), { force: true });
    }
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

  write(batch: DestinationBatch): Promise<void> {
    const run = this.queue.then(() => this.writeBatch(batch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
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
    const manifest: Manifest = { commit: (previous?.commit ?? 0) + 1, stream: batch.stream, committedAt: new Date().toISOString(), positions, files };
    const name = `${String(manifest.commit).padStart(20, '0')}.json`;
    await writeStateFile(path.join(this.root, MANIFEST_DIR, name), MANIFEST_FORMAT, JSON.stringify(manifest, null, 1));
    this.committed.push(manifest);
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

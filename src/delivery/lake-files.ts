/**
 * Writing one delivered batch into a lake's folder: a Parquet file per (shard, partition) and a JSON-lines file of
 * failed records per shard, each named by its shard and sequence range, written to a temporary name, synced and
 * renamed into place. What makes the files live is the caller's commit (a manifest on one node, a row in
 * PostgreSQL on a cluster), not this: a file no commit names is a leftover.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { timestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { fsyncDir, writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { DUCKDB_COLUMN_TYPES, type ColumnSchema, type Row, type TableSchema } from '../warehouse/index.ts';
import type { ManifestFile } from './lake-manifest.ts';
import type { DestinationBatch } from './types.ts';

const ERRORS_DIR = '_errors';
/**
 * In the table's folder of a lake the nodes of a cluster share: a lone node's lake must never open that folder (it
 * deletes every file its manifests do not name), nor a shared lake one a lone node wrote (its files are in no
 * commit of PostgreSQL, and would be written again beside).
 */
export const SHARED_LAKE_MARK = '_shared_lake';
/** The folder of a lone node's lake manifests (lake-manifest.ts). */
const LONE_LAKE_MARK = '_manifest';

/** Refuses to open `layout` as a `kind` lake when the other kind wrote it. */
export async function checkLakeKind(layout: LakeLayout, kind: 'lone' | 'shared'): Promise<void> {
  const other = kind === 'lone' ? SHARED_LAKE_MARK : LONE_LAKE_MARK;
  const found = await fs.readdir(path.join(layout.root, other)).then((entries) => kind === 'lone' || entries.length > 0, () => false);
  if (!found) return;
  const message = kind === 'lone'
    ? `${layout.root} holds the lake the nodes of a cluster share (its commits in PostgreSQL); a node without the cluster section cannot open it: give this node another lake.dir`
    : `${layout.root} holds the lake of a single node (its commits in ${LONE_LAKE_MARK}/); a cluster's lake needs a folder of its own: give the nodes another lake.dir`;
  throw new TollstreamError('CONFIG_INVALID', message, { context: { key: 'lake.dir', dir: layout.root } });
}

export interface LakeLayout {
  /** The table's folder: `<lake dir>/<table>`. */
  readonly root: string;
  readonly schema: TableSchema;
  readonly partitionBy: readonly string[];
  readonly timeField: string;
  readonly granularity: 'day' | 'hour';
}

/** How a lake lays out its table's files, from its options (the defaults are `ParquetLakeOptions`'). */
export function lakeLayout(options: { readonly dir: string; readonly schema: TableSchema; readonly partitionBy?: readonly string[]; readonly timeField?: string; readonly timeGranularity?: 'day' | 'hour' }): LakeLayout {
  const schema = options.schema;
  const partitionBy = options.partitionBy ?? ['plaza_id'];
  const timeField = options.timeField ?? 'event_time';
  for (const field of [...partitionBy, timeField]) {
    if (!schema.columns.some((c) => c.name === field)) {
      throw new TollstreamError('INVALID_ARGUMENT', `cannot partition ${schema.name} by '${field}': no such column`, { context: { field } });
    }
  }
  return { root: path.join(options.dir, schema.name), schema, partitionBy, timeField, granularity: options.timeGranularity ?? 'hour' };
}

/** A batch's files, named before any is written (a cluster's lake records the names before it writes them). */
export interface PlannedFiles {
  /** Without `bytes`, which `writeFiles` adds. */
  readonly files: readonly ManifestFile[];
  readonly rows: ReadonlyMap<string, readonly Row[]>;
  readonly lines: ReadonlyMap<string, readonly string[]>;
}

/**
 * Names the files of `batch`: `<partition dirs>/<shardId>-<firstSeq>-<lastSeq><suffix>.parquet` and
 * `_errors/<shardId>-<firstSeq>-<lastSeq><suffix>.jsonl`. One node's lake gives no suffix (a replayed range
 * replaces its file); a cluster's gives each attempt its own, so a writer never replaces another's file.
 */
export function planFiles(layout: LakeLayout, batch: DestinationBatch, suffix = ''): PlannedFiles {
  const ranges = shardRanges(batch);
  const files: ManifestFile[] = [];
  const rows = new Map<string, Row[]>();
  const groups = new Map<string, { partition: Record<string, string>; shardId: string; rows: Row[] }>();
  for (const row of batch.rows) {
    const partition = partitionOf(layout, row);
    const shardId = String(row.shard_id);
    const key = `${shardId}\n${JSON.stringify(partition)}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { partition, shardId, rows: [] }));
    group.rows.push(row);
  }
  for (const group of groups.values()) {
    const [first, last] = ranges.get(group.shardId)!;
    const dir = Object.entries(group.partition).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('/');
    const times = group.rows.map((r) => Number(r[layout.timeField]));
    const file: ManifestFile = {
      path: `${dir}/${safeName(group.shardId)}-${first}-${last}${suffix}.parquet`,
      kind: 'data',
      rows: group.rows.length,
      shardId: group.shardId,
      firstSequenceNumber: first,
      lastSequenceNumber: last,
      partition: group.partition,
      minEventTime: new Date(Math.min(...times)).toISOString(),
      maxEventTime: new Date(Math.max(...times)).toISOString(),
    };
    files.push(file);
    rows.set(file.path, group.rows);
  }
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
  const lines = new Map<string, string[]>();
  for (const [shardId, shardLines] of byShard) {
    const [first, last] = ranges.get(shardId)!;
    const rel = `${ERRORS_DIR}/${safeName(shardId)}-${first}-${last}${suffix}.jsonl`;
    files.push({ path: rel, kind: 'errors', rows: shardLines.length, shardId, firstSequenceNumber: first, lastSequenceNumber: last });
    lines.set(rel, shardLines);
  }
  return { files, rows, lines };
}

/** Writes the planned files (each synced, its folder too); resolves with the entries and their sizes. */
export async function writeFiles(conn: DuckDBConnection, layout: LakeLayout, plan: PlannedFiles): Promise<ManifestFile[]> {
  try {
    const columns = layout.schema.columns;
    const data = plan.files.filter((f) => f.kind === 'data');
    const written: ManifestFile[] = [];
    if (data.length > 0) {
      await conn.run(`CREATE OR REPLACE TEMP TABLE batch (${columns.map((c) => `${quote(c.name)} ${DUCKDB_COLUMN_TYPES[c.type]}`).join(', ')}, _file INTEGER)`);
      const appender = await conn.createAppender('batch', 'main', 'temp');
      for (const [index, file] of data.entries()) {
        for (const row of plan.rows.get(file.path) ?? []) {
          for (const column of columns) appendValue(appender, column, row[column.name] ?? null);
          appender.appendInteger(index);
          appender.endRow();
        }
      }
      appender.flushSync();
      appender.closeSync();
      const select = columns.map((c) => quote(c.name)).join(', ');
      for (const [i, file] of data.entries()) {
        const target = path.join(layout.root, file.path);
        const tmp = `${target}.tmp`;
        await fs.mkdir(path.dirname(target), { recursive: true });
        // The path is ours (encoded partition values, shard ids and digits); quotes are still escaped.
        await conn.run(`COPY (SELECT ${select} FROM batch WHERE _file = ${i} ORDER BY shard_id, sequence_number) TO ${literal(tmp)} (FORMAT PARQUET)`);
        await syncFile(tmp);
        await fs.rename(tmp, target);
        written.push({ ...file, bytes: (await fs.stat(target)).size });
      }
      await conn.run('DROP TABLE batch');
      for (const dir of new Set(data.map((f) => path.dirname(path.join(layout.root, f.path))))) await fsyncDir(dir);
    }
    const errors = plan.files.filter((f) => f.kind === 'errors');
    if (errors.length > 0) await fs.mkdir(path.join(layout.root, ERRORS_DIR), { recursive: true });
    for (const file of errors) {
      await writeFileAtomic(path.join(layout.root, file.path), (plan.lines.get(file.path) ?? []).join('\n') + '\n');
      written.push(file);
    }
    return written;
  } catch (err) {
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `writing Parquet files under ${layout.root} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function partitionOf(layout: LakeLayout, row: Row): Record<string, string> {
  const partition: Record<string, string> = {};
  for (const field of layout.partitionBy) partition[field] = row[field] === null || row[field] === undefined ? '__null__' : String(row[field]);
  const iso = new Date(Number(row[layout.timeField])).toISOString();
  partition.dt = iso.slice(0, 10);
  if (layout.granularity === 'hour') partition.hour = iso.slice(11, 13);
  return partition;
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

export async function syncFile(file: string): Promise<void> {
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

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

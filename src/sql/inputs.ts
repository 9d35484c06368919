/**
 * Inputs of a file run: NDJSON files read line by line, async iterables peeked to infer the columns of
 * streams no CREATE statement declares, and the records of reference tables as rows of their columns.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { TollstreamError } from '../core/errors.ts';
import type { SqlTypeName } from './ast/index.ts';
import { castValue } from './expr/compile.ts';
import { parseTimestampText } from './expr/time.ts';
import type { Row, Value } from './expr/types.ts';
import { RowError } from './expr/types.ts';
import type { InferredInput } from './planner/logical/catalog.ts';
import type { RefTableDef } from './planner/logical/nodes.ts';
import { decimalNumberKeys } from './operators/json-fields.ts';

/**
 * Records of an NDJSON file, yielded in arrays (one per chunk read) so the engine pays one await per
 * chunk, not per record. A line that is not JSON is yielded as its text (it goes to the error stream).
 */
export async function* readNdjson(path: string): AsyncGenerator<unknown[]> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  let rest = '';
  // The first records may be the sample columns are inferred from: they keep which numbers were decimals.
  let sampled = 0;
  const parse = (line: string): unknown => {
    try {
      return sampled++ < INFER_SAMPLE_SIZE ? parseSampleRecord(line) : (JSON.parse(line) as unknown);
    } catch {
      return line;
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      const batch: unknown[] = [];
      for (const line of lines) if (line.trim() !== '') batch.push(parse(line));
      if (batch.length) yield batch;
    }
    if (rest.trim() !== '') yield [parse(rest)];
  } catch (err) {
    throw new TollstreamError('SQL_INPUT', `cannot read input file ${path}: ${(err as Error).message}`, { context: { path }, cause: err });
  } finally {
    stream.destroy();
  }
}

/** Flattens inputs that yield arrays of records (batches) and inputs that yield records one by one. */
export async function* records(source: AsyncIterable<unknown>): AsyncGenerator<unknown[]> {
  let batch: unknown[] = [];
  for await (const item of source) {
    if (Array.isArray(item)) {
      if (batch.length) {
        yield batch;
        batch = [];
      }
      yield item;
    } else {
      batch.push(item);
      if (batch.length >= 256) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

/** Reads batches until at least `count` records are in hand, and gives them back in front of the rest. */
export async function peek(source: AsyncIterable<unknown[]>, count: number): Promise<{ head: unknown[]; all: AsyncIterable<unknown[]> }> {
  const it = source[Symbol.asyncIterator]();
  const batches: unknown[][] = [];
  let seen = 0;
  let finished = false;
  while (seen < count) {
    const r = await it.next();
    if (r.done) {
      finished = true;
      break;
    }
    batches.push(r.value);
    seen += r.value.length;
  }
  async function* all(): AsyncGenerator<unknown[]> {
    try {
      yield* batches;
      if (finished) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // Closing early (EXPLAIN, a failure) closes the input too, e.g. its file.
      if (!finished) await it.return?.();
    }
  }
  return { head: batches.flat().slice(0, count), all: all() };
}

const HIDDEN_FIELDS = new Set(['_arrival_time', '_approximate_arrival_time', '_partition', '_shard']);

/** How many records of an undeclared input its columns are inferred from. */
export const INFER_SAMPLE_SIZE = 100;

/** Sample records whose text wrote some numbers as decimals (`1.0`, which JSON.parse gives as 1), with their keys. */
const decimalKeysOf = new WeakMap<object, ReadonlySet<string>>();

/**
 * Parses a record's JSON text (throws on bad JSON) and remembers which of its numbers were written as
 * decimals, so `inferColumns` makes `{"rate": 1.0}` a DOUBLE column and not an integer one.
 */
export function parseSampleRecord(text: string | Uint8Array): unknown {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const record = JSON.parse(typeof text === 'string' ? text : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  if (record !== null && typeof record === 'object') {
    const keys = decimalNumberKeys(bytes);
    if (keys !== null && keys.size > 0) decimalKeysOf.set(record, keys);
  }
  return record;
}

/**
 * Columns from sample records: integers BIGINT, other numbers DOUBLE, ISO timestamps TIMESTAMP, text VARCHAR.
 * A number written with a fraction (`1.0`) is DOUBLE even when its value is whole: pass records parsed by
 * `parseSampleRecord`, or their JSON bytes, for that to be seen.
 */
export function inferColumns(sample: readonly unknown[]): InferredInput {
  const types = new Map<string, SqlTypeName>();
  const merge = (a: SqlTypeName | undefined, b: SqlTypeName): SqlTypeName => {
    if (a === undefined || a === 'NULL') return b;
    if (b === 'NULL' || a === b) return a;
    if ((a === 'BIGINT' && b === 'DOUBLE') || (a === 'DOUBLE' && b === 'BIGINT')) return 'DOUBLE';
    return 'VARCHAR';
  };
  for (const item of sample) {
    let rec = item;
    if (rec instanceof Uint8Array) {
      try {
        rec = parseSampleRecord(rec);
      } catch {
        continue;
      }
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) continue;
    const decimals = decimalKeysOf.get(rec);
    for (const [k, v] of Object.entries(rec)) {
      if (HIDDEN_FIELDS.has(k)) continue;
      let t: SqlTypeName;
      if (v === null || v === undefined) t = 'NULL';
      else if (typeof v === 'boolean') t = 'BOOLEAN';
      else if (typeof v === 'number') t = Number.isInteger(v) && !decimals?.has(k) ? 'BIGINT' : 'DOUBLE';
      else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v) && parseTimestampText(v) !== null) t = 'TIMESTAMP';
      else t = 'VARCHAR';
      types.set(k, merge(types.get(k), t));
    }
  }
  return { columns: [...types].map(([name, type]) => ({ name, type: type === 'NULL' ? 'VARCHAR' : type })) };
}


/** One record (CSV cells as text, JSON values) to a row of the table's columns; throws `RowError` on a bad value. */
export function refRecordToRow(def: RefTableDef, rec: Record<string, unknown>): Row {
  return def.columns.map((c) => refValue(c, rec[c.name] ?? rec[c.name.toLowerCase()] ?? rec[c.name.toUpperCase()] ?? null));
}

/** One value of a record (CSV text, a JSON value) as a value of `column`; throws `RowError` when it does not fit. */
export function refValue(column: RefTableDef['columns'][number], raw: unknown): Value {
  try {
    return castValue(raw as Value, typeof raw === 'number' ? (Number.isInteger(raw) ? 'BIGINT' : 'DOUBLE') : typeof raw === 'boolean' ? 'BOOLEAN' : 'VARCHAR', column.type);
  } catch (err) {
    if (!(err instanceof RowError)) throw err;
    throw new RowError(err.errorName, `column ${column.name}: ${err.message}`);
  }
}

/**
 * A reference table's file read into columns as it streams in: CSV rows and NDJSON lines are cast and
 * written to `ColumnarRows` one by one, so no array of records or rows of the whole file is ever held.
 */
import { createReadStream } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CsvRowReader } from '../core/csv.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { ColumnarRows } from './columnar-rows.ts';
import type { Value } from './expr/types.ts';
import { RowError } from './expr/types.ts';
import { refRecordToRow, refValue } from './inputs.ts';
import type { RefTableDef } from './planner/logical/nodes.ts';
import { KeyedRows } from './row-index.ts';

const CHUNK_BYTES = 1024 * 1024;

/**
 * Rows of a reference table in its declared column order and types. CSV needs a header line. A changelog
 * table ('kind' = 'table' with a 'key') keeps the last record per key, and a record with `_deleted: true`
 * removes its key. Throws `SQL_INPUT` when the file cannot be read or a value does not fit its column.
 */
export async function loadRefTable(def: RefTableDef, baseDir: string, resolvedPath?: string): Promise<ColumnarRows> {
  const path = resolvedPath ?? (isAbsolute(def.path!) ? def.path! : resolve(baseDir, def.path!));
  const sink = new RowSink(def, path);
  const reader = def.format === 'csv' ? csvReader(def, sink) : jsonReader(def, path, sink);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<string>) reader.push(chunk);
  } catch (err) {
    if (isTollstreamError(err)) throw err;
    throw new TollstreamError('SQL_INPUT', `cannot read reference table ${def.name} from ${path}: ${(err as Error).message}`, { context: { table: def.name, path }, cause: err });
  } finally {
    stream.destroy();
  }
  reader.end();
  return sink.finish();
}

interface Reader {
  push(chunk: string): void;
  end(): void;
}

/** Where the rows of a file go: appended, or applied by key for a changelog. */
class RowSink {
  private readonly rows: ColumnarRows;
  private readonly keyed: KeyedRows | null;
  private records = 0;

  constructor(
    private readonly def: RefTableDef,
    private readonly path: string,
  ) {
    this.rows = new ColumnarRows(def.columns.map((c) => c.type));
    const keyColumns = def.key.map((k) => def.columns.findIndex((c) => c.name.toLowerCase() === k.toLowerCase()));
    // A changelog file's key compares as its JSON text (null and every non-finite number alike).
    this.keyed = def.changelog ? new KeyedRows(this.rows, keyColumns, true) : null;
  }

  /** Numbers the next record (from 1), for messages. */
  next(): number {
    return ++this.records;
  }

  add(row: readonly Value[], deleted: boolean): void {
    if (this.keyed === null) this.rows.append(row);
    else if (deleted) this.keyed.delete(row);
    else this.keyed.upsert(row);
  }

  fail(record: number, err: unknown): never {
    if (!(err instanceof RowError)) throw err;
    throw new TollstreamError('SQL_INPUT', `reference table ${this.def.name}, record ${record}: ${err.message}`, { context: { table: this.def.name, path: this.path } });
  }

  invalid(err: unknown): never {
    throw new TollstreamError('SQL_INPUT', `reference table ${this.def.name}: ${this.path} is not valid ${this.def.format.toUpperCase()}: ${(err as Error).message}`, {
      context: { table: this.def.name, path: this.path },
      cause: err,
    });
  }

  finish(): ColumnarRows {
    this.rows.compact();
    this.rows.trim();
    return this.rows;
  }
}

/**
 * CSV rows after the header. A column takes the cell under its name, else under its name in lower case, else
 * in upper case (the first of them that is not empty); the last of two headers of one name wins.
 */
function csvReader(def: RefTableDef, sink: RowSink): Reader {
  let sources: number[][] | null = null;
  const row: Value[] = def.columns.map(() => null);
  return new CsvRowReader((cells) => {
    if (sources === null) {
      const header = cells.map((h) => h.trim());
      sources = def.columns.map((c) => [c.name, c.name.toLowerCase(), c.name.toUpperCase()].map((n) => header.lastIndexOf(n)).filter((i) => i >= 0));
      return;
    }
    const record = sink.next();
    try {
      for (let c = 0; c < sources.length; c++) {
        let raw: string | null = null;
        for (const i of sources[c]!) {
          const cell = cells[i];
          if (cell !== undefined && cell !== '') {
            raw = cell;
            break;
          }
        }
        row[c] = refValue(def.columns[c]!, raw);
      }
    } catch (err) {
      sink.fail(record, err);
    }
    // A CSV cell is text, never the JSON `true` that marks a deleted record.
    sink.add(row, false);
  });
}

/** NDJSON a line at a time; a file that starts with `[` is one JSON array, parsed whole. */
function jsonReader(def: RefTableDef, path: string, sink: RowSink): Reader {
  let mode: 'unknown' | 'array' | 'lines' = 'unknown';
  let rest = '';
  const addRecord = (rec: unknown) => {
    const record = sink.next();
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      throw new TollstreamError('SQL_INPUT', `reference table ${def.name}, record ${record}: not an object`, { context: { table: def.name, path } });
    }
    let row: Value[];
    try {
      row = refRecordToRow(def, rec as Record<string, unknown>);
    } catch (err) {
      sink.fail(record, err);
    }
    sink.add(row, (rec as Record<string, unknown>)._deleted === true);
  };
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      sink.invalid(err);
    }
  };
  const lines = (text: string) => {
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const line of parts) if (line.trim() !== '') addRecord(parse(line));
  };
  return {
    push(chunk) {
      rest += chunk;
      if (mode === 'unknown') {
        const first = rest.trimStart();
        if (first === '') return;
        mode = first.startsWith('[') ? 'array' : 'lines';
      }
      if (mode === 'lines') lines(rest);
    },
    end() {
      if (mode === 'array') {
        for (const rec of parse(rest.trim()) as unknown[]) addRecord(rec);
      } else if (rest.trim() !== '') addRecord(parse(rest));
      rest = '';
    },
  };
}

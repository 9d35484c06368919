/** What the script declares: source tables, reference tables, in-application streams, views. */
import type { ColumnDef, CreateTableStmt, Expr, Script, SelectQuery } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { integerBits } from '../../expr/types.ts';
import { mentionsArrivalTime, namesRead } from './dialect.ts';
import type { RefTableDef, SourceDef } from './nodes.ts';

export interface StreamDef {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /** Set when the stream is also fed from an input (a CREATE TABLE with a 'stream' option). */
  readonly source: CreateTableStmt | null;
}

export interface InferredInput {
  readonly columns: readonly { readonly name: string; readonly type: SourceDef['columns'][number]['type'] }[];
}

export interface CatalogOptions {
  /** Inputs with no CREATE statement, with columns inferred from their first records. */
  readonly inferred: ReadonlyMap<string, InferredInput>;
  /** Default for `'watermark.idle-timeout'`, ms. */
  readonly idleTimeout: number;
  /** Sources decode only the columns the script reads (`namesRead`); otherwise every column. */
  readonly pruneColumns?: boolean;
}

export class Catalog {
  readonly tables = new Map<string, CreateTableStmt>();
  readonly streams = new Map<string, StreamDef>();
  readonly views = new Map<string, SelectQuery>();
  /** Lower-cased names of streams/tables that some INSERT or pump writes. */
  readonly written = new Set<string>();
  /** Whether some statement reads APPROXIMATE_ARRIVAL_TIME: only then do source rows carry it. */
  private readonly readsArrivalTime: boolean;
  /** Names the script could read a source column by (`namesRead`); null: it reads every column. */
  private readonly namesRead: ReadonlySet<string> | null;

  constructor(
    script: Script,
    private readonly options: CatalogOptions,
  ) {
    this.readsArrivalTime = mentionsArrivalTime(script.statements);
    this.namesRead = options.pruneColumns ? namesRead(script.statements) : null;
    for (const st of script.statements) {
      const key = (n: string) => n.toLowerCase();
      switch (st.kind) {
        case 'createTable':
          rejectRepeatedColumns(st.name, st.columns);
          this.tables.set(key(st.name), st);
          break;
        case 'createStream':
          rejectRepeatedColumns(st.name, st.columns);
          this.streams.set(key(st.name), { name: st.name, columns: st.columns, source: null });
          break;
        case 'createView':
          this.views.set(key(st.name), st.query);
          break;
        case 'insert':
          this.written.add(key(st.target));
          break;
        case 'createPump':
          this.written.add(key(st.insert.target));
          break;
        case 'explain': {
          const inner = st.statement;
          if (inner.kind === 'insert') this.written.add(key(inner.target));
          if (inner.kind === 'createPump') this.written.add(key(inner.insert.target));
          break;
        }
        case 'query':
          break;
      }
    }
  }

  /** A table joined as reference data: a file ('path') or a changelog stream ('kind' = 'table'). */
  isRefTable(name: string): boolean {
    const t = this.tables.get(name.toLowerCase());
    return t !== undefined && (t.options.path !== undefined || t.options.kind?.toLowerCase() === 'table');
  }

  refTable(name: string): RefTableDef {
    const t = this.tables.get(name.toLowerCase())!;
    const path = t.options.path ?? null;
    const changelog = t.options.kind?.toLowerCase() === 'table';
    if (t.options.kind !== undefined && !changelog && t.options.kind.toLowerCase() !== 'stream') {
      throw planProblem(t.pos, `table ${t.name} has 'kind' = '${t.options.kind}'`, "Use 'kind' = 'table' (reference data, latest record per key) or leave it out.");
    }
    const format = (t.options.format ?? (path?.endsWith('.csv') ? 'csv' : 'json')).toLowerCase();
    if (format !== 'csv' && format !== 'json') {
      throw planProblem(t.pos, `reference table ${t.name} has format '${format}'`, "Use 'format' = 'csv' or 'json'.");
    }
    const columns = t.columns.map(sourceColumn);
    const key = (t.options.key ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
    if (changelog && key.length === 0) {
      throw planProblem(t.pos, `table ${t.name} has 'kind' = 'table' but no 'key'`, `Name the columns that identify a row, e.g. 'key' = '${columns[0]?.name ?? 'id'}' (several: 'a,b').`);
    }
    for (const k of key) {
      if (!columns.some((c) => c.name.toLowerCase() === k.toLowerCase())) {
        throw planProblem(t.pos, `'key' of table ${t.name} names "${k}", which is not one of its columns`, `Columns: ${columns.map((c) => c.name).join(', ')}.`);
      }
    }
    const refreshText = t.options['refresh-interval'];
    const refreshMs = refreshText === undefined ? null : /^\s*(off|never)\s*$/i.test(refreshText) ? 0 : parseDuration(refreshText, t);
    return {
      name: t.name, path, stream: path === null ? (t.options.stream ?? t.name) : null, format, columns, key, changelog, refreshMs,
    };
  }

  /** The columns of a stream/table that statements write to, or null when it is not declared. */
  targetColumns(name: string): readonly { name: string; type: SourceDef['columns'][number]['type'] }[] | null {
    const s = this.streams.get(name.toLowerCase());
    if (s) return s.columns.map((c) => ({ name: c.name, type: c.type.name }));
    const t = this.tables.get(name.toLowerCase());
    if (t) return t.columns.map((c) => ({ name: c.name, type: c.type.name }));
    return null;
  }

  /** The source that reads input `name`, or null when nothing of that name is declared or given. */
  source(name: string): SourceDef | null {
    const t = this.tables.get(name.toLowerCase());
    if (t) return this.sourceFromTable(t);
    const s = this.streams.get(name.toLowerCase());
    if (s) return this.sourceFromColumns(s.name, s.name, s.columns.map(sourceColumn));
    // An unquoted name matches the input whatever its case (source_sql_stream_001 reads SOURCE_SQL_STREAM_001).
    const inferred = this.options.inferred.has(name) ? ([name, this.options.inferred.get(name)!] as const) : [...this.options.inferred.entries()].find(([k]) => k.toLowerCase() === name.toLowerCase());
    if (inferred) return this.sourceFromColumns(name, inferred[0], inferred[1].columns);
    return null;
  }

  private sourceFromColumns(name: string, input: string, columns: SourceDef['columns']): SourceDef {
    const eventTime = columns.findIndex((c) => c.type === 'TIMESTAMP');
    return { name, input, columns, watermarkColumn: columns.length, watermarkDelay: 0, idleTimeout: this.options.idleTimeout, eventTimeColumn: eventTime, arrivalTime: this.readsArrivalTime, readColumns: this.readColumns(columns, eventTime) };
  }

  private sourceFromTable(t: CreateTableStmt): SourceDef {
    const columns = t.columns.map((c) => ({ name: c.name, type: c.type.name }));
    const input = t.options.stream ?? t.options.topic ?? t.name;
    const idleText = t.options['watermark.idle-timeout'] ?? t.options['scan.watermark.idle-timeout'];
    const idleTimeout = idleText === undefined ? this.options.idleTimeout : parseDuration(idleText, t);
    if (!t.watermark) {
      const base = this.sourceFromColumns(t.name, input, columns);
      return { ...base, idleTimeout };
    }
    const wm = t.watermark;
    const col = columns.findIndex((c) => c.name.toLowerCase() === wm.column.toLowerCase());
    if (col < 0) throw planProblem(wm.pos, `WATERMARK FOR names "${wm.column}", which is not a column of ${t.name}`, `Columns: ${columns.map((c) => c.name).join(', ')}.`);
    if (columns[col]!.type !== 'TIMESTAMP') throw planProblem(wm.pos, `the watermark column "${wm.column}" is ${columns[col]!.type}`, 'Declare it TIMESTAMP(3).');
    return { name: t.name, input, columns, watermarkColumn: col, watermarkDelay: watermarkDelay(wm.expr, wm.column, wm.pos), idleTimeout, eventTimeColumn: col, arrivalTime: this.readsArrivalTime, readColumns: this.readColumns(columns, col) };
  }

  /** Per column, whether the script reads it; the event-time column (watermark, ROWTIME) always. */
  private readColumns(columns: SourceDef['columns'], eventTime: number): boolean[] {
    const names = this.namesRead;
    return columns.map((c, i) => names === null || i === eventTime || names.has(c.name.toLowerCase()));
  }
}

/** `ts`, `ts - INTERVAL '5' SECOND`: the bounded out-of-orderness, ms. */
function watermarkDelay(e: Expr, column: string, pos: Expr['pos']): number {
  if (e.kind === 'column' && e.name.toLowerCase() === column.toLowerCase()) return 0;
  if (e.kind === 'binary' && e.op === '-' && e.left.kind === 'column' && e.left.name.toLowerCase() === column.toLowerCase() && e.right.kind === 'interval') {
    return e.right.millis;
  }
  throw planProblem(pos, 'the WATERMARK expression must be the column minus an interval', `Write WATERMARK FOR ${column} AS ${column} - INTERVAL '5' SECOND.`);
}

/** '5 s', '500 ms', '2 min', '1 h', '5000' (ms). */
export function parseDuration(text: string, t: { pos: Expr['pos'] }): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)?\s*$/i.exec(text);
  if (!m) throw planProblem(t.pos, `'${text}' is not a duration`, "Write e.g. '30 s', '500 ms', '5 min'.");
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit.startsWith('ms') || unit.startsWith('milli') ? 1 : unit.startsWith('s') ? 1000 : unit.startsWith('m') ? 60_000 : unit.startsWith('h') ? 3_600_000 : 86_400_000;
  return n * factor;
}

/** Rows are records keyed by column name, so two columns of one name would lose one value. */
/** A source column; a TINYINT, SMALLINT or INTEGER keeps its width: a value beyond it does not convert (an error-stream row). */
function sourceColumn(c: ColumnDef): SourceDef['columns'][number] {
  const bits = integerBits(c.type.text);
  return bits === undefined ? { name: c.name, type: c.type.name } : { name: c.name, type: c.type.name, bits };
}

function rejectRepeatedColumns(table: string, columns: readonly ColumnDef[]): void {
  const seen = new Set<string>();
  for (const c of columns) {
    const k = c.name.toLowerCase();
    if (seen.has(k)) throw planProblem(c.pos, `${table} declares the column "${c.name}" twice`, 'Give every column its own name.');
    seen.add(k);
  }
}

/**
 * The file runner: SQL over bounded inputs (NDJSON files or async iterables), to the rows of every output
 * stream and the error stream. At the end of the inputs the watermark goes to +Infinity, so every window
 * closes and emits.
 */
import { TollstreamError, toTollstreamError } from '../core/errors.ts';
import type { QueryDialect, Script } from './ast/index.ts';
import { PlanProblem, sqlError } from './diagnostics.ts';
import type { Row, Value } from './expr/types.ts';
import { exportValue } from './expr/types.ts';
import { INFER_SAMPLE_SIZE, inferColumns, peek, readNdjson, records } from './inputs.ts';
import { loadRefTable } from './reference-load.ts';
import { parseSql } from './parser/index.ts';
import { changelogRows, staticReferenceTable, type ReferenceTable } from './reference-table.ts';
import type { InferredInput } from './planner/logical/catalog.ts';
import { planScript } from './planner/logical/plan-script.ts';
import { buildPhysical } from './planner/physical/build.ts';
import { explainGraph } from './planner/physical/explain.ts';
import type { PhysicalGraph } from './planner/physical/graph.ts';
import type { ErrorRow } from './runtime/error-stream.ts';
import { ERROR_STREAM, ErrorStream } from './runtime/error-stream.ts';
import { runGraph } from './runtime/run-graph.ts';

/** Records one by one, or in arrays (batches, cheaper), or the path of an NDJSON file. */
export type QueryInput = AsyncIterable<Record<string, unknown> | readonly Record<string, unknown>[]> | string;

export interface RunQueryOptions {
  readonly sql: string;
  /**
   * Whose meaning the SQL gets where Flink and Kinesis Analytics differ (UNIX_TIMESTAMP, EXTRACT(SECOND),
   * sliding-window bounds). @default detected: 'kinesis' for a script with CREATE STREAM/PUMP, SELECT STREAM,
   * STAGGER or ROWTIME in a select list or GROUP BY, else 'flink'
   */
  readonly dialect?: QueryDialect;
  /** Input streams by name: an async iterable of records, or the path of an NDJSON file. */
  readonly inputs: Readonly<Record<string, QueryInput>>;
  /** Plan only and return the physical plan as text. EXPLAIN in the SQL does the same. */
  readonly explain?: boolean;
  /** Rows per batch between operators. @default 512 */
  readonly batchSize?: number;
  /** Bound of each operator's input queue, in rows. @default 8192 */
  readonly queueCapacity?: number;
  /** Windows close this long after the watermark passes their end, ms. @default 0 */
  readonly allowedLatenessMs?: number;
  /** A partition silent this long (in event time) stops holding back the watermark, ms. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** Take a checkpoint (barriers through the graph, every operator snapshots) every this many input records; 0 for never. @default 0 */
  readonly checkpointEveryRows?: number;
  /** Where relative reference-table paths start. @default process.cwd() */
  readonly baseDir?: string;
  /** Processing-time clock (CURRENT_TIMESTAMP, ERROR_TIME, ROWTIME without an arrival time), ms. @default Date.now */
  readonly now?: () => number;
  /** Called for every output row as it is produced (rows are also collected unless `collect` is false). */
  readonly onRow?: (stream: string, row: Record<string, unknown>) => void;
  /** @default true */
  readonly collect?: boolean;
  /** Called for every operator snapshot at a checkpoint. */
  readonly onSnapshot?: (taskId: string, checkpointId: number, state: unknown) => void;
  /**
   * Continue from a checkpoint: every task's state at one checkpoint id, as `onSnapshot` reported them
   * (task id -> state). Inputs are read from their start and the records before the checkpoint skipped;
   * rows the first run emitted before the checkpoint are not emitted again.
   */
  readonly restoreFrom?: Readonly<Record<string, unknown>>;
}

export interface RunQueryResult {
  /** Rows per output stream (hidden ROWTIME left out), including `error_stream`. */
  readonly streams: Record<string, Record<string, unknown>[]>;
  /** The error stream's rows (also under `streams.error_stream`). */
  readonly errors: readonly ErrorRow[];
  /** The physical plan, when asked for; the query did not run then. */
  readonly explain: string | null;
  readonly metrics: {
    readonly rowsOut: Record<string, number>;
    /** Error-stream rows by ERROR_NAME (LATE_ROW, PARSE_ERROR, CAST_FAILED, ...). */
    readonly errorCounts: Record<string, number>;
    readonly maxQueueDepth: Record<string, number>;
  };
}

/** SQL text -> AST; throws SQL_SYNTAX. */
export function parse(sql: string): Script {
  return parseSql(sql);
}

function withSql<T>(sql: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PlanProblem) throw sqlError('SQL_PLAN', sql, err.pos, err.problem, err.hint);
    throw err;
  }
}

interface Prepared {
  readonly graph: PhysicalGraph;
  readonly explain: boolean;
  readonly inputs: Map<string, AsyncIterable<unknown[]>>;
}

async function prepare(options: RunQueryOptions, now: () => number): Promise<Prepared> {
  const script = parseSql(options.sql);
  const inputs = new Map<string, AsyncIterable<unknown[]>>();
  const inferred = new Map<string, InferredInput>();
  // An input a CREATE statement declares is read as declared: waiting for a sample of it would hold a
  // query over a live iterable until it had given that many records.
  const declared = new Set(script.statements.flatMap((st) => (st.kind === 'createTable' || st.kind === 'createStream' ? [st.name.toLowerCase()] : [])));
  for (const [name, input] of Object.entries(options.inputs)) {
    const sample = declared.has(name.toLowerCase()) ? 0 : INFER_SAMPLE_SIZE;
    const { head, all } = await peek(records(typeof input === 'string' ? readNdjson(input) : input), sample);
    inputs.set(name, all);
    inferred.set(name, inferColumns(head));
  }
  const plan = withSql(options.sql, () => planScript(script, { inferred, idleTimeout: options.idleTimeoutMs ?? 60_000, now, dialect: options.dialect }));
  const refTables = new Map<string, ReferenceTable>();
  for (const [key, t] of plan.catalog.tables) {
    if (!plan.catalog.isRefTable(t.name)) continue;
    const def = withSql(options.sql, () => plan.catalog.refTable(t.name));
    if (def.path !== null) {
      refTables.set(key, staticReferenceTable(def.name, await loadRefTable(def, options.baseDir ?? process.cwd())));
    } else if (def.stream !== null && inputs.has(def.stream)) {
      // A table kept from a stream, given as an input: its records are a changelog, applied before any fact row.
      refTables.set(key, (await changelogRows(def, inputs.get(def.stream)!)).table);
      inputs.delete(def.stream);
    }
  }
  const graph = withSql(options.sql, () => buildPhysical(plan, { now, allowedLateness: options.allowedLatenessMs ?? 0, refRows: new Map(), refTables }));
  for (const n of graph.nodes) {
    if (n.kind === 'source' && !inputs.has(n.source.input)) {
      const given = Object.keys(options.inputs);
      throw new TollstreamError('SQL_INPUT', `the query reads stream "${n.source.input}" but no input of that name was given`, {
        context: { stream: n.source.input, inputs: given },
      });
    }
  }
  return { graph, explain: plan.explain || options.explain === true, inputs };
}

/** Plans the SQL and renders the physical plan. */
export async function explainQuery(options: RunQueryOptions): Promise<string> {
  const { graph, inputs } = await prepare({ ...options }, options.now ?? Date.now);
  await closeAll(inputs);
  return explainGraph(graph);
}

async function closeAll(inputs: ReadonlyMap<string, AsyncIterable<unknown[]>>): Promise<void> {
  for (const input of inputs.values()) await (input as AsyncGenerator<unknown[]>).return?.(undefined);
}

export async function runQuery(options: RunQueryOptions): Promise<RunQueryResult> {
  const now = options.now ?? Date.now;
  const collect = options.collect ?? true;
  const streams: Record<string, Record<string, unknown>[]> = {};
  const rowsOut: Record<string, number> = {};
  const onRow = options.onRow;
  const errors = new ErrorStream(now, (row) => {
    rowsOut[ERROR_STREAM] = (rowsOut[ERROR_STREAM] ?? 0) + 1;
    onRow?.(ERROR_STREAM, { ...row });
  });
  const { graph, explain, inputs } = await prepare(options, now);
  if (explain) await closeAll(inputs);
  if (explain) return { streams: {}, errors: [], explain: explainGraph(graph), metrics: { rowsOut: {}, errorCounts: {}, maxQueueDepth: {} } };

  const exporters = new Map(
    graph.outputs.map((o) => {
      const cols = o.columns;
      if (collect) streams[o.name] = [];
      rowsOut[o.name] = 0;
      return [o.name, (row: Row) => {
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < cols.length; i++) obj[cols[i]!.name] = exportValue(row[i] as Value, cols[i]!.type);
        return obj;
      }] as const;
    }),
  );
  const stats = await runGraph(graph, {
    inputs,
    batchSize: options.batchSize ?? 512,
    queueCapacity: options.queueCapacity ?? 8192,
    checkpointEveryRows: options.checkpointEveryRows ?? 0,
    allowedLateness: options.allowedLatenessMs ?? 0,
    now,
    errors,
    onSnapshot: options.onSnapshot,
    restore: options.restoreFrom,
    hooks: {
      deliver: (stream, rows) => {
        const exp = exporters.get(stream)!;
        const out = streams[stream];
        rowsOut[stream] = (rowsOut[stream] ?? 0) + rows.length;
        // Rows nobody looks at are counted, not exported.
        if (!out && !onRow) return;
        for (const r of rows) {
          const obj = exp(r);
          if (out) out.push(obj);
          onRow?.(stream, obj);
        }
      },
    },
  }).catch((err: unknown) => {
    throw toTollstreamError(err);
  });
  if (collect) streams[ERROR_STREAM] = errors.rows.map((r) => ({ ...r }));
  return { streams, errors: errors.rows, explain: null, metrics: { rowsOut, errorCounts: { ...errors.counts }, maxQueueDepth: stats.maxQueueDepth } };
}

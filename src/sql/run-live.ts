/**
 * The live runner: the same plans as the file runner, over inputs that never end (the shards of log
 * streams, merged by the caller into `LiveItem`s). The caller owns time: it puts checkpoint barriers, idle
 * ticks and the final cancel into the inputs, persists what `onSnapshot` reports, and restores from it.
 * Nothing here closes windows at the end: a stopped live query continues from its last checkpoint.
 */
import { resolveInside } from '../core/confined-path.ts';
import { TollstreamError, toTollstreamError } from '../core/errors.ts';
import type { Expr, FromItem, QueryDialect, Script, SelectQuery } from './ast/index.ts';
import { childrenOf } from './ast/index.ts';
import { PlanProblem, planProblem, sqlError } from './diagnostics.ts';
import type { Row, Value } from './expr/types.ts';
import { exportValue } from './expr/types.ts';
import type { OutputKeys } from './output-keys.ts';
import { outputKeys } from './output-keys.ts';
import { parseSql } from './parser/index.ts';
import type { InferredInput } from './planner/logical/catalog.ts';
import { planScript } from './planner/logical/plan-script.ts';
import { buildPhysical } from './planner/physical/build.ts';
import type { LocateFile, ReferenceTable } from './reference-table.ts';
import { ChangelogReferenceTable, DEFAULT_LIVE_REFRESH_MS, FileReferenceTable } from './reference-table.ts';
import { explainGraph } from './planner/physical/explain.ts';
import type { PhysicalGraph } from './planner/physical/graph.ts';
import { fedBySources } from './planner/physical/graph.ts';
import type { ErrorRow } from './runtime/error-stream.ts';
import { ErrorStream } from './runtime/error-stream.ts';
import type { LiveItem, LiveSourceTask } from './runtime/live-source-task.ts';
import { runGraph } from './runtime/run-graph.ts';

export type { LiveItem } from './runtime/live-source-task.ts';
export type { OutputKeys, OutputKeyMode } from './output-keys.ts';

export type InferredColumns = InferredInput['columns'];

export interface LivePlanOptions {
  readonly sql: string;
  /** Whose meaning the SQL gets where the dialects differ. @default detected (see RunQueryOptions.dialect) */
  readonly dialect?: QueryDialect;
  /** Columns of inputs the SQL reads without declaring them (Kinesis' SOURCE_SQL_STREAM_001), by input name. */
  readonly inferred?: Readonly<Record<string, InferredColumns>>;
  /** Default idle timeout of input shards, processing time, ms. @default 60000 */
  readonly idleTimeoutMs?: number;
  /** @default 0 */
  readonly allowedLatenessMs?: number;
  /**
   * The directory file reference tables ('path') must be in: a relative path starts there, and a path that
   * leads out of it (absolute elsewhere, `..`, a symbolic link) is refused with PATH_NOT_ALLOWED. Absent, the
   * query may read no file at all (stream-backed tables still work). @default none
   */
  readonly referenceDir?: string;
  /**
   * false: file reference tables are checked (PATH_NOT_ALLOWED, a missing file) but their rows are not read, for
   * a plan whose operators run elsewhere (on a query thread, which reads the rows and reloads them). @default true
   */
  readonly readFileRows?: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface LiveOutput {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The task whose checkpoint snapshot covers exactly the rows delivered to this output before it. */
  readonly sinkTaskId: string;
  readonly keys: OutputKeys;
}

export interface LivePlan {
  readonly sql: string;
  /** Input names the query reads (a table's 'stream' option, or the undeclared name). */
  readonly inputs: readonly string[];
  readonly outputs: readonly LiveOutput[];
  /** Every task id: a checkpoint is complete once each has reported. */
  readonly taskIds: readonly string[];
  readonly explain: string;
  readonly graph: PhysicalGraph;
  readonly allowedLatenessMs: number;
  readonly now: () => number;
  /**
   * Stream-backed reference tables ('kind' = 'table'): the runner reads each stream from TRIM_HORIZON to its
   * end into `table` before the query starts, then applies the records that arrive while it runs.
   */
  readonly referenceStreams: readonly LiveReferenceStream[];
  /**
   * File-backed reference tables; `runLiveQuery` checks their files for changes while it runs. Empty tables
   * (their files checked, not read) when planned with `readFileRows` false.
   */
  readonly fileTables: readonly FileReferenceTable[];
}

export interface LiveReferenceStream {
  /** The table's name in SQL. */
  readonly name: string;
  /** The log stream holding its changelog. */
  readonly stream: string;
  readonly table: ChangelogReferenceTable;
}

/** The names a script reads in FROM that it neither declares nor writes: the inputs needing inferred columns. */
export function undeclaredInputs(sql: string): string[] {
  const script = parseSql(sql);
  const declared = new Set<string>();
  const read: string[] = [];
  for (const st of script.statements) {
    if (st.kind === 'createTable' || st.kind === 'createStream' || st.kind === 'createView') declared.add(st.name.toLowerCase());
  }
  const visitQuery = (q: SelectQuery): void => {
    const from = (f: FromItem | null): void => {
      if (!f) return;
      if (f.kind === 'tableRef') read.push(f.name);
      else if (f.kind === 'windowTvf') read.push(f.source.name);
      else if (f.kind === 'join') {
        from(f.left);
        from(f.right);
      } else if (f.kind === 'subquery') visitQuery(f.query);
      else if (f.kind === 'matchRecognize') from(f.source);
      else if (f.kind === 'streamModel') from(f.source);
    };
    from(q.from);
    // IN and EXISTS subqueries of WHERE read their own tables and streams.
    const subqueries = (e: Expr): void => {
      if (e.kind === 'subqueryPredicate') visitQuery(e.query);
      childrenOf(e).forEach(subqueries);
    };
    if (q.where) subqueries(q.where);
    for (const cte of q.ctes) {
      declared.add(cte.name.toLowerCase());
      visitQuery(cte.query);
    }
    q.unionAll.forEach(visitQuery);
    for (const b of q.intersect ?? []) visitQuery(b.query);
  };
  const visit = (st: Script['statements'][number]): void => {
    if (st.kind === 'insert') visitQuery(st.query);
    else if (st.kind === 'createPump') visitQuery(st.insert.query);
    else if (st.kind === 'query' || st.kind === 'createView') visitQuery(st.query);
    else if (st.kind === 'explain') visit(st.statement);
  };
  for (const st of script.statements) visit(st);
  const seen = new Set<string>();
  return read.filter((n) => {
    const k = n.toLowerCase();
    if (declared.has(k) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function withSql<T>(sql: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PlanProblem) throw sqlError('SQL_PLAN', sql, err.pos, err.problem, err.hint);
    throw err;
  }
}

/** Where a live query's file table may read: inside `referenceDir` only, and nowhere without one. */
function referenceFiles(referenceDir: string | undefined, table: string): LocateFile {
  if (referenceDir !== undefined) return (requested) => resolveInside(referenceDir, requested, `reference table ${table}`);
  return async (requested) => {
    throw new TollstreamError('PATH_NOT_ALLOWED', `reference table ${table} reads the file ${requested}, but this query may read no files: load the rows into a stream and declare the table with 'kind' = 'table'`, {
      context: { table, path: requested, allowedDir: null },
    });
  };
}

/** Parses and plans a live query; throws `SQL_SYNTAX`/`SQL_PLAN` with line and column. */
export async function planLiveQuery(options: LivePlanOptions): Promise<LivePlan> {
  const now = options.now ?? Date.now;
  const script = parseSql(options.sql);
  const inferred = new Map<string, InferredInput>(Object.entries(options.inferred ?? {}).map(([k, columns]) => [k, { columns }]));
  const plan = withSql(options.sql, () => planScript(script, { inferred, idleTimeout: options.idleTimeoutMs ?? 60_000, now, dialect: options.dialect }));
  const refTables = new Map<string, ReferenceTable>();
  const fileTables: FileReferenceTable[] = [];
  const referenceStreams: LiveReferenceStream[] = [];
  for (const [key, t] of plan.catalog.tables) {
    if (!plan.catalog.isRefTable(t.name)) continue;
    const def = withSql(options.sql, () => plan.catalog.refTable(t.name));
    if (def.path !== null) {
      const table = new FileReferenceTable(def, referenceFiles(options.referenceDir, def.name), def.refreshMs ?? DEFAULT_LIVE_REFRESH_MS);
      if (options.readFileRows === false) await table.checkFile();
      else await table.load();
      fileTables.push(table);
      refTables.set(key, table);
    } else {
      const table = new ChangelogReferenceTable(def);
      referenceStreams.push({ name: def.name, stream: def.stream!, table });
      refTables.set(key, table);
    }
  }
  const allowedLatenessMs = options.allowedLatenessMs ?? 0;
  const graph = withSql(options.sql, () => buildPhysical(plan, { now, allowedLateness: allowedLatenessMs, refRows: new Map(), refTables }));
  const keys = outputKeys(script, plan.pipelines);
  const fed = fedBySources(graph.nodes);
  for (const o of graph.outputs) {
    // Such an output would have no checkpoint position, and would be written again after every restart.
    if (!fed.has(o.sink.id)) {
      const pipeline = plan.pipelines.find((p) => p.target === o.name)!;
      withSql(options.sql, () => {
        throw planProblem(pipeline.pos, `${o.name} is fed by VALUES alone: a live query follows streams, and these rows would be written again after every restart`, 'Unite the VALUES with a stream (UNION ALL), or run it once with tollstream query.');
      });
    }
  }
  const inputs: string[] = [];
  for (const n of graph.nodes) if (n.kind === 'source' && !inputs.includes(n.source.input)) inputs.push(n.source.input);
  return {
    sql: options.sql,
    inputs,
    outputs: graph.outputs.map((o) => ({ name: o.name, columns: o.columns, sinkTaskId: o.sink.id, keys: keys.get(o.name) ?? { mode: 'row', identity: [], partition: [] } })),
    // Tasks no source feeds (VALUES) see no barrier, so they report no state.
    taskIds: graph.nodes.filter((n) => fed.has(n.id)).map((n) => n.id),
    explain: explainGraph(graph),
    graph,
    allowedLatenessMs,
    now,
    referenceStreams,
    fileTables,
  };
}

export interface LiveRunOptions {
  /** One live input per name of `plan.inputs`. */
  readonly inputs: ReadonlyMap<string, AsyncIterable<LiveItem>>;
  /** Every task's state of one checkpoint (as `onSnapshot` reported them). */
  readonly restoreFrom?: Readonly<Record<string, unknown>>;
  readonly onSnapshot: (taskId: string, checkpointId: number, state: unknown) => void;
  /** Output rows as JSON-ready objects (hidden ROWTIME left out), in order, per stream. Synchronous: buffer them. */
  readonly deliver: (stream: string, rows: readonly Record<string, unknown>[]) => void;
  /**
   * The time an output is complete up to, ms: every row it will ever get for an event time before it (a window
   * ending at or before it) was given to `deliver` already. It is the watermark reaching the output's sink less
   * the allowed lateness, called after the rows delivered before it, and never goes back.
   */
  readonly onEmittedUpTo?: (stream: string, time: number) => void;
  /** Error-stream rows (Kinesis shape). */
  readonly onError: (row: ErrorRow) => void;
  readonly onSource?: (input: string, task: LiveSourceTask) => void;
  readonly onRecords?: (input: string, records: number, rows: number) => void;
  /** A file reference table was reloaded, or could not be (the previous rows stay in use). */
  readonly onReferenceReload?: (event: { table: string; rows?: number; path?: string; error?: string }) => void;
  /** @default 512 */
  readonly batchSize?: number;
  /** @default 8192 */
  readonly queueCapacity?: number;
}

/** Runs the plan until its inputs cancel (or end). A plan runs once: plan again for a restart. */
export async function runLiveQuery(plan: LivePlan, options: LiveRunOptions): Promise<void> {
  const exporters = new Map(
    plan.graph.outputs.map((o) => {
      const cols = o.columns;
      return [o.name, (row: Row) => {
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < cols.length; i++) obj[cols[i]!.name] = exportValue(row[i] as Value, cols[i]!.type);
        return obj;
      }] as const;
    }),
  );
  const errors = new ErrorStream(plan.now, (row) => options.onError(row), false);
  for (const table of plan.fileTables) {
    table.start({
      onReload: (name, rows) => options.onReferenceReload?.({ table: name, rows }),
      onReloadError: (name, path, message) => {
        options.onReferenceReload?.({ table: name, path, error: message });
        errors.add('REFERENCE_RELOAD_FAILED', message, { table: name, path }, null);
      },
    });
  }
  try {
    await runGraph(plan.graph, {
      inputs: new Map(),
      live: { inputs: options.inputs, now: Date.now, onSource: options.onSource, onRecords: options.onRecords },
      batchSize: options.batchSize ?? 512,
      queueCapacity: options.queueCapacity ?? 8192,
      checkpointEveryRows: 0,
      allowedLateness: plan.allowedLatenessMs,
      now: plan.now,
      errors,
      onSnapshot: options.onSnapshot,
      restore: options.restoreFrom,
      hooks: {
        deliver: (stream, rows) => {
          const exp = exporters.get(stream)!;
          options.deliver(stream, rows.map(exp));
        },
        watermark: (stream, time) => {
          const upTo = time - plan.allowedLatenessMs;
          if (Number.isFinite(upTo)) options.onEmittedUpTo?.(stream, upTo);
        },
      },
    }).catch((err: unknown) => {
      throw toTollstreamError(err);
    });
  } finally {
    for (const table of plan.fileTables) await table.stop();
  }
}

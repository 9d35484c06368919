/**
 * The logical plan: what to compute, with expressions still as AST over each node's input fields.
 * The physical planner picks operators and compiles the expressions.
 */
import type { CallExpr, Expr, MatchRecognizeFrom, OrderItem, QueryDialect, SqlTypeName, StreamModel } from '../../ast/index.ts';
import type { SourcePos } from '../../diagnostics.ts';
import type { Field } from '../../expr/scope.ts';
import type { Value } from '../../expr/types.ts';

/** Kinesis Analytics' column of an input stream: when the record reached the stream (the log's arrival time). */
export const ARRIVAL_TIME = 'APPROXIMATE_ARRIVAL_TIME';

export interface SourceDef {
  /** The name in SQL. */
  readonly name: string;
  /** The input stream it reads (`'stream'` option, else the name). */
  readonly input: string;
  /** `bits`: a declared TINYINT, SMALLINT or INTEGER's width, checked as records are decoded. */
  readonly columns: readonly { readonly name: string; readonly type: SqlTypeName; readonly bits?: number }[];
  /** The watermark follows this column (ROWTIME when the table has no WATERMARK clause). */
  readonly watermarkColumn: number;
  readonly watermarkDelay: number;
  readonly idleTimeout: number;
  /** Column ROWTIME falls back to when records carry no arrival time; -1 for processing time. */
  readonly eventTimeColumn: number;
  /** Rows carry the hidden APPROXIMATE_ARRIVAL_TIME after ROWTIME (set when the script reads that column). */
  readonly arrivalTime: boolean;
  /**
   * Per column, whether the script reads it. The decoder leaves a column it does not read NULL without
   * looking at the record's field (so a bad value there is no error); rows keep every column's position.
   */
  readonly readColumns: readonly boolean[];
}

export interface RefTableDef {
  readonly name: string;
  /** The file ('path'); null for a table kept from a log stream. */
  readonly path: string | null;
  /** The log stream of a stream-backed table ('kind' = 'table' without 'path'); null for a file. */
  readonly stream: string | null;
  readonly format: 'csv' | 'json';
  readonly columns: readonly { readonly name: string; readonly type: SqlTypeName }[];
  /** 'key' columns of a changelog table; empty for a plain file. */
  readonly key: readonly string[];
  /** 'kind' = 'table': the records are a changelog (last per key wins, `_deleted: true` removes). */
  readonly changelog: boolean;
  /** 'refresh-interval' in ms (0: never); null when not set (live default 10 s, file runner never). */
  readonly refreshMs: number | null;
}

/** `offset`: windows start that long after the multiples of their size (or slide), ms; 0 without one. */
export type WindowSpec =
  | { readonly type: 'TUMBLE'; readonly size: number; readonly time: Expr; readonly offset?: number }
  | { readonly type: 'HOP'; readonly slide: number; readonly size: number; readonly time: Expr; readonly offset?: number }
  | { readonly type: 'CUMULATE'; readonly step: number; readonly size: number; readonly time: Expr; readonly offset?: number }
  | { readonly type: 'SESSION'; readonly gap: number; readonly time: Expr; readonly partitionBy?: readonly string[] }
  | { readonly type: 'STAGGER'; readonly range: number; readonly time: Expr };

interface Base {
  /** Output fields; the hidden ROWTIME is among them. */
  readonly fields: readonly Field[];
}

export interface ScanNode extends Base {
  readonly kind: 'scan';
  readonly source: SourceDef;
}

/** Reads an in-application stream that INSERTs/pumps of the same script write. */
export interface StreamReadNode extends Base {
  readonly kind: 'streamRead';
  readonly stream: string;
}

export interface FilterNode extends Base {
  readonly kind: 'filter';
  readonly input: LogicalNode;
  readonly condition: Expr;
  readonly substitutions: ReadonlyMap<string, number> | null;
}

export interface ProjectNode extends Base {
  readonly kind: 'project';
  readonly input: LogicalNode;
  readonly exprs: readonly Expr[];
  readonly substitutions: ReadonlyMap<string, number> | null;
}

export interface WindowAssignNode extends Base {
  readonly kind: 'windowAssign';
  readonly input: LogicalNode;
  readonly window: WindowSpec;
}

/** Output: keys..., aggregates..., [window_start, window_end, window_time when windowed], ROWTIME. */
export interface AggregateNode extends Base {
  readonly kind: 'aggregate';
  readonly input: LogicalNode;
  readonly keys: readonly Expr[];
  readonly aggs: readonly CallExpr[];
  readonly window: WindowSpec | null;
  /**
   * Without a window: the index in `keys` of a `MONOTONIC(e)` key (Kinesis Analytics). The groups of one
   * value of it are complete when another value comes, so they are emitted once then, not updated.
   */
  readonly monotonicKey?: number;
  readonly rowtime: Expr;
  /**
   * Set when an aggregate's argument or FILTER reads window_start, window_end or window_time: the fields the
   * aggregates are compiled against, the input's then the three window columns, which the operator appends
   * to each row as it places it in a window.
   */
  readonly aggInputFields?: readonly Field[];
}

/** Output: the input fields, then one per aggregate of each window. */
export interface OverAggregateNode extends Base {
  readonly kind: 'overAggregate';
  readonly input: LogicalNode;
  /** ROWTIME (rows in arrival order), or the event-time column of `ORDER BY ts` (rows wait for the watermark). */
  readonly time: Expr;
  readonly orderedByEventTime: boolean;
  /**
   * Each window keeps its partition's rows of the last `range` ms, or with `rows` its last rows + 1. Its
   * aggregates come first in the output, then its LAGs.
   */
  readonly windows: readonly {
    readonly partitionBy: readonly Expr[];
    readonly range: number;
    readonly rows: number | null;
    readonly aggs: readonly CallExpr[];
    readonly lags: readonly CallExpr[];
  }[];
}

/**
 * Output: the input fields, then the row number when `numbered`. With a `windowEnd` the rows of each window
 * are ranked when it closes; without one (deduplication, a query's ORDER BY time [LIMIT n]) rows are
 * numbered in the order of the first ORDER BY item, an ascending time the watermark follows, or (`updating`)
 * ranked as they come.
 */
export interface TopNNode extends Base {
  readonly kind: 'topN';
  readonly input: LogicalNode;
  readonly windowEnd: Expr | null;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly OrderItem[];
  /** Rows kept per partition: the `rn <= N` of the query around it (or LIMIT), else all. */
  readonly limit: number;
  readonly numbered: boolean;
  /**
   * Set outside windows when the first ORDER BY item is not an ascending time (Flink): rows are ranked as
   * they come and the rows whose number changed are sent again, an updating result. `enteringOnly`: the
   * query around does not select the row number, so only the row entering the top N is sent.
   */
  readonly updating?: { readonly enteringOnly: boolean };
}

/** Output: the stream fields, then the table columns. */
export interface LookupJoinNode extends Base {
  readonly kind: 'lookupJoin';
  readonly input: LogicalNode;
  readonly table: RefTableDef;
  readonly tableFields: readonly Field[];
  readonly streamKeys: readonly Expr[];
  readonly tableKeys: readonly Expr[];
  readonly condition: Expr | null;
  /** SEMI and ANTI (`IN`/`EXISTS`, `NOT EXISTS` subqueries) keep or drop the stream row; its fields only. */
  readonly joinType: 'INNER' | 'LEFT' | 'SEMI' | 'ANTI';
  /** The rows of a VALUES table; null for a declared reference table. */
  readonly constantRows?: readonly (readonly Value[])[] | null;
}

/** Output: the left fields, then the right fields. */
export interface IntervalJoinNode extends Base {
  readonly kind: 'intervalJoin';
  readonly left: LogicalNode;
  readonly right: LogicalNode;
  readonly leftKeys: readonly Expr[];
  readonly rightKeys: readonly Expr[];
  readonly leftTime: Expr;
  readonly rightTime: Expr;
  /** right.time within [left.time - lower, left.time + upper]. */
  readonly lower: number;
  readonly upper: number;
  readonly condition: Expr;
  /**
   * An outer join also emits the rows of its preserved side(s) that found no match, padded with NULLs. SEMI
   * (IN, EXISTS over a stream) emits a left row once, at its first match; ANTI (NOT EXISTS) a left row that
   * matched nothing, when no match can come any more; both give the left fields only.
   */
  readonly joinType: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'SEMI' | 'ANTI';
}

/**
 * `s [LEFT] JOIN t FOR SYSTEM_TIME AS OF s.ts ON s.k = t.k`: each row of `s` joined with the version of
 * `t`'s row of its key that was valid at `s.ts` (the last one whose time is at or before it). Output: the
 * probe's fields, then the table's.
 */
export interface TemporalJoinNode extends Base {
  readonly kind: 'temporalJoin';
  readonly probe: LogicalNode;
  readonly versions: LogicalNode;
  readonly probeTime: Expr;
  /** The table's WATERMARK column: when a version starts to be valid. */
  readonly versionTime: Expr;
  /** The probe's values for the table's PRIMARY KEY columns, in key order, and those columns. */
  readonly probeKeys: readonly Expr[];
  readonly versionKeys: readonly Expr[];
  readonly condition: Expr;
  readonly joinType: 'INNER' | 'LEFT';
}

/**
 * `MATCH_RECOGNIZE (...)` with ONE ROW PER MATCH. Output: the PARTITION BY columns, the measures, then
 * ROWTIME (the time of the match's last row). The clause's expressions are compiled with the operator.
 */
export interface MatchRecognizeNode extends Base {
  readonly kind: 'matchRecognize';
  readonly input: LogicalNode;
  readonly clause: MatchRecognizeFrom;
  /** The pattern's variables, upper case, by index. */
  readonly variables: readonly string[];
}

/**
 * `TABLE(RANDOM_CUT_FOREST(CURSOR(...)))`, `TABLE(HOTSPOTS(CURSOR(...)))`: every input row in arrival order,
 * with the model's column(s) after the input's fields.
 */
export interface StreamModelNode extends Base {
  readonly kind: 'streamModel';
  readonly input: LogicalNode;
  readonly model: StreamModel;
  /** The input fields the model reads (its numeric columns), in order. */
  readonly numeric: readonly number[];
}

/**
 * `UNION ALL`: the rows of every input, whose fields are the same as the node's. With `intersect` (two
 * inputs, `a INTERSECT [ALL] b`) only the rows both inputs bring: each once, or with `all` as often as both do.
 */
export interface UnionAllNode extends Base {
  readonly kind: 'unionAll';
  readonly inputs: readonly LogicalNode[];
  readonly intersect?: { readonly all: boolean };
  /**
   * `a EXCEPT [ALL] b` where b is constant rows (one input, a): a's rows that b does not have, each once, or
   * with `all` as often as a brings them beyond b's count. Rows are in the node's field order.
   */
  readonly except?: { readonly all: boolean; readonly rows: readonly (readonly Value[])[] };
}

/** Constant rows (`VALUES`), already evaluated and cast to the fields' types; ROWTIME is the planning time. */
export interface ValuesNode extends Base {
  readonly kind: 'values';
  readonly rows: readonly (readonly Value[])[];
}

export type LogicalNode =
  | ScanNode
  | StreamReadNode
  | FilterNode
  | ProjectNode
  | WindowAssignNode
  | AggregateNode
  | OverAggregateNode
  | TopNNode
  | LookupJoinNode
  | IntervalJoinNode
  | TemporalJoinNode
  | UnionAllNode
  | ValuesNode
  | MatchRecognizeNode
  | StreamModelNode;

export type LogicalKind = LogicalNode['kind'];

/** The inputs of each kind of node, for passes that walk the plan. */
export const logicalInputs: { readonly [K in LogicalKind]: (n: Extract<LogicalNode, { kind: K }>) => readonly LogicalNode[] } = {
  scan: () => [],
  streamRead: () => [],
  filter: (n) => [n.input],
  project: (n) => [n.input],
  windowAssign: (n) => [n.input],
  aggregate: (n) => [n.input],
  overAggregate: (n) => [n.input],
  topN: (n) => [n.input],
  lookupJoin: (n) => [n.input],
  intervalJoin: (n) => [n.left, n.right],
  temporalJoin: (n) => [n.probe, n.versions],
  unionAll: (n) => n.inputs,
  values: () => [],
  matchRecognize: (n) => [n.input],
  streamModel: (n) => [n.input],
};

/** Names of the in-application streams a plan reads. */
export function streamsRead(n: LogicalNode): string[] {
  if (n.kind === 'streamRead') return [n.stream];
  return (logicalInputs[n.kind] as (x: LogicalNode) => readonly LogicalNode[])(n).flatMap(streamsRead);
}

const renamedFrom = new WeakMap<LogicalNode, LogicalNode>();

/**
 * A copy of `node` under other column names or qualifiers (a view read `AS v2`): the same rows, so the
 * physical plan computes them once (see `sameRows`).
 */
export function renamed(node: LogicalNode, fields: readonly LogicalNode['fields'][number][]): LogicalNode {
  const copy = { ...node, fields } as LogicalNode;
  renamedFrom.set(copy, sameRows(node));
  return copy;
}

/** The node whose rows `node` are: itself, or the one it renames. */
export function sameRows(node: LogicalNode): LogicalNode {
  return renamedFrom.get(node) ?? node;
}

/** One INSERT/pump (or bare query): a query feeding a stream. */
export interface Pipeline {
  readonly pumpName: string;
  readonly pos: SourcePos;
  readonly target: string;
  readonly targetColumns: readonly { readonly name: string; readonly type: SqlTypeName }[];
  readonly query: LogicalNode;
}

export interface LogicalPlan {
  readonly pipelines: readonly Pipeline[];
  /** Streams written by the script, in order of first write. */
  readonly outputs: readonly string[];
  readonly explain: boolean;
  /** The dialect the script was planned in. */
  readonly dialect: QueryDialect;
}

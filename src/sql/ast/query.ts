/** Query nodes: SELECT and what it reads FROM. */
import type { SourcePos } from '../diagnostics.ts';
import type { Expr, IntervalExpr, OrderItem, OverClause } from './expressions.ts';
import type { MatchRecognizeFrom } from './match-recognize.ts';
import type { StreamModelFrom } from './stream-model.ts';

export interface SelectItem {
  readonly kind: 'item';
  readonly expr: Expr;
  readonly alias: string | null;
  readonly pos: SourcePos;
}

/** `*` or `t.*` in a select list. */
export interface StarItem {
  readonly kind: 'star';
  readonly qualifier: string | null;
  readonly pos: SourcePos;
}

export interface TableRef {
  readonly kind: 'tableRef';
  readonly name: string;
  /** `t FOR SYSTEM_TIME AS OF s.ts`: the versions of `t` valid at `s.ts` (a temporal join's right side). */
  readonly asOf: Expr | null;
  /**
   * Kinesis Analytics' `s OVER (RANGE INTERVAL '1' MINUTE PRECEDING)` or `s OVER w` (a window of the WINDOW
   * clause) on a side of a stream-to-stream join: the rows of `s` that side joins with. Absent or null
   * without OVER.
   */
  readonly over?: OverClause | null;
  readonly alias: string | null;
  readonly pos: SourcePos;
}

export type WindowFunction = 'TUMBLE' | 'HOP' | 'SESSION' | 'CUMULATE';

/**
 * `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' MINUTE))`: the rows of `t` with `window_start`,
 * `window_end` and `window_time` added. Sizes by function: TUMBLE [size], HOP [slide, size],
 * SESSION [gap], CUMULATE [step, max].
 */
export interface WindowTvf {
  readonly kind: 'windowTvf';
  readonly fn: WindowFunction;
  readonly source: TableRef;
  /** `SESSION(TABLE t PARTITION BY k, ...)`: the columns sessions are kept apart by (SESSION only). */
  readonly partitionBy: readonly string[];
  readonly timeColumn: string;
  readonly sizes: readonly IntervalExpr[];
  /** The optional last argument of TUMBLE, HOP and CUMULATE: windows start that much after the multiples of their size. */
  readonly offset: IntervalExpr | null;
  readonly alias: string | null;
  readonly pos: SourcePos;
}

export interface JoinFrom {
  readonly kind: 'join';
  readonly joinType: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL';
  readonly left: FromItem;
  readonly right: FromItem;
  readonly on: Expr;
  readonly pos: SourcePos;
}

export interface SubqueryFrom {
  readonly kind: 'subquery';
  readonly query: SelectQuery;
  readonly alias: string | null;
  /** The names of `AS t(a, b)`, one per select item (a row-valued item's columns keep theirs under it). */
  readonly columns?: readonly string[];
  readonly pos: SourcePos;
}

/** `(VALUES (1, 'a'), (2, 'b')) AS t(id, name)`: constant rows, a bounded source. */
export interface ValuesFrom {
  readonly kind: 'values';
  readonly rows: readonly (readonly Expr[])[];
  readonly alias: string | null;
  /** The names of `AS t(id, name)`; without them the columns are EXPR$0, EXPR$1, ... */
  readonly columns: readonly string[] | null;
  readonly pos: SourcePos;
}

export type FromItem = TableRef | WindowTvf | JoinFrom | SubqueryFrom | ValuesFrom | MatchRecognizeFrom | StreamModelFrom;
export type FromKind = FromItem['kind'];

export interface NamedWindow {
  readonly name: string;
  readonly spec: OverClause;
}

/** Kinesis Analytics `WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL '1' MINUTE)`. */
export interface StaggerClause {
  readonly partitionBy: readonly Expr[];
  readonly range: IntervalExpr;
  readonly pos: SourcePos;
}

/** `WITH name AS (SELECT ...)`: a name for a query, read like a view by the query it belongs to. */
export interface CommonTableExpr {
  readonly name: string;
  readonly query: SelectQuery;
  readonly pos: SourcePos;
}

export interface SelectQuery {
  readonly kind: 'select';
  /** The query's `WITH` names, in order (each may read the ones before it). */
  readonly ctes: readonly CommonTableExpr[];
  /** `UNION ALL` branches after this one: the query's rows are this SELECT's and theirs. */
  readonly unionAll: readonly SelectQuery[];
  /**
   * `INTERSECT [ALL]` queries after this SELECT, applied left to right before the UNION ALL branches: the rows
   * this SELECT and each of them both give (once, or as often as both give them with ALL); with `except`
   * (`EXCEPT [ALL]`), the rows this SELECT gives and the query does not (or more often than it does).
   */
  readonly intersect?: readonly { readonly all: boolean; readonly query: SelectQuery; readonly pos: SourcePos; readonly except?: boolean }[];
  /** `SELECT STREAM` (Kinesis Analytics); same meaning as a plain SELECT here. */
  readonly stream: boolean;
  readonly distinct: boolean;
  readonly items: readonly (SelectItem | StarItem)[];
  readonly from: FromItem | null;
  readonly where: Expr | null;
  readonly groupBy: readonly Expr[];
  /**
   * `GROUP BY keys, GROUPING SETS ((a, b), (a), ())` (ROLLUP and CUBE are written out as their sets): the
   * query groups by `groupBy` plus each set in turn. Null without one.
   */
  readonly groupingSets: readonly (readonly Expr[])[] | null;
  readonly having: Expr | null;
  readonly windows: readonly NamedWindow[];
  readonly windowedBy: StaggerClause | null;
  /** `ORDER BY ts [, ...]` of the whole query (after its UNION ALL branches); empty without one. */
  readonly orderBy: readonly OrderItem[];
  /** `LIMIT n`; null without one. */
  readonly limit: number | null;
  readonly pos: SourcePos;
}

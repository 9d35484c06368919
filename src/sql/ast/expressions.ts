/**
 * Expression nodes. Every node is an immutable value with a literal `kind`; passes over expressions
 * dispatch through `Record<ExprKind, ...>` so a new kind does not compile until every pass handles it.
 */
import type { SourcePos } from '../diagnostics.ts';
import type { SelectQuery } from './query.ts';

export type TimeUnit = 'MILLISECOND' | 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'QUARTER' | 'YEAR';

/** The time units of a fixed length, in ms: MILLISECOND to WEEK (a month, a quarter and a year are calendar lengths). */
export const FIXED_UNIT_MS = { MILLISECOND: 1, SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000, WEEK: 7 * 86_400_000 } as const satisfies Partial<Record<TimeUnit, number>>;

/** The length of `unit` in ms when it is fixed, else undefined (MONTH, QUARTER, YEAR). */
export function fixedUnitMs(unit: TimeUnit): number | undefined {
  return Object.hasOwn(FIXED_UNIT_MS, unit) ? FIXED_UNIT_MS[unit as keyof typeof FIXED_UNIT_MS] : undefined;
}

/** SQL types the engine computes with. DECIMAL/NUMERIC become DOUBLE; every integer width becomes BIGINT. */
export type SqlTypeName = 'BOOLEAN' | 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'TIMESTAMP' | 'INTERVAL' | 'NULL' | 'ANY';

export interface TypeRef {
  readonly name: SqlTypeName;
  /** As written, e.g. `VARCHAR(16)`, for messages and EXPLAIN. */
  readonly text: string;
}

export interface LiteralExpr {
  readonly kind: 'literal';
  readonly type: 'BOOLEAN' | 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'TIMESTAMP' | 'NULL';
  readonly value: string | number | boolean | null;
  readonly pos: SourcePos;
}

/** `INTERVAL '10' MINUTE`; the value is held in milliseconds (months count as 30 days, years as 365). */
export interface IntervalExpr {
  readonly kind: 'interval';
  readonly millis: number;
  readonly text: string;
  readonly pos: SourcePos;
}

export interface ColumnExpr {
  readonly kind: 'column';
  readonly qualifier: string | null;
  readonly name: string;
  /** Quoted identifiers match exactly first; unquoted ones match regardless of case. */
  readonly quoted: boolean;
  readonly pos: SourcePos;
}

export interface UnaryExpr {
  readonly kind: 'unary';
  readonly op: '-' | '+' | 'NOT';
  readonly operand: Expr;
  readonly pos: SourcePos;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '||' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

export interface BinaryExpr {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly pos: SourcePos;
}

export interface IsNullExpr {
  readonly kind: 'isNull';
  readonly operand: Expr;
  readonly negated: boolean;
  readonly pos: SourcePos;
}

/** `a IS [NOT] DISTINCT FROM b`: equality where NULL equals NULL (never NULL itself). */
export interface IsDistinctExpr {
  readonly kind: 'isDistinct';
  readonly left: Expr;
  readonly right: Expr;
  readonly negated: boolean;
  readonly pos: SourcePos;
}

export interface InListExpr {
  readonly kind: 'inList';
  readonly operand: Expr;
  readonly list: readonly Expr[];
  readonly negated: boolean;
  readonly pos: SourcePos;
}

export interface BetweenExpr {
  readonly kind: 'between';
  readonly operand: Expr;
  readonly low: Expr;
  readonly high: Expr;
  readonly negated: boolean;
  readonly pos: SourcePos;
}

/** `x [NOT] LIKE p [ESCAPE e]`, or `x [NOT] SIMILAR TO p [ESCAPE e]` (a SQL regular expression). */
export interface LikeExpr {
  readonly kind: 'like';
  readonly operand: Expr;
  readonly pattern: Expr;
  readonly escape: Expr | null;
  readonly similar: boolean;
  readonly negated: boolean;
  readonly pos: SourcePos;
}

export interface CaseExpr {
  readonly kind: 'case';
  readonly operand: Expr | null;
  readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
  readonly otherwise: Expr | null;
  readonly pos: SourcePos;
}

/**
 * `x [NOT] IN (SELECT ...)` and `EXISTS (SELECT ...)` (NOT EXISTS is a NOT around it). Planned as a semi- or
 * anti-join when it is a condition of WHERE and the subquery reads a reference table or VALUES.
 */
export interface SubqueryPredicateExpr {
  readonly kind: 'subqueryPredicate';
  readonly mode: 'in' | 'exists';
  /** The left side of IN; null for EXISTS. */
  readonly operand: Expr | null;
  readonly negated: boolean;
  readonly query: SelectQuery;
  readonly pos: SourcePos;
}

export interface CastExpr {
  readonly kind: 'cast';
  readonly operand: Expr;
  readonly target: TypeRef;
  /** TRY_CAST gives NULL where CAST fails. */
  readonly lenient: boolean;
  readonly pos: SourcePos;
}

/** `OVER (PARTITION BY ... ORDER BY ...)` or `OVER w` naming a `WINDOW w AS (...)` clause. */
export interface OverClause {
  readonly windowName: string | null;
  readonly partitionBy: readonly Expr[];
  readonly orderBy: readonly OrderItem[];
  /** `RANGE INTERVAL '1' MINUTE PRECEDING`, in ms; null when not given. */
  readonly rangeMillis: number | null;
  /** `ROWS n PRECEDING` (also `ROWS BETWEEN n PRECEDING AND CURRENT ROW`): the row and n before it; null when not given. */
  readonly rowsPreceding: number | null;
  readonly pos: SourcePos;
}

export interface OrderItem {
  readonly expr: Expr;
  readonly descending: boolean;
}

export interface CallExpr {
  readonly kind: 'call';
  /** Upper case. */
  readonly name: string;
  readonly args: readonly Expr[];
  readonly distinct: boolean;
  /** `COUNT(*)`. */
  readonly star: boolean;
  readonly filter: Expr | null;
  /** `LAG(x) IGNORE NULLS OVER ...`: rows whose value is NULL are not counted. */
  readonly ignoreNulls: boolean;
  /** `IGNORE NULLS` or `RESPECT NULLS` as written after LAG, FIRST_VALUE or LAST_VALUE; absent when not written. */
  readonly nullTreatment?: 'IGNORE' | 'RESPECT';
  /** `NTH_VALUE(x, n) FROM LAST`: n counts back from the last row; absent for FROM FIRST (the default). */
  readonly fromLast?: boolean;
  readonly over: OverClause | null;
  readonly pos: SourcePos;
}

/** `FLOOR(ts TO MINUTE)`, `CEIL(ts TO HOUR)`; with no unit it is the numeric function. */
export interface FloorCeilExpr {
  readonly kind: 'floorCeil';
  readonly fn: 'FLOOR' | 'CEIL';
  readonly operand: Expr;
  readonly unit: TimeUnit | null;
  readonly pos: SourcePos;
}

export interface ExtractExpr {
  readonly kind: 'extract';
  readonly unit: TimeUnit | 'DOW' | 'DOY' | 'EPOCH';
  readonly operand: Expr;
  readonly pos: SourcePos;
}

/** Kinesis Analytics `STEP(ts BY INTERVAL '10' MINUTE)`: the start of the fixed-size interval holding `ts`. */
export interface StepExpr {
  readonly kind: 'step';
  readonly operand: Expr;
  readonly interval: IntervalExpr;
  readonly pos: SourcePos;
}

export type Expr =
  | LiteralExpr
  | IntervalExpr
  | ColumnExpr
  | UnaryExpr
  | BinaryExpr
  | IsNullExpr
  | IsDistinctExpr
  | InListExpr
  | BetweenExpr
  | LikeExpr
  | CaseExpr
  | CastExpr
  | SubqueryPredicateExpr
  | CallExpr
  | FloorCeilExpr
  | ExtractExpr
  | StepExpr;

export type ExprKind = Expr['kind'];
export type ExprOfKind<K extends ExprKind> = Extract<Expr, { kind: K }>;

/** Children of a node, for passes that only need to walk (collecting columns, finding aggregates). */
export const exprChildren: { readonly [K in ExprKind]: (e: ExprOfKind<K>) => readonly Expr[] } = {
  literal: () => [],
  interval: () => [],
  column: () => [],
  unary: (e) => [e.operand],
  binary: (e) => [e.left, e.right],
  isNull: (e) => [e.operand],
  isDistinct: (e) => [e.left, e.right],
  inList: (e) => [e.operand, ...e.list],
  between: (e) => [e.operand, e.low, e.high],
  like: (e) => (e.escape ? [e.operand, e.pattern, e.escape] : [e.operand, e.pattern]),
  case: (e) => [...(e.operand ? [e.operand] : []), ...e.whens.flatMap((w) => [w.when, w.then]), ...(e.otherwise ? [e.otherwise] : [])],
  cast: (e) => [e.operand],
  subqueryPredicate: (e) => (e.operand ? [e.operand] : []),
  call: (e) => [...e.args, ...(e.filter ? [e.filter] : [])],
  floorCeil: (e) => [e.operand],
  extract: (e) => [e.operand],
  step: (e) => [e.operand, e.interval],
};

export function childrenOf(e: Expr): readonly Expr[] {
  return (exprChildren[e.kind] as (x: Expr) => readonly Expr[])(e);
}

type ChildMapper = (e: Expr) => Expr;

/** A node with each child replaced by `f(child)`, for passes that rewrite (the grouping sets' NULL keys). */
const exprWithChildren: { readonly [K in ExprKind]: (e: ExprOfKind<K>, f: ChildMapper) => ExprOfKind<K> } = {
  literal: (e) => e,
  interval: (e) => e,
  column: (e) => e,
  unary: (e, f) => ({ ...e, operand: f(e.operand) }),
  binary: (e, f) => ({ ...e, left: f(e.left), right: f(e.right) }),
  isNull: (e, f) => ({ ...e, operand: f(e.operand) }),
  isDistinct: (e, f) => ({ ...e, left: f(e.left), right: f(e.right) }),
  inList: (e, f) => ({ ...e, operand: f(e.operand), list: e.list.map(f) }),
  between: (e, f) => ({ ...e, operand: f(e.operand), low: f(e.low), high: f(e.high) }),
  like: (e, f) => ({ ...e, operand: f(e.operand), pattern: f(e.pattern), escape: e.escape ? f(e.escape) : null }),
  case: (e, f) => ({
    ...e,
    operand: e.operand ? f(e.operand) : null,
    whens: e.whens.map((w) => ({ when: f(w.when), then: f(w.then) })),
    otherwise: e.otherwise ? f(e.otherwise) : null,
  }),
  cast: (e, f) => ({ ...e, operand: f(e.operand) }),
  subqueryPredicate: (e, f) => ({ ...e, operand: e.operand ? f(e.operand) : null }),
  call: (e, f) => ({ ...e, args: e.args.map(f), filter: e.filter ? f(e.filter) : null }),
  floorCeil: (e, f) => ({ ...e, operand: f(e.operand) }),
  extract: (e, f) => ({ ...e, operand: f(e.operand) }),
  step: (e, f) => ({ ...e, operand: f(e.operand), interval: f(e.interval) as IntervalExpr }),
};

export function mapChildren(e: Expr, f: ChildMapper): Expr {
  return (exprWithChildren[e.kind] as (x: Expr, g: ChildMapper) => Expr)(e, f);
}

/** True when some node of `e` (itself included) satisfies `test`. */
export function someExpr(e: Expr, test: (x: Expr) => boolean): boolean {
  if (test(e)) return true;
  for (const c of childrenOf(e)) if (someExpr(c, test)) return true;
  return false;
}

/** A key equal for two expressions written the same way (positions and identifier case ignored). */
export function exprKey(e: Expr): string {
  return JSON.stringify(e, (k, v: unknown) => {
    if (k === 'pos') return undefined;
    if (k === 'name' && typeof v === 'string') return v.toLowerCase();
    if (k === 'qualifier') return undefined;
    if (k === 'quoted') return undefined;
    return v;
  });
}

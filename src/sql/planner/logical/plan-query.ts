/** SELECT -> logical plan: FROM, WHERE, windows and GROUP BY, OVER, HAVING, the select list. */
import type { CallExpr, ColumnExpr, Expr, FromItem, NamedWindow, OrderItem, OverClause, QueryDialect, SelectItem, SelectQuery, SqlTypeName, StarItem, ValuesFrom } from '../../ast/index.ts';
import { childrenOf, exprKey, fixedUnitMs, someExpr } from '../../ast/index.ts';
import type { SourcePos } from '../../diagnostics.ts';
import { PlanProblem, planProblem } from '../../diagnostics.ts';
import { compileAggregate, isAggregateCall } from '../../expr/aggregates.ts';
import { UNSUPPORTED_FUNCTIONS } from '../../expr/functions.ts';
import { compileLag } from '../../expr/lag.ts';
import { isRowFunctionCall, prepareRowFunction, rowColumnExpr } from '../../expr/log-parsers.ts';
import type { CompileContext } from '../../expr/compile.ts';
import { castValue, compileExpr, compilePredicate } from '../../expr/compile.ts';
import type { Value } from '../../expr/types.ts';
import { RowError } from '../../expr/types.ts';
import type { Field } from '../../expr/scope.ts';
import { Scope } from '../../expr/scope.ts';
import type { Catalog } from './catalog.ts';
import { callsGroupingFunctions, expandGroupingSets, resolveGroupingFunctions } from './grouping-sets.ts';
import { planJoin } from './plan-join.ts';
import { planMatchRecognize } from './plan-match.ts';
import { hiddenOrderKey, orderByOutputColumns } from './plan-order-by.ts';
import { planStreamModel } from './plan-stream-model.ts';
import { ROWTIME_GROUP_MILLIS, isRowtimeColumn, readGroupedRowtime } from './rowtime-group-key.ts';
import type { AggregateNode, LogicalNode, UnionAllNode, ValuesNode, WindowAssignNode, WindowSpec } from './nodes.ts';
import { planSubqueryConditions } from './plan-subquery.ts';
import { ARRIVAL_TIME, logicalInputs, renamed } from './nodes.ts';

export interface PlanEnv {
  readonly catalog: Catalog;
  readonly now: () => number;
  readonly dialect: QueryDialect;
  readonly viewsInProgress: Set<string>;
  /** Streams (lower case) written by a GROUP BY without a window: their rows are updates, not facts. */
  readonly updatingStreams: Set<string>;
  /** The `WITH` names in scope (lower case), each with the names in scope where it was written. */
  readonly ctes?: ReadonlyMap<string, CteBinding>;
  /**
   * Views and WITH names planned so far, so that a second reader gets the same node and the physical plan
   * computes it once for both.
   */
  readonly planned?: PlannedNames;
  /** The WINDOW clause of the query whose FROM is being planned (a join's `s OVER w` reads it). */
  readonly windows?: readonly NamedWindow[];
}

/** A view's plan is kept with the WITH names in scope where it was planned (they could change its meaning). */
export interface PlannedNames {
  readonly views: Map<string, { readonly ctes: ReadonlyMap<string, CteBinding> | undefined; readonly node: LogicalNode }>;
  readonly ctes: WeakMap<CteBinding, LogicalNode>;
}

interface CteBinding {
  readonly query: SelectQuery;
  readonly scope: ReadonlyMap<string, CteBinding>;
}

/**
 * True when the node's rows are updates of earlier rows (a GROUP BY without a window emits the new total of
 * a group for every change). Counting or joining such rows again would count every update.
 */
export function isUpdating(node: LogicalNode, env: PlanEnv): boolean {
  if (node.kind === 'aggregate') return node.window === null && node.monotonicKey === undefined && node.aggs.length > 0;
  if (node.kind === 'topN' && node.updating) return true;
  if (node.kind === 'streamRead') return env.updatingStreams.has(node.stream.toLowerCase());
  return (logicalInputs[node.kind] as (n: LogicalNode) => readonly LogicalNode[])(node).some((n) => isUpdating(n, env));
}

export function rejectUpdates(node: LogicalNode, env: PlanEnv, pos: SourcePos, what: string): void {
  if (!isUpdating(node, env)) return;
  if (updatingTopN(node)) {
    throw planProblem(
      pos,
      `${what} reads the output of a Top-N outside windows, whose rows are updates (rows sent again with a new number); that is not supported yet`,
      'Rank per window instead (PARTITION BY window_start, window_end), or work on the raw rows.',
    );
  }
  throw planProblem(
    pos,
    `${what} reads the output of a GROUP BY without a window, whose rows are updates (a new total per change); that is not supported yet`,
    'Window the inner aggregation (TUMBLE, HOP, STEP ... ), or work on the raw rows.',
  );
}

function updatingTopN(node: LogicalNode): boolean {
  if (node.kind === 'topN' && node.updating) return true;
  return (logicalInputs[node.kind] as (n: LogicalNode) => readonly LogicalNode[])(node).some(updatingTopN);
}

export function rowtimeField(qualifier: string | null): Field {
  return { name: 'ROWTIME', type: 'TIMESTAMP', qualifier, hidden: true };
}

export function col(name: string, pos: SourcePos, qualifier: string | null = null): ColumnExpr {
  return { kind: 'column', qualifier, name, quoted: false, pos };
}

export function ctxOf(env: PlanEnv, fields: readonly Field[], substitutions?: ReadonlyMap<string, number> | null): CompileContext {
  // Planning compiles to learn types and check names; which operator will track CURRENT_WATERMARK is known
  // only when the physical plan is built, which refuses it anywhere but in a Calc.
  return { scope: new Scope(fields), substitutions: substitutions ?? undefined, now: env.now, dialect: env.dialect, watermark: { current: null } };
}

/** The output name of a column read as it is: a row's column (r.COLUMN1) is COLUMN1 out of the row. */
function ownName(name: string, fields: readonly Field[]): string {
  const f = fields.find((x) => x.rowOf !== undefined && x.name.toLowerCase() === name.toLowerCase());
  return f ? f.name.slice(f.rowOf!.length + 1) : name;
}

/**
 * `(SELECT ...) AS t(a, b)`: the select items take the names given, in order; the columns of a row-valued
 * item are one item, renamed under its new name (`AS l(r)` makes l.r.COLUMN1).
 */
function renameColumns(node: LogicalNode, columns: readonly string[] | undefined, pos: SourcePos): LogicalNode {
  if (columns === undefined) return node;
  const items: string[] = [];
  for (const f of node.fields) if (!f.hidden && (f.rowOf === undefined || !items.includes(f.rowOf))) items.push(f.rowOf ?? f.name);
  if (items.length !== columns.length) {
    throw planProblem(pos, `${columns.length} column name(s) for a subquery of ${items.length} column(s)`, `Name each: (${items.join(', ')}).`);
  }
  const fields = node.fields.map((f) => {
    if (f.hidden) return f;
    const at = items.indexOf(f.rowOf ?? f.name);
    const to = columns[at]!;
    return f.rowOf === undefined ? { ...f, name: to } : { ...f, name: `${to}${f.name.slice(f.rowOf.length)}`, rowOf: to };
  });
  return renamed(node, fields);
}

function requalify(node: LogicalNode, qualifier: string | null): LogicalNode {
  if (qualifier === null) return node;
  return renamed(node, node.fields.map((f) => ({ ...f, qualifier })));
}

export function planFrom(item: FromItem, env: PlanEnv): LogicalNode {
  switch (item.kind) {
    case 'tableRef':
      if (item.asOf) {
        throw planProblem(item.asOf.pos, 'FOR SYSTEM_TIME AS OF reads a versioned table on the right of a join', `Write FROM s [LEFT] JOIN ${item.name} FOR SYSTEM_TIME AS OF s.ts ON s.k = ${item.name}.k.`);
      }
      if (item.over) {
        throw planProblem(item.over.pos, `${item.name} OVER (...) is a side of a stream-to-stream join`, `Join it with another stream: FROM a JOIN ${item.name} OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.k = b.k.`);
      }
      return planTableRef(item.name, item.alias ?? item.name, item.pos, env);
    case 'subquery':
      return requalify(renameColumns(planSelect(item.query, env), item.columns, item.pos), item.alias);
    case 'windowTvf': {
      const qualifier = item.alias ?? item.source.name;
      const input = requalify(planTableRef(item.source.name, item.source.alias ?? item.source.name, item.source.pos, env), qualifier);
      const time = col(item.timeColumn, item.pos);
      const t = compileExpr(time, ctxOf(env, input.fields));
      if (t.type !== 'TIMESTAMP') {
        throw planProblem(item.pos, `DESCRIPTOR(${item.timeColumn}) is ${t.type}, not a TIMESTAMP`, 'Window over a TIMESTAMP column, best the one the WATERMARK is declared for.');
      }
      const ms = item.sizes.map((s) => s.millis);
      if (ms.some((m) => m <= 0)) throw planProblem(item.pos, 'window sizes must be positive', '');
      let window: WindowSpec;
      const offset = item.offset?.millis ?? 0;
      switch (item.fn) {
        case 'TUMBLE':
          window = { type: 'TUMBLE', size: ms[0]!, time, offset };
          break;
        case 'HOP':
          window = { type: 'HOP', slide: ms[0]!, size: ms[1]!, time, offset };
          break;
        case 'CUMULATE':
          if (ms[1]! % ms[0]! !== 0) throw planProblem(item.pos, 'CUMULATE max size must be a multiple of the step', '');
          window = { type: 'CUMULATE', step: ms[0]!, size: ms[1]!, time, offset };
          break;
        case 'SESSION':
          window = { type: 'SESSION', gap: ms[0]!, time, partitionBy: item.partitionBy };
          break;
      }
      const wf = (name: string): Field => ({ name, type: 'TIMESTAMP', qualifier, hidden: false });
      return { kind: 'windowAssign', input, window, fields: [...input.fields, wf('window_start'), wf('window_end'), wf('window_time')] };
    }
    case 'join':
      return planJoin(item, env);
    case 'values':
      return planValues(item, env);
    case 'matchRecognize':
      return planMatchRecognize(item, env);
    case 'streamModel':
      return planStreamModel(item, env);
  }
}

/** `(VALUES (...), ...) AS t(a, b)`: every row evaluated once, now; a column's type is its values' common type. */
export function planValues(item: ValuesFrom, env: PlanEnv): ValuesNode {
  const width = item.rows[0]!.length;
  const qualifier = item.alias;
  if (item.columns !== null && item.columns.length !== width) {
    throw planProblem(item.pos, `VALUES rows have ${width} column(s) but ${item.columns.length} name(s) are given`, 'Name every column once: AS t(a, b, ...).');
  }
  const ctx = ctxOf(env, []);
  const typed = item.rows.map((row, r) => {
    if (row.length !== width) throw planProblem(row[0]?.pos ?? item.pos, `VALUES row ${r + 1} has ${row.length} value(s), the first row ${width}`, 'Give every row the same number of values.');
    return row.map((e) => {
      const c = compileExpr(e, ctx);
      let v: Value;
      try {
        v = c.fn([]);
      } catch (err) {
        throw planProblem(e.pos, `this VALUES entry cannot be computed: ${(err as Error).message}`, 'Write a constant, e.g. 42, \'text\' or TIMESTAMP \'2026-03-02 08:00:00\'.');
      }
      return { v, type: c.type, pos: e.pos };
    });
  });
  const types: SqlTypeName[] = typed[0]!.map((x) => x.type);
  for (const row of typed) {
    row.forEach((x, k) => {
      const t = types[k]!;
      if (x.type === t || x.type === 'NULL') return;
      if (t === 'NULL') types[k] = x.type;
      else if (NUMERIC.has(t) && NUMERIC.has(x.type)) types[k] = 'DOUBLE';
      else throw planProblem(x.pos, `VALUES column ${k + 1} is ${t} in one row and ${x.type} in another`, `CAST the value to ${t}.`);
    });
  }
  const rowtime = env.now();
  const rows = typed.map((row) => [...row.map((x, k) => (x.type === types[k] ? x.v : castValue(x.v, x.type, types[k]!))), rowtime]);
  const fields: Field[] = types.map((type, k) => ({ name: item.columns?.[k] ?? `EXPR$${k}`, type, qualifier, hidden: false }));
  return { kind: 'values', rows, fields: [...fields, rowtimeField(qualifier)] };
}

function planTableRef(name: string, qualifier: string, pos: SourcePos, env: PlanEnv): LogicalNode {
  const { catalog } = env;
  const lower = name.toLowerCase();
  // A WITH name or a view is planned once; every reader gets that node, so its rows are computed once.
  const cte = env.ctes?.get(lower);
  if (cte) {
    let node = env.planned?.ctes.get(cte);
    if (!node) {
      node = planSelect(cte.query, { ...env, ctes: cte.scope });
      env.planned?.ctes.set(cte, node);
    }
    return requalify(node, qualifier);
  }
  const view = catalog.views.get(lower);
  if (view) {
    const done = env.planned?.views.get(lower);
    if (done && done.ctes === env.ctes) return requalify(done.node, qualifier);
    if (env.viewsInProgress.has(lower)) throw planProblem(pos, `view ${name} refers to itself`, 'Break the cycle between the views.');
    env.viewsInProgress.add(lower);
    try {
      const node = planSelect(view, env);
      env.planned?.views.set(lower, { ctes: env.ctes, node });
      return requalify(node, qualifier);
    } finally {
      env.viewsInProgress.delete(lower);
    }
  }
  if (catalog.isRefTable(name)) {
    throw planProblem(pos, `${name} is a reference table (a 'path', or 'kind' = 'table'), so it can only be joined to a stream`, `Write ... FROM s JOIN ${name} ON s.k = ${name}.k.`);
  }
  if (catalog.written.has(lower)) {
    const cols = catalog.targetColumns(name);
    if (!cols) throw planProblem(pos, `stream ${name} is written to but never declared`, `Declare it with CREATE STREAM "${name}" (...) or CREATE TABLE.`);
    const fields: Field[] = cols.map((c) => ({ name: c.name, type: c.type, qualifier, hidden: false }));
    return { kind: 'streamRead', stream: name, fields: [...fields, rowtimeField(qualifier)] };
  }
  const source = catalog.source(name);
  if (!source) {
    throw planProblem(pos, `unknown table or stream "${name}"`, `Declare it with CREATE TABLE ${name} (...) WITH ('stream' = '...'), or give an input named ${name} (--input ${name}=file.ndjson).`);
  }
  const fields: Field[] = source.columns.map((c) => ({ name: c.name, type: c.type, qualifier, hidden: false }));
  if (source.arrivalTime) fields.push(rowtimeField(qualifier), { name: ARRIVAL_TIME, type: 'TIMESTAMP', qualifier, hidden: true });
  else fields.push(rowtimeField(qualifier));
  return { kind: 'scan', source, fields };
}

function collectCalls(e: Expr, test: (c: CallExpr) => boolean, into: CallExpr[]): void {
  if (e.kind === 'call' && test(e)) {
    if (!into.some((c) => exprKey(c) === exprKey(e))) into.push(e);
    return;
  }
  for (const c of childrenOf(e)) collectCalls(c, test, into);
}

/** A query with its WITH names and UNION ALL branches. */
export function planSelect(q: SelectQuery, env: PlanEnv): LogicalNode {
  if (q.ctes.length > 0) {
    let ctes: ReadonlyMap<string, CteBinding> = env.ctes ?? new Map();
    for (const cte of q.ctes) {
      const next = new Map(ctes);
      next.set(cte.name.toLowerCase(), { query: cte.query, scope: ctes });
      ctes = next;
    }
    env = { ...env, ctes };
  }
  let core = planSelectCore(q, env);
  for (const b of q.intersect ?? []) {
    const both = planUnionAll([q, b.query], [core, planSelect(b.query, env)], env, b.except ? 'EXCEPT' : 'INTERSECT') as UnionAllNode;
    if (!b.except) {
      core = { ...both, intersect: { all: b.all } };
      continue;
    }
    // On a stream a row of the left side could only leave once the right side can never bring it: that is
    // known at once when the right side is constant rows, which are then taken out as the left rows pass.
    let rows: Value[][] | null;
    try {
      rows = constantRows(both.inputs[1]!, env);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      throw planProblem(b.pos, `a constant row on the right of EXCEPT cannot be computed: ${err.message}`, 'Fix the expression in the VALUES or the query over it.');
    }
    if (rows === null) {
      throw exceptOverStream(b.pos, env.dialect);
    }
    core = { ...both, inputs: [both.inputs[0]!], except: { all: b.all, rows } };
  }
  const node = q.unionAll.length === 0 ? core : planUnionAll([q, ...q.unionAll], [core, ...q.unionAll.map((b) => planSelect(b, env))], env);
  return q.orderBy.length > 0 || q.limit !== null ? planOrderBy(q, node, env) : node;
}

/**
 * `ORDER BY ts [, ...] [LIMIT n]` on a stream, where Flink allows it: ordered by an ascending time attribute
 * first, the rows leave in that order as the watermark passes them, and LIMIT keeps the first n.
 */
function planOrderBy(q: SelectQuery, node: LogicalNode, env: PlanEnv): LogicalNode {
  if (q.orderBy.length === 0) {
    throw planProblem(q.pos, 'LIMIT on a stream needs ORDER BY a time attribute: otherwise which rows it keeps depends on when they arrive', 'Write ORDER BY event_time LIMIT n, or rank rows per window with ROW_NUMBER() for a top-N.');
  }
  rejectUpdates(node, env, q.orderBy[0]!.expr.pos, 'ORDER BY');
  const orderBy = orderByOutputColumns(q.orderBy, node);
  for (const [i, o] of orderBy.entries()) {
    try {
      compileExpr(o.expr, ctxOf(env, node.fields));
    } catch (err) {
      if (!(err instanceof PlanProblem) || !err.problem.startsWith('unknown column')) throw err;
      // Kinesis Analytics sorts by keys the select list leaves out: computed as hidden output columns.
      const project = node.kind === 'project' ? node : null;
      const key = env.dialect === 'kinesis' && project ? hiddenOrderKey(project, o, i, (e) => compileSelectExpr(e, project.input, project.substitutions, env).type) : null;
      if (key === null) throw planProblem(o.expr.pos, `ORDER BY on a stream orders by the query's output columns, and ${renderOrder(o.expr)} is not one`, `Select ${renderOrder(o.expr)} too.`);
      node = key.node;
      orderBy[i] = key.item;
    }
  }
  const ctx = ctxOf(env, node.fields);
  requireTimeOrder(orderBy, ctx, 'ORDER BY on a stream');
  return { kind: 'topN', input: node, windowEnd: null, partitionBy: [], orderBy, limit: q.limit ?? Number.POSITIVE_INFINITY, numbered: false, fields: node.fields };
}

const NUMERIC = new Set(['BIGINT', 'DOUBLE']);

/**
 * `a UNION ALL b ...`: the rows of every branch, named as the first branch names them. Branches give the
 * same number of columns; a column's types must agree (NULL fits any, BIGINT and DOUBLE give DOUBLE).
 * The watermark of the union is the minimum of its inputs' (the runtime merges watermarks so).
 */
function planUnionAll(queries: readonly SelectQuery[], branches: readonly LogicalNode[], env: PlanEnv, what = 'UNION ALL'): LogicalNode {
  const visible = branches.map((b) => b.fields.filter((f) => !f.hidden));
  const first = visible[0]!;
  const types: SqlTypeName[] = first.map((f) => f.type);
  branches.forEach((b, i) => {
    rejectUpdates(b, env, queries[i]!.pos, what);
    if (i === 0) return;
    const cols = visible[i]!;
    if (cols.length !== first.length) {
      throw planProblem(queries[i]!.pos, `${what}: the first SELECT gives ${first.length} column(s), this one ${cols.length}`, 'Select the same number of columns in every branch, in the same order.');
    }
    cols.forEach((f, k) => {
      const t = types[k]!;
      if (f.type === t || f.type === 'NULL' || f.type === 'ANY') return;
      if (t === 'NULL' || t === 'ANY') types[k] = f.type;
      else if (NUMERIC.has(t) && NUMERIC.has(f.type)) types[k] = 'DOUBLE';
      else {
        throw planProblem(
          queries[i]!.pos,
          `${what}: column ${k + 1} (${first[k]!.name}) is ${t} in the first SELECT but ${f.type} in this one`,
          `CAST one to the other's type, e.g. CAST(${f.name} AS ${t}).`,
        );
      }
    });
  });
  const withRowtime = branches.every((b) => b.fields.some((f) => f.hidden && f.name === 'ROWTIME'));
  const fields: Field[] = first.map((f, k) => ({ name: f.name, type: types[k]!, qualifier: null, hidden: false }));
  if (withRowtime) fields.push(rowtimeField(null));
  const inputs = branches.map((b, i) => {
    // Branches are projections: their visible columns, then ROWTIME when they have it.
    const exact = b.fields.length === fields.length && b.fields.every((f, k) => f.type === fields[k]!.type && f.hidden === fields[k]!.hidden);
    if (exact) return b;
    const pos = queries[i]!.pos;
    // Columns are read by position (the branch's own names may repeat): `$k` stands for field k.
    const byPosition = new Map(b.fields.map((_, k) => [exprKey(col(`$${k}`, pos)), k]));
    const at = (name: string) => b.fields.findIndex((f) => f.hidden && f.name === name);
    const exprs: Expr[] = fields.map((f, k) => {
      const from = f.hidden ? at('ROWTIME') : b.fields.indexOf(visible[i]![k]!);
      const ref = col(`$${from}`, pos);
      return b.fields[from]!.type === f.type ? ref : { kind: 'cast', operand: ref, target: { name: f.type, text: f.type }, lenient: false, pos };
    });
    return { kind: 'project', input: b, exprs, substitutions: byPosition, fields } satisfies LogicalNode;
  });
  return { kind: 'unionAll', inputs, fields };
}

/** The rows of a plan of constant rows alone (VALUES, projected, filtered, united), computed now; null for any other plan. */
function constantRows(n: LogicalNode, env: PlanEnv): Value[][] | null {
  switch (n.kind) {
    case 'values':
      return n.rows.map((r) => [...r]);
    case 'project': {
      const rows = constantRows(n.input, env);
      if (rows === null) return null;
      const ctx = ctxOf(env, n.input.fields, n.substitutions);
      const fns = n.exprs.map((e) => compileExpr(e, ctx).fn);
      return rows.map((r) => fns.map((f) => f(r) as Value));
    }
    case 'filter': {
      const rows = constantRows(n.input, env);
      if (rows === null) return null;
      const pred = compilePredicate(n.condition, ctxOf(env, n.input.fields, n.substitutions));
      return rows.filter((r) => pred(r));
    }
    case 'unionAll': {
      if (n.intersect || n.except) return null;
      const parts = n.inputs.map((i) => constantRows(i, env));
      return parts.some((p) => p === null) ? null : parts.flatMap((p) => p!);
    }
    default:
      return null;
  }
}

function planSelectCore(query: SelectQuery, env: PlanEnv): LogicalNode {
  // Flink's GROUPING, GROUPING_ID and GROUP_ID in a GROUP BY without sets (Kinesis Analytics has none of them).
  let q = env.dialect === 'flink' && query.groupingSets === null && query.groupBy.length > 0 && callsGroupingFunctions(query) ? resolveGroupingFunctions(query) : query;
  if (!q.from) throw planProblem(q.pos, 'a query needs a FROM clause', 'Name the stream to read: SELECT ... FROM "SOURCE_SQL_STREAM_001".');
  if (q.groupingSets !== null) {
    const queries = expandGroupingSets(q);
    const branches = queries.map((b) => planSelectCore(b, env));
    if (branches.some((b) => isUpdating(b, env))) {
      throw planProblem(
        q.pos,
        'GROUPING SETS, ROLLUP and CUBE are supported over windows only: every set must be grouped by window_start and window_end',
        'Group by window_start, window_end, GROUPING SETS (...) over a TUMBLE, HOP or CUMULATE table function.',
      );
    }
    return planUnionAll(queries, branches, env);
  }
  let node = planFrom(q.from, { ...env, windows: q.windows });
  let where = q.where;
  if (where && someExpr(where, (e) => e.kind === 'subqueryPredicate')) ({ node, rest: where } = planSubqueryConditions(node, where, env));
  if (where) node = pushDownRowLimit(node, where, q.items);
  if (where) {
    if (someExpr(where, (e) => isAggregateCall(e))) throw planProblem(where.pos, 'aggregates are not allowed in WHERE', 'Filter groups with HAVING.');
    compileExpr(where, ctxOf(env, node.fields));
    node = { kind: 'filter', input: node, condition: where, substitutions: null, fields: node.fields };
  }
  // `*` means the columns FROM gives, not those OVER windows add.
  const fromWidth = node.fields.length;
  // SELECT DISTINCT * (also what UNION stands for) groups by every column: name them.
  if (q.distinct && q.items.some((i) => i.kind === 'star')) q = { ...q, items: q.items.flatMap((i) => (i.kind === 'star' ? starColumns(i, node.fields) : [i])) };
  const itemExprs = q.items.flatMap((i) => (i.kind === 'item' ? [i.expr] : []));
  const aggs: CallExpr[] = [];
  for (const e of [...itemExprs, ...(q.having ? [q.having] : [])]) collectCalls(e, (c) => isAggregateCall(c), aggs);
  const overs: CallExpr[] = [];
  for (const e of itemExprs) collectCalls(e, (c) => c.over !== null, overs);
  const grouped = aggs.length > 0 || q.groupBy.length > 0 || q.windowedBy !== null || q.distinct;

  let subs: Map<string, number> | null = null;
  if (grouped) {
    if (overs.length > 0) throw planProblem(overs[0]!.pos, 'OVER windows cannot be mixed with GROUP BY in one query', 'Aggregate in a subquery, then apply the OVER window outside.');
    if (q.items.some((i) => i.kind === 'star')) throw planProblem(q.pos, 'SELECT * cannot be used with GROUP BY', 'List the grouped columns and the aggregates.');
    let groupedByRowtime: boolean;
    ({ node, subs, groupedByRowtime } = planAggregate(q, node, aggs, itemExprs, env));
    if (groupedByRowtime) q = readGroupedRowtime(q);
    if (q.having) {
      compileSelectExpr(q.having, node, subs, env);
      node = { kind: 'filter', input: node, condition: q.having, substitutions: subs, fields: node.fields };
    }
  } else {
    if (q.having) throw planProblem(q.having.pos, 'HAVING needs GROUP BY or aggregates', 'Use WHERE to filter rows.');
    if (overs.length > 0) ({ node, subs } = planOver(q, node, overs, env));
  }
  return planProjection(q, node, subs, env, fromWidth);
}

function compileSelectExpr(e: Expr, node: LogicalNode, subs: ReadonlyMap<string, number> | null, env: PlanEnv) {
  try {
    return compileExpr(e, ctxOf(env, node.fields, subs));
  } catch (err) {
    if (subs && node.kind !== 'overAggregate' && node.kind !== 'topN' && err instanceof PlanProblem && err.problem.startsWith('unknown column')) {
      const name = /"(.*)"/.exec(err.problem)?.[1] ?? '?';
      throw planProblem(err.pos, `column "${name}" is neither in GROUP BY nor inside an aggregate`, `Add it to GROUP BY or aggregate it, e.g. MAX(${name}).`);
    }
    throw err;
  }
}

/** The columns `*` (or `t.*`) stands for, as select items. */
function starColumns(item: StarItem, fields: readonly Field[]): SelectItem[] {
  const wanted = fields.filter((f) => !f.hidden && (item.qualifier === null || f.qualifier?.toLowerCase() === item.qualifier.toLowerCase()));
  if (wanted.length === 0) throw planProblem(item.pos, `${item.qualifier ?? ''}.* matches no column`, 'Check the table name or alias.');
  return wanted.map((f) => ({ kind: 'item', expr: col(f.name, item.pos, f.qualifier), alias: f.name, pos: item.pos }));
}

function planProjection(q: SelectQuery, node: LogicalNode, subs: ReadonlyMap<string, number> | null, env: PlanEnv, fromWidth: number): LogicalNode {
  const exprs: Expr[] = [];
  const fields: Field[] = [];
  q.items.forEach((item, i) => {
    if (item.kind === 'star') {
      const wanted = node.fields
        .map((f, idx) => ({ f, idx }))
        .filter(({ f, idx }) => idx < fromWidth && !f.hidden && (item.qualifier === null || f.qualifier?.toLowerCase() === item.qualifier.toLowerCase()));
      if (wanted.length === 0) throw planProblem(item.pos, `${item.qualifier ?? ''}.* matches no column`, 'Check the table name or alias.');
      for (const { f } of wanted) {
        exprs.push(col(f.name, item.pos, f.qualifier));
        fields.push({ name: f.name, type: f.type, qualifier: null, hidden: false });
      }
      return;
    }
    const name = item.alias ?? (item.expr.kind === 'column' ? ownName(item.expr.name, node.fields) : `EXPR$${i}`);
    if (isRowFunctionCall(item.expr)) {
      // A log parser's row: one column per column of the row, named r.COLUMN1 ... under the item's name.
      const call = item.expr;
      prepareRowFunction(call).columns.forEach((column, k) => {
        const e = rowColumnExpr(call, k);
        const c = compileSelectExpr(e, node, subs, env);
        exprs.push(e);
        fields.push({ name: `${name}.${column.name}`, type: c.type, qualifier: null, hidden: false, rowOf: name });
      });
      return;
    }
    const c = compileSelectExpr(item.expr, node, subs, env);
    exprs.push(item.expr);
    fields.push({ name, type: c.type, qualifier: null, hidden: false });
  });
  if (node.fields.some((f) => f.hidden && f.name === 'ROWTIME')) {
    exprs.push(col('ROWTIME', q.pos));
    fields.push(rowtimeField(null));
  }
  return { kind: 'project', input: node, exprs, substitutions: subs, fields };
}

/** If `node` is a window TVF (perhaps under a WHERE), the TVF and a way to rebuild the node without it. */
function peelWindowAssign(node: LogicalNode): { assign: WindowAssignNode; without: () => LogicalNode } | null {
  if (node.kind === 'windowAssign') return { assign: node, without: () => node.input };
  if (node.kind === 'filter' && node.input.kind === 'windowAssign') {
    const assign = node.input;
    return {
      assign,
      without: () => {
        if (someExpr(node.condition, (e) => e.kind === 'column' && /^window_(start|end|time)$/i.test(e.name))) {
          throw planProblem(node.condition.pos, 'WHERE on window_start/window_end before the aggregation is not supported', 'Filter on the window columns with HAVING.');
        }
        return { ...node, input: assign.input, fields: assign.input.fields };
      },
    };
  }
  return null;
}

function planAggregate(q: SelectQuery, input: LogicalNode, aggs: CallExpr[], itemExprs: Expr[], env: PlanEnv): { node: LogicalNode; subs: Map<string, number>; groupedByRowtime: boolean } {
  rejectUpdates(input, env, q.pos, 'this aggregation');
  let keys: Expr[] = [...q.groupBy];
  if (q.distinct && aggs.length === 0 && keys.length === 0) keys = itemExprs;
  if (q.windowedBy) keys = [...q.windowedBy.partitionBy, ...keys];
  let window: WindowSpec | null = null;
  let windowKeyExprs: Expr[] = [];
  // GROUP BY ROWTIME itself (Kinesis Analytics): the select list reads the key as window_start.
  let groupedByRowtime = false;
  const isWindowCol = (e: Expr, name: string) => e.kind === 'column' && e.name.toLowerCase() === name;

  const peeled = peelWindowAssign(input);
  let aggInputFields: readonly Field[] | undefined;
  if (peeled && keys.some((k) => isWindowCol(k, 'window_start')) && keys.some((k) => isWindowCol(k, 'window_end'))) {
    window = peeled.assign.window;
    input = peeled.without();
    const readsWindow = aggs.find((a) => someExpr(a, (e) => e.kind === 'column' && /^window_(start|end|time)$/i.test(e.name)));
    if (readsWindow && !input.fields.some((f) => /^window_(start|end|time)$/i.test(f.name))) {
      if (window.type === 'SESSION') {
        throw planProblem(
          readsWindow.pos,
          'window_start, window_end and window_time cannot be read inside an aggregate of a SESSION window: a session is not known until it closes',
          'Select window_start and window_end outside the aggregate, or aggregate over TUMBLE, HOP or CUMULATE.',
        );
      }
      aggInputFields = peeled.assign.fields;
    }
    if (window.type === 'SESSION' && window.partitionBy && window.partitionBy.length > 0) {
      // Sessions are kept per GROUP BY key here, which is the PARTITION BY key only when both name the same columns.
      const parts = new Set(window.partitionBy.map((p) => p.toLowerCase()));
      const groupCols = keys.filter((k) => !isWindowCol(k, 'window_start') && !isWindowCol(k, 'window_end') && !isWindowCol(k, 'window_time'));
      const same = groupCols.length === parts.size && groupCols.every((k) => k.kind === 'column' && parts.has(k.name.toLowerCase()));
      if (!same) {
        throw planProblem(q.pos, `a SESSION window partitioned by ${window.partitionBy.join(', ')} must be grouped by exactly those columns (and window_start, window_end)`, `GROUP BY window_start, window_end, ${window.partitionBy.join(', ')}.`);
      }
    }
    // window_time (= window_end - 1 ms) names nothing window_end does not: grouping by it too, as Flink's
    // cascading windows do to carry a time on, adds no group.
    keys = keys.filter((k) => !isWindowCol(k, 'window_start') && !isWindowCol(k, 'window_end') && !isWindowCol(k, 'window_time'));
  } else if (q.windowedBy) {
    window = { type: 'STAGGER', range: q.windowedBy.range.millis, time: col('ROWTIME', q.windowedBy.pos) };
  } else {
    const candidates = keys.filter(
      (k) => k.kind === 'step' || (k.kind === 'floorCeil' && k.fn === 'FLOOR' && k.unit !== null && fixedUnitMs(k.unit) !== undefined),
    );
    const ofRowtime = (k: Expr) => (k.kind === 'step' || k.kind === 'floorCeil') && isRowtimeColumn(k.operand);
    const chosen = candidates.find(ofRowtime) ?? candidates[0];
    if (chosen && (chosen.kind === 'step' || chosen.kind === 'floorCeil')) {
      const size = chosen.kind === 'step' ? chosen.interval.millis : fixedUnitMs(chosen.unit!)!;
      window = { type: 'TUMBLE', size, time: chosen.operand };
      windowKeyExprs = [chosen];
      keys = keys.filter((k) => k !== chosen);
    } else if (env.dialect === 'kinesis') {
      const rowtime = keys.find(isRowtimeColumn);
      if (rowtime) {
        window = { type: 'TUMBLE', size: ROWTIME_GROUP_MILLIS, time: rowtime };
        keys = keys.filter((k) => k !== rowtime);
        groupedByRowtime = true;
      }
    }
  }

  const inCtx = ctxOf(env, input.fields);
  if (window) {
    const t = compileExpr(window.time, inCtx);
    if (t.type !== 'TIMESTAMP' && t.type !== 'ANY') throw planProblem(window.time.pos, `the window time is ${t.type}, not a TIMESTAMP`, 'Window over ROWTIME or a TIMESTAMP column.');
  }
  const fields: Field[] = [];
  keys.forEach((k, i) => {
    if (someExpr(k, (e) => isAggregateCall(e))) throw planProblem(k.pos, 'GROUP BY cannot contain an aggregate', '');
    const c = compileExpr(k, inCtx);
    fields.push({ name: k.kind === 'column' ? k.name : `EXPR$k${i}`, type: c.type, qualifier: null, hidden: false });
  });
  const aggCtx = aggInputFields ? ctxOf(env, aggInputFields) : inCtx;
  aggs.forEach((a, i) => {
    const c = compileAggregate(a, aggCtx, '');
    fields.push({ name: `EXPR$a${i}`, type: c.type, qualifier: null, hidden: false });
  });
  const subs = new Map<string, number>();
  keys.forEach((k, i) => subs.set(exprKey(k), i));
  aggs.forEach((a, i) => subs.set(exprKey(a), keys.length + i));
  const at = fields.length;
  if (window) {
    for (const name of ['window_start', 'window_end', 'window_time']) fields.push({ name, type: 'TIMESTAMP', qualifier: null, hidden: false });
    subs.set(exprKey(col('window_start', q.pos)), at);
    subs.set(exprKey(col('window_end', q.pos)), at + 1);
    subs.set(exprKey(col('window_time', q.pos)), at + 2);
    for (const k of windowKeyExprs) subs.set(exprKey(k), at);
  }
  fields.push(rowtimeField(null));
  subs.set(exprKey(col('ROWTIME', q.pos)), fields.length - 1);
  // With no window, a key declared MONOTONIC(e) closes its groups when e changes (Kinesis Analytics).
  const monotonicKey = window ? -1 : keys.findIndex((k) => k.kind === 'call' && k.name === 'MONOTONIC');
  const node: AggregateNode = {
    kind: 'aggregate',
    input,
    keys,
    aggs,
    window,
    ...(monotonicKey >= 0 ? { monotonicKey } : {}),
    rowtime: col('ROWTIME', q.pos),
    fields,
    ...(aggInputFields ? { aggInputFields } : {}),
  };
  return { node, subs, groupedByRowtime };
}

function planOver(q: SelectQuery, input: LogicalNode, overs: CallExpr[], env: PlanEnv): { node: LogicalNode; subs: Map<string, number> } {
  const specOf = (c: CallExpr): OverClause => {
    const o = c.over!;
    if (o.windowName === null) return o;
    const w = q.windows.find((x) => x.name.toLowerCase() === o.windowName!.toLowerCase());
    if (!w) throw planProblem(o.pos, `window ${o.windowName} is not defined`, `Add WINDOW ${o.windowName} AS (PARTITION BY ... RANGE INTERVAL '1' MINUTE PRECEDING).`);
    return w.spec;
  };
  const subs = new Map<string, number>();
  let node = input;
  rejectUpdates(input, env, overs[0]!.pos, `${overs[0]!.name} OVER (...)`);
  const ranking = overs.filter((c) => c.name === 'ROW_NUMBER' || c.name === 'RANK' || c.name === 'DENSE_RANK');
  const aggregates = overs.filter((c) => !ranking.includes(c));
  if (aggregates.length > 0) {
    const groups = new Map<string, { partitionBy: readonly Expr[]; range: number; rows: number | null; aggs: CallExpr[]; lags: CallExpr[] }>();
    let order: { expr: Expr; key: string } | null = null;
    for (const c of aggregates) {
      const isLag = c.name === 'LAG';
      if (c.name === 'LEAD') {
        throw planProblem(
          c.pos,
          'LEAD OVER (...) is not supported on a stream: it needs rows that have not arrived yet',
          'Compare a row with the one before it instead: LAG(x) OVER (PARTITION BY k ORDER BY ts).',
        );
      }
      if (!isLag && c.name !== 'EXP_AVG' && !isAggregateCall({ ...c, over: null })) {
        const known = ['NTILE', 'PERCENT_RANK', 'CUME_DIST'].includes(c.name);
        const hint = UNSUPPORTED_FUNCTIONS[c.name] ?? 'Use COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE, NTH_VALUE, VAR_POP, VAR_SAMP, STDDEV_POP, STDDEV_SAMP or LAG over a window.';
        throw planProblem(c.pos, known ? `${c.name} OVER (...) is not supported yet` : `${c.name} cannot be used with OVER`, hint);
      }
      const spec = specOf(c);
      // LAG looks a number of rows back, so it needs no frame: without one it reaches the whole partition.
      if (!isLag && spec.rangeMillis === null && spec.rowsPreceding === null) {
        throw planProblem(spec.pos, 'a sliding window needs a time range or a number of rows', "Add RANGE INTERVAL '1' MINUTE PRECEDING, or ROWS 10 PRECEDING.");
      }
      const thisOrder = overOrder(spec, q.pos);
      if (order !== null && order.key !== thisOrder.key) {
        throw planProblem(spec.pos, 'the OVER windows of one query order rows by different columns', `Order every window by ${renderOrder(order.expr)}, or compute the others in another query.`);
      }
      order = thisOrder;
      const key = JSON.stringify([spec.partitionBy.map(exprKey), spec.rangeMillis ?? 'unbounded', spec.rowsPreceding]);
      let g = groups.get(key);
      if (!g) {
        g = { partitionBy: spec.partitionBy, range: spec.rangeMillis ?? Number.POSITIVE_INFINITY, rows: spec.rowsPreceding, aggs: [], lags: [] };
        groups.set(key, g);
      }
      (isLag ? g.lags : g.aggs).push(c);
    }
    const ctx = ctxOf(env, node.fields);
    const fields = [...node.fields];
    const windows = [...groups.values()];
    for (const w of windows) {
      for (const p of w.partitionBy) compileExpr(p, ctx);
      for (const a of w.aggs) {
        const c = compileAggregate({ ...a, over: null }, ctx, '');
        subs.set(exprKey(a), fields.length);
        fields.push({ name: `EXPR$o${fields.length}`, type: c.type, qualifier: null, hidden: false });
      }
      for (const a of w.lags) {
        const c = compileLag(a, ctx, '');
        subs.set(exprKey(a), fields.length);
        fields.push({ name: `EXPR$o${fields.length}`, type: c.type, qualifier: null, hidden: false });
      }
    }
    const time = order!.expr;
    const t = compileExpr(time, ctx);
    if (t.type !== 'TIMESTAMP' && t.type !== 'ANY') {
      throw planProblem(time.pos, `an OVER window orders rows by time, and this is ${t.type}`, 'ORDER BY the TIMESTAMP column the WATERMARK is declared for (or ROWTIME).');
    }
    node = { kind: 'overAggregate', input: node, time, orderedByEventTime: !isRowtimeColumn(time), windows, fields };
  }
  if (ranking.length > 1) throw planProblem(ranking[1]!.pos, 'only one ROW_NUMBER per query', '');
  const rn = ranking[0];
  if (rn) {
    if (rn.name !== 'ROW_NUMBER') {
      throw planProblem(
        rn.pos,
        `${rn.name}() is not supported on a stream: Top-N and window Top-N rank with ROW_NUMBER only, as Flink's streaming mode does (it refuses ${rn.name}() on streaming tables)`,
        'Use ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...), and WHERE rownum <= N around it.',
      );
    }
    const spec = specOf(rn);
    const windowEnd = spec.partitionBy.find((e) => e.kind === 'column' && e.name.toLowerCase() === 'window_end') ?? null;
    if (spec.orderBy.length === 0) throw planProblem(spec.pos, 'ROW_NUMBER needs ORDER BY', 'Say what ranks first: ORDER BY total DESC.');
    const ctx = ctxOf(env, node.fields);
    for (const e of [...spec.partitionBy, ...spec.orderBy.map((o) => o.expr)]) compileExpr(e, ctx);
    // Flink ranks by any order outside windows, as an updating result; an ascending time stays append-only.
    const updating = !windowEnd && env.dialect === 'flink' && !isAscendingTime(spec.orderBy, ctx);
    if (!windowEnd && !updating) requireTimeOrder(spec.orderBy, ctx, 'ROW_NUMBER outside a window');
    subs.set(exprKey(rn), node.fields.length);
    node = {
      kind: 'topN',
      input: node,
      windowEnd,
      partitionBy: spec.partitionBy,
      orderBy: spec.orderBy,
      limit: Number.POSITIVE_INFINITY,
      numbered: true,
      ...(updating ? { updating: { enteringOnly: false } } : {}),
      fields: [...node.fields, { name: 'EXPR$rn', type: 'BIGINT', qualifier: null, hidden: false }],
    };
  }
  return { node, subs };
}

/**
 * Neither dialect gives EXCEPT of two streams an append-only meaning: Flink's takes a row back when the right
 * side brings it later, and the Kinesis Analytics reference applies UNION ALL alone to streams. What works is
 * the same filter bounded in time, an anti-join, so the error spells it out in the query's own dialect.
 */
function exceptOverStream(pos: SourcePos, dialect: QueryDialect): PlanProblem {
  const t = dialect === 'kinesis' ? 'ROWTIME' : 'ts';
  const bounded = `WHERE NOT EXISTS (SELECT * FROM r WHERE r.k = s.k AND r.${t} BETWEEN s.${t} - INTERVAL '1' MINUTE AND s.${t} + INTERVAL '1' MINUTE)`;
  return planProblem(
    pos,
    `EXCEPT over a stream on its right side is not supported: a row could only leave once that stream can never bring it${dialect === 'kinesis' ? ' (the Kinesis Analytics reference applies only UNION ALL to two streams)' : ''}`,
    `Keep the rows of s that r does not bring within a time bound: ${bounded}${dialect === 'kinesis' ? '' : ' (ts the WATERMARK column)'}; or put constant rows (VALUES) on the right of EXCEPT, or filter with NOT EXISTS over a reference table.`,
  );
}

/** The first ORDER BY item is a time, ascending: rows can be numbered as the watermark passes them. */
function isAscendingTime(orderBy: readonly OrderItem[], ctx: CompileContext): boolean {
  const first = orderBy[0]!;
  const t = compileExpr(first.expr, ctx);
  return !first.descending && (t.type === 'TIMESTAMP' || t.type === 'ANY');
}

/**
 * A query's ORDER BY, and in Kinesis Analytics ROW_NUMBER outside a window, sort rows in the order they
 * become final: ascending by a time the watermark follows (checked when the operator is built). A
 * descending order, or another first column, would rank a row first and take it back when a better one
 * comes (Flink's Top-N outside windows does that, as an updating result).
 */
function requireTimeOrder(orderBy: readonly OrderItem[], ctx: CompileContext, what: string): void {
  const first = orderBy[0]!;
  const t = compileExpr(first.expr, ctx);
  if (!isAscendingTime(orderBy, ctx)) {
    const kinesis = ctx.dialect === 'kinesis';
    throw planProblem(
      first.expr.pos,
      `${what} must order by ${kinesis ? 'ROWTIME or a monotonic function of it' : 'a time attribute'} ascending first: rows are final in that order only (${first.descending ? 'DESC would keep the last row, an update of rows already sent' : `${renderOrder(first.expr)} is ${t.type}`})`,
      kinesis
        ? 'ORDER BY ROWTIME (or FLOOR(ROWTIME TO SECOND), STEP(ROWTIME BY INTERVAL ...)) ascending, then the other keys: the rows of each value of the first key leave sorted by the rest.'
        : 'ORDER BY the event-time column (the WATERMARK column) ascending; for the top rows by another column, rank them: ROW_NUMBER() OVER (ORDER BY x DESC) AS rownum in a subquery, WHERE rownum <= N around it (an updating result), or per window (PARTITION BY window_start, window_end).',
    );
  }
}

function renderOrder(e: Expr): string {
  return e.kind === 'column' ? (e.qualifier ? `${e.qualifier}.${e.name}` : e.name) : 'one column';
}

/** The time an OVER window orders rows by: its one ascending ORDER BY, or ROWTIME (arrival order) without one. */
function overOrder(spec: OverClause, pos: SourcePos): { expr: Expr; key: string } {
  if (spec.orderBy.length === 0) return { expr: col('ROWTIME', pos), key: exprKey(col('ROWTIME', pos)) };
  if (spec.orderBy.length > 1) {
    throw planProblem(spec.orderBy[1]!.expr.pos, 'an OVER window with a RANGE orders rows by one time column', 'ORDER BY the event-time column alone, e.g. ORDER BY order_time.');
  }
  const o = spec.orderBy[0]!;
  if (o.descending) {
    throw planProblem(o.expr.pos, 'an OVER window on a stream looks back in time, so it cannot ORDER BY ... DESC', 'ORDER BY the event-time column ascending.');
  }
  return { expr: o.expr, key: exprKey(o.expr) };
}

/**
 * `WHERE rn <= N` (or `rn < N`, `rn = N`, `rn BETWEEN M AND N`) over a query that numbers rows with
 * ROW_NUMBER: the top-N operator need not keep more than N rows per partition. The filter stays (it is what
 * removes the rest). An updating Top-N whose number the select list leaves out sends only the rows entering
 * the top N (Flink's "no ranking number" form).
 */
function pushDownRowLimit(node: LogicalNode, where: Expr, items: readonly (SelectItem | StarItem)[]): LogicalNode {
  if (node.kind !== 'project' || node.input.kind !== 'topN') return node;
  const conjuncts = (e: Expr): Expr[] => (e.kind === 'binary' && e.op === 'AND' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e]);
  let limit = Number.POSITIVE_INFINITY;
  let rankName: string | null = null;
  // The highest number a conjunct lets through: rn <= N, rn < N, rn = N, rn BETWEEN M AND N. Keeping the best
  // N rows numbers every row up to N right, so the rest of the condition can pick any of them.
  const upperBound = (c: Expr): { column: Expr; max: number } | null => {
    if (c.kind === 'between' && !c.negated && c.high.kind === 'literal' && typeof c.high.value === 'number') return { column: c.operand, max: c.high.value };
    if (c.kind !== 'binary' || (c.op !== '<=' && c.op !== '<' && c.op !== '=') || c.right.kind !== 'literal' || typeof c.right.value !== 'number') return null;
    return { column: c.left, max: c.op === '<' ? c.right.value - 1 : c.right.value };
  };
  for (const c of conjuncts(where)) {
    const bound = upperBound(c);
    if (bound === null || bound.column.kind !== 'column') continue;
    const name = bound.column.name.toLowerCase();
    const i = node.fields.findIndex((f) => !f.hidden && f.name.toLowerCase() === name);
    const e = node.exprs[i];
    if (i < 0 || !e || e.kind !== 'call' || e.name !== 'ROW_NUMBER') continue;
    limit = Math.min(limit, bound.max);
    rankName = name;
  }
  if (limit === Number.POSITIVE_INFINITY) return node;
  const topN = node.input;
  const reads = (e: Expr, name: string): boolean => someExpr(e, (x) => x.kind === 'column' && x.name.toLowerCase() === name);
  const selectsRank = (name: string): boolean => items.some((it) => it.kind === 'star' || reads(it.expr, name));
  // Sending only the entering row is right when every place from 1 is kept: a row moved into a place the
  // filter starts at (rn = 2, rn >= 2) must be sent too.
  const fromFirst = (name: string): boolean =>
    conjuncts(where).every((c) => {
      if (!reads(c, name)) return true;
      if (c.kind === 'between') return c.low.kind === 'literal' && typeof c.low.value === 'number' && c.low.value <= 1;
      return c.kind === 'binary' && (c.op !== '=' || (c.right.kind === 'literal' && c.right.value === 1)) && upperBound(c) !== null;
    });
  const updating = topN.updating && rankName !== null ? { enteringOnly: !selectsRank(rankName) && fromFirst(rankName) } : topN.updating;
  return { ...node, input: { ...topN, limit: Math.max(0, Math.floor(limit)), ...(updating ? { updating } : {}) } };
}

/**
 * `x IN (SELECT k FROM r ...)`, `EXISTS (SELECT ... FROM r WHERE r.k = s.k ...)` and `NOT EXISTS` as
 * conditions of WHERE: a semi- or anti-join with a reference table or VALUES (a lookup per row), or with a
 * stream bounded in time like a window join (an interval join that sends left rows only).
 */
import type { Expr, SubqueryPredicateExpr } from '../../ast/index.ts';
import { childrenOf, mapChildren } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { compileExpr, compilePredicate } from '../../expr/compile.ts';
import type { Field } from '../../expr/scope.ts';
import { Scope } from '../../expr/scope.ts';
import type { Value } from '../../expr/types.ts';
import type { LogicalNode, RefTableDef } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { ctxOf, planFrom, planValues, rejectUpdates } from './plan-query.ts';
import { conjuncts, planStreamJoin } from './plan-join.ts';

const and = (a: Expr, b: Expr): Expr => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: a.pos });

/** Takes the subquery conditions out of a WHERE, each as a join on `input`; returns the rest of the WHERE. */
export function planSubqueryConditions(input: LogicalNode, where: Expr, env: PlanEnv): { node: LogicalNode; rest: Expr | null } {
  const rest: Expr[] = [];
  let node = input;
  for (const c of conjuncts(where)) {
    const under = c.kind === 'unary' && c.op === 'NOT' && c.operand.kind === 'subqueryPredicate' ? c.operand : null;
    const p = c.kind === 'subqueryPredicate' ? c : under;
    if (!p) {
      rest.push(c);
      continue;
    }
    node = planSemiJoin(node, p, p.negated !== (under !== null), env);
  }
  return { node, rest: rest.length === 0 ? null : rest.reduce(and) };
}

function planSemiJoin(input: LogicalNode, p: SubqueryPredicateExpr, anti: boolean, env: PlanEnv): LogicalNode {
  const what = p.mode === 'in' ? 'IN (SELECT ...)' : 'EXISTS (SELECT ...)';
  if (p.mode === 'in' && anti) {
    throw planProblem(p.pos, 'NOT IN (SELECT ...) is not supported yet (a NULL in the subquery makes it drop every row)', 'Write NOT EXISTS (SELECT 1 FROM r WHERE r.k = s.k).');
  }
  const q = p.query;
  if (!q.from || q.unionAll.length > 0 || q.intersect !== undefined || q.ctes.length > 0 || q.groupBy.length > 0 || q.having || q.windowedBy || q.from.kind === 'join') {
    throw planProblem(q.pos, `the subquery of ${what} must read one reference table or VALUES, with an optional WHERE`, `Write ${p.mode === 'in' ? 'x IN (SELECT k FROM r WHERE ...)' : 'EXISTS (SELECT 1 FROM r WHERE r.k = s.k AND ...)'}.`);
  }
  let table: RefTableDef;
  let tableFields: Field[];
  let constantRows: (readonly Value[])[] | null = null;
  if (q.from.kind === 'tableRef' && env.catalog.isRefTable(q.from.name)) {
    table = env.catalog.refTable(q.from.name);
    const qualifier = q.from.alias ?? q.from.name;
    tableFields = table.columns.map((c) => ({ name: c.name, type: c.type, qualifier, hidden: false }));
  } else if (q.from.kind === 'values') {
    const values = planValues(q.from, env);
    tableFields = values.fields.filter((f) => !f.hidden);
    const width = tableFields.length;
    constantRows = values.rows.map((r) => r.slice(0, width));
    const name = q.from.alias ?? 'VALUES';
    table = { name, path: null, stream: null, format: 'json', columns: tableFields.map((f) => ({ name: f.name, type: f.type })), key: [], changelog: false, refreshMs: null };
  } else if (q.from.kind === 'subquery' || q.from.kind === 'windowTvf' || (q.from.kind === 'tableRef' && !q.from.asOf)) {
    return planStreamSemiJoin(input, p, anti, env);
  } else {
    const name = q.from.kind === 'tableRef' ? q.from.name : 'a subquery';
    throw planProblem(
      q.from.pos,
      `${what} reads ${name}, which is not a reference table or VALUES: a subquery over a stream is not supported`,
      'Join the stream instead (an interval join: a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL ... AND a.ts), or read a reference table in the subquery.',
    );
  }
  const inner = new Scope(tableFields);
  // A column the subquery's table has is the table's (the inner scope comes first); any other is the outer row's.
  const isInner = (e: Expr): boolean | null => {
    let side: boolean | null = null;
    let mixed = false;
    const visit = (x: Expr) => {
      if (x.kind === 'column') {
        let s: boolean;
        try {
          inner.resolve(x.qualifier, x.name, x.pos);
          s = true;
        } catch {
          s = false;
        }
        if (side !== null && side !== s) mixed = true;
        side = s;
      }
      for (const c of childrenOf(x)) visit(c);
    };
    visit(e);
    return mixed ? null : side;
  };
  const streamKeys: Expr[] = [];
  const tableKeys: Expr[] = [];
  const rest: Expr[] = [];
  if (p.mode === 'in') {
    const item = q.items[0]!;
    if (q.items.length !== 1 || item.kind !== 'item') throw planProblem(q.pos, 'the subquery of IN (SELECT ...) must select exactly one column', 'Write x IN (SELECT k FROM r).');
    streamKeys.push(p.operand!);
    tableKeys.push(item.expr);
  }
  for (const c of q.where ? conjuncts(q.where) : []) {
    if (c.kind === 'binary' && c.op === '=') {
      const l = isInner(c.left);
      const r = isInner(c.right);
      if (l === false && r === true) {
        streamKeys.push(c.left);
        tableKeys.push(c.right);
        continue;
      }
      if (l === true && r === false) {
        streamKeys.push(c.right);
        tableKeys.push(c.left);
        continue;
      }
    }
    rest.push(c);
  }
  if (streamKeys.length === 0) {
    throw planProblem(p.pos, `${what} needs an equality between the outer row and the subquery's table`, 'Correlate it on a key: EXISTS (SELECT 1 FROM r WHERE r.k = s.k).');
  }
  streamKeys.forEach((k, i) => {
    const s = compileExpr(k, ctxOf(env, input.fields));
    const t = compileExpr(tableKeys[i]!, ctxOf(env, tableFields));
    const numeric = (x: string) => x === 'BIGINT' || x === 'DOUBLE';
    if (s.type !== t.type && s.type !== 'NULL' && t.type !== 'NULL' && !(numeric(s.type) && numeric(t.type))) {
      throw planProblem(k.pos, `${what} compares ${s.type} with ${t.type}`, 'CAST one side to the type of the other.');
    }
  });
  const fields = [...input.fields, ...tableFields];
  const condition = rest.length === 0 ? null : rest.reduce(and);
  if (condition) compilePredicate(condition, ctxOf(env, fields));
  return { kind: 'lookupJoin', input, table, tableFields, streamKeys, tableKeys, condition, joinType: anti ? 'ANTI' : 'SEMI', constantRows, fields: input.fields };
}

/**
 * `IN`, `EXISTS`, `NOT EXISTS` over a stream (Flink's window semi- and anti-joins): an interval join of the
 * outer rows with the subquery's, bounded by an equality of two times between them (window_end's first, as
 * in `L.window_end = R.window_end`) or a BETWEEN, emitting each outer row once at its first match (IN,
 * EXISTS) or, when no match can come any more, the outer rows that matched nothing (NOT EXISTS).
 */
function planStreamSemiJoin(input: LogicalNode, p: SubqueryPredicateExpr, anti: boolean, env: PlanEnv): LogicalNode {
  const q = p.query;
  const what = p.mode === 'in' ? 'IN (SELECT ...)' : 'EXISTS (SELECT ...)';
  const right = planFrom(q.from!, env);
  rejectUpdates(right, env, q.pos, what);
  rejectUpdates(input, env, p.pos, what);
  const inner = new Scope(right.fields);
  const isInner = (e: Expr): boolean => {
    let found = false;
    const visit = (x: Expr) => {
      if (x.kind === 'column') {
        try {
          inner.resolve(x.qualifier, x.name, x.pos);
          found = true;
        } catch {
          // the outer row's
        }
      }
      for (const c of childrenOf(x)) visit(c);
    };
    visit(e);
    return found;
  };
  // Inside the subquery a name its rows have is theirs: qualify it so the join does not take the outer row's.
  const outer = new Scope(input.fields);
  const qualifyInner = (e: Expr): Expr => {
    if (e.kind !== 'column') return mapChildren(e, qualifyInner);
    if (e.qualifier !== null) return e;
    let at: number;
    try {
      at = inner.resolve(null, e.name, e.pos);
    } catch {
      return e;
    }
    const qualifier = right.fields[at]!.qualifier;
    if (qualifier === null) {
      let alsoOuter = true;
      try {
        outer.resolve(null, e.name, e.pos);
      } catch {
        alsoOuter = false;
      }
      if (alsoOuter) throw planProblem(e.pos, `${e.name} is a column of both the outer row and the subquery`, 'Give the subquery an alias and qualify the name: FROM (...) R ... R.' + e.name + '.');
      return e;
    }
    return { ...e, qualifier };
  };
  const on: Expr[] = [...(q.where ? conjuncts(q.where) : [])].map(qualifyInner);
  // The subquery's own conditions filter its rows before the join; the others are the join's.
  const own = on.filter((c) => isInner(c) && !someColumnOutside(c, inner));
  const joinOn = on.filter((c) => !own.includes(c));
  if (p.mode === 'in') {
    const item = q.items[0]!;
    if (q.items.length !== 1 || item.kind !== 'item') throw planProblem(q.pos, 'the subquery of IN (SELECT ...) must select exactly one column', 'Write x IN (SELECT k FROM r).');
    joinOn.push({ kind: 'binary', op: '=', left: p.operand!, right: qualifyInner(item.expr), pos: p.pos });
  }
  let filtered = right;
  if (own.length > 0) {
    const condition = own.reduce(and);
    compilePredicate(condition, ctxOf(env, right.fields));
    filtered = { kind: 'filter', input: right, condition, substitutions: null, fields: right.fields };
  }
  if (joinOn.length === 0) {
    throw planProblem(p.pos, `${what} over a stream needs conditions between the outer row and the subquery's rows`, 'Correlate it on a key and the window: WHERE L.k = R.k AND L.window_start = R.window_start AND L.window_end = R.window_end.');
  }
  const join = planStreamJoin(input, filtered, joinOn.reduce(and), 'INNER', env);
  return { ...join, joinType: anti ? 'ANTI' : 'SEMI', fields: input.fields };
}

/** True when `e` reads a column that `inner` does not have (a column of the outer row). */
function someColumnOutside(e: Expr, inner: Scope): boolean {
  if (e.kind === 'column') {
    try {
      inner.resolve(e.qualifier, e.name, e.pos);
      return false;
    } catch {
      return true;
    }
  }
  return childrenOf(e).some((c) => someColumnOutside(c, inner));
}

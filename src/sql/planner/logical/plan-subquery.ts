/**
 * `x IN (SELECT k FROM r ...)`, `EXISTS (SELECT ... FROM r WHERE r.k = s.k ...)` and `NOT EXISTS` as
 * conditions of WHERE: a semi- or anti-join with a reference table or VALUES (a lookup per row). A
 * subquery reading a stream is refused: its answer would depend on rows still to come.
 */
import type { Expr, SubqueryPredicateExpr } from '../../ast/index.ts';
import { childrenOf } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { compileExpr, compilePredicate } from '../../expr/compile.ts';
import type { Field } from '../../expr/scope.ts';
import { Scope } from '../../expr/scope.ts';
import type { Value } from '../../expr/types.ts';
import type { LogicalNode, RefTableDef } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { ctxOf, planValues } from './plan-query.ts';
import { conjuncts } from './plan-join.ts';

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
  if (!q.from || q.unionAll.length > 0 || q.ctes.length > 0 || q.groupBy.length > 0 || q.having || q.windowedBy || q.from.kind === 'join' || q.from.kind === 'windowTvf') {
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

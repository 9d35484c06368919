/**
 * Joins: a stream with a reference table (lookup join on equality keys), or two streams bounded in time
 * (interval join: equality keys plus `b.ts BETWEEN a.ts - X AND a.ts + Y`).
 */
import type { Expr, JoinFrom, TableRef } from '../../ast/index.ts';
import { childrenOf } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { compileExpr, compilePredicate } from '../../expr/compile.ts';
import type { Field } from '../../expr/scope.ts';
import { Scope } from '../../expr/scope.ts';
import type { IntervalJoinNode, LogicalNode } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { hasJoinWindow, planOverJoin } from './plan-over-join.ts';
import { ctxOf, planFrom, rejectUpdates } from './plan-query.ts';

export function conjuncts(e: Expr): Expr[] {
  return e.kind === 'binary' && e.op === 'AND' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

type Side = 'left' | 'right' | 'both' | 'none';

/** right.time within [left.time - lower, left.time + upper]. */
interface TimeBounds {
  readonly leftTime: Expr;
  readonly rightTime: Expr;
  readonly lower: number;
  readonly upper: number;
}

/** Which input an expression reads: a column resolvable on the left is the left's, any other the right's. */
function sideOf(e: Expr, left: Scope): Side {
  let side: Side = 'none';
  const visit = (x: Expr) => {
    if (x.kind === 'column') {
      let s: Side;
      try {
        left.resolve(x.qualifier, x.name, x.pos);
        s = 'left';
      } catch {
        s = 'right';
      }
      side = side === 'none' || side === s ? s : 'both';
    }
    for (const c of childrenOf(x)) visit(c);
  };
  visit(e);
  return side;
}

/** `col`, `col + INTERVAL`, `col - INTERVAL` -> the column and the offset in ms. */
function timeBound(e: Expr): { column: Expr; offset: number } | null {
  if (e.kind === 'column') return { column: e, offset: 0 };
  if (e.kind === 'binary' && (e.op === '+' || e.op === '-') && e.left.kind === 'column' && e.right.kind === 'interval') {
    return { column: e.left, offset: e.op === '+' ? e.right.millis : -e.right.millis };
  }
  return null;
}

export function planJoin(item: JoinFrom, env: PlanEnv): LogicalNode {
  if (hasJoinWindow(item.left) || hasJoinWindow(item.right)) return planOverJoin(item, env);
  const left = planFrom(item.left, env);
  const leftScope = new Scope(left.fields);
  if (item.right.kind === 'tableRef' && item.right.asOf) return planTemporalJoin(item, item.right, item.right.asOf, left, env);
  if (item.right.kind === 'tableRef' && env.catalog.isRefTable(item.right.name)) {
    const table = env.catalog.refTable(item.right.name);
    if (item.joinType === 'RIGHT' || item.joinType === 'FULL') {
      throw planProblem(
        item.pos,
        `${item.joinType} JOIN of a stream with reference table ${table.name} is not supported: a table row can wait forever for a stream row to match`,
        `Keep every stream row with s LEFT JOIN ${table.name}, or join two streams.`,
      );
    }
    const joinType = item.joinType;
    const qualifier = item.right.alias ?? item.right.name;
    const tableFields: Field[] = table.columns.map((c) => ({ name: c.name, type: c.type, qualifier, hidden: false }));
    const fields = [...left.fields, ...tableFields];
    const streamKeys: Expr[] = [];
    const tableKeys: Expr[] = [];
    const rest: Expr[] = [];
    for (const c of conjuncts(item.on)) {
      if (c.kind === 'binary' && c.op === '=') {
        const l = sideOf(c.left, leftScope);
        const r = sideOf(c.right, leftScope);
        if (l === 'left' && r === 'right') {
          streamKeys.push(c.left);
          tableKeys.push(c.right);
          continue;
        }
        if (l === 'right' && r === 'left') {
          streamKeys.push(c.right);
          tableKeys.push(c.left);
          continue;
        }
      }
      rest.push(c);
    }
    if (streamKeys.length === 0) {
      throw planProblem(item.on.pos, `the join with reference table ${table.name} has no equality between the stream and the table`, `Join on a key: ON s.plaza_id = ${qualifier}.plaza_id.`);
    }
    streamKeys.forEach((k) => compileExpr(k, ctxOf(env, left.fields)));
    tableKeys.forEach((k) => compileExpr(k, ctxOf(env, tableFields)));
    const condition = rest.length === 0 ? null : rest.reduce((a, b) => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: a.pos }) as Expr);
    if (condition) compilePredicate(condition, ctxOf(env, fields));
    return { kind: 'lookupJoin', input: left, table, tableFields, streamKeys, tableKeys, condition, joinType, fields };
  }

  // Enriching updates from a reference table is fine; matching them in time against another stream is not.
  const right = planFrom(item.right, env);
  rejectUpdates(left, env, item.pos, 'this join');
  rejectUpdates(right, env, item.pos, 'this join');
  return planStreamJoin(left, right, item.on, item.joinType, env);
}

/**
 * Two streams joined on `on`: its equalities between the sides are the keys, and a BETWEEN or an equality of
 * two times (window_end's first) bounds it in time, unless the bounds are `given` (join windows; `on` then
 * checks them exactly).
 */
export function planStreamJoin(left: LogicalNode, right: LogicalNode, on: Expr, joinType: JoinFrom['joinType'], env: PlanEnv, given?: TimeBounds): IntervalJoinNode {
  const leftScope = new Scope(left.fields);
  const fields = [...left.fields, ...right.fields];
  const timeEqualities: { left: Expr; right: Expr }[] = [];
  const leftKeys: Expr[] = [];
  const rightKeys: Expr[] = [];
  let bounds: TimeBounds | null = given ?? null;
  for (const c of conjuncts(on)) {
    if (c.kind === 'binary' && c.op === '=') {
      const l = sideOf(c.left, leftScope);
      const r = sideOf(c.right, leftScope);
      if (l === 'left' && r === 'right') {
        leftKeys.push(c.left);
        rightKeys.push(c.right);
      } else if (l === 'right' && r === 'left') {
        leftKeys.push(c.right);
        rightKeys.push(c.left);
      }
      const pair = l === 'left' && r === 'right' ? { left: c.left, right: c.right } : l === 'right' && r === 'left' ? { left: c.right, right: c.left } : null;
      if (pair && pair.left.kind === 'column' && pair.right.kind === 'column') {
        const isTime = (e: Expr, f: readonly Field[]) => compileExpr(e, ctxOf(env, f)).type === 'TIMESTAMP';
        if (isTime(pair.left, left.fields) && isTime(pair.right, right.fields)) timeEqualities.push(pair);
      }
    }
    if (!given && c.kind === 'between' && !c.negated && c.operand.kind === 'column') {
      const lo = timeBound(c.low);
      const hi = timeBound(c.high);
      const opSide = sideOf(c.operand, leftScope);
      if (lo && hi && sideOf(lo.column, leftScope) === sideOf(hi.column, leftScope) && sideOf(lo.column, leftScope) !== opSide) {
        // operand BETWEEN other + lo AND other + hi
        if (opSide === 'right') bounds = { leftTime: lo.column, rightTime: c.operand, lower: -lo.offset, upper: hi.offset };
        else bounds = { leftTime: c.operand, rightTime: lo.column, lower: hi.offset, upper: -lo.offset };
      }
    }
  }
  if (!bounds && timeEqualities.length > 0) {
    // A window join (L.window_start = R.window_start AND L.window_end = R.window_end) or any equality of two
    // times: an interval of width zero. window_end is the one a window's rows are complete by.
    const isEnd = (e: Expr) => e.kind === 'column' && e.name.toLowerCase() === 'window_end';
    const eq = timeEqualities.find((p) => isEnd(p.left) && isEnd(p.right)) ?? timeEqualities[0]!;
    bounds = { leftTime: eq.left, rightTime: eq.right, lower: 0, upper: 0 };
  }
  if (!bounds) {
    // Kinesis Analytics bounds a stream join with a window on a side (its JOIN clause requires one).
    const hint =
      env.dialect === 'kinesis'
        ? "Give a side a window: FROM s AS a JOIN t OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS b ON a.k = b.k."
        : "Add e.g. AND b.ts BETWEEN a.ts - INTERVAL '5' MINUTE AND a.ts + INTERVAL '5' MINUTE.";
    throw planProblem(on.pos, 'a join of two streams needs a time bound, or its state grows forever', hint);
  }
  if (leftKeys.length === 0) throw planProblem(on.pos, 'a join of two streams needs an equality key', 'Add e.g. a.plate = b.plate.');
  compilePredicate(on, ctxOf(env, fields));
  for (const [e, f] of [[bounds.leftTime, left.fields], [bounds.rightTime, right.fields]] as const) {
    if (compileExpr(e, ctxOf(env, f)).type !== 'TIMESTAMP') throw planProblem(e.pos, 'the join time bound must compare TIMESTAMP columns', '');
  }
  return { kind: 'intervalJoin', left, right, leftKeys, rightKeys, ...bounds, condition: on, joinType, fields };
}

/**
 * `s [LEFT] JOIN t FOR SYSTEM_TIME AS OF s.ts ON s.k = t.k [AND ...]`, Flink's event-time temporal join:
 * `t` is a versioned table, a stream of versions of its rows (a CREATE TABLE with a PRIMARY KEY and a
 * WATERMARK, the version's time), and ON must equate every key column with the probe row.
 */
function planTemporalJoin(item: JoinFrom, ref: TableRef, asOf: Expr, probe: LogicalNode, env: PlanEnv): LogicalNode {
  const table = env.catalog.tables.get(ref.name.toLowerCase());
  if (env.catalog.isRefTable(ref.name)) {
    throw planProblem(
      asOf.pos,
      `${ref.name} is a reference table, which a join looks up as it is when the row is processed, so FOR SYSTEM_TIME AS OF does not apply`,
      `Leave FOR SYSTEM_TIME AS OF out (JOIN ${ref.name} ON ...), or declare ${ref.name} as a versioned table: a stream with PRIMARY KEY (...) NOT ENFORCED and a WATERMARK.`,
    );
  }
  if (!table || table.primaryKey.length === 0 || !table.watermark) {
    throw planProblem(
      ref.pos,
      `a temporal join reads a versioned table, and ${ref.name} is not one: it needs a PRIMARY KEY and a WATERMARK`,
      `Declare CREATE TABLE ${ref.name} (..., update_time TIMESTAMP(3), WATERMARK FOR update_time AS update_time, PRIMARY KEY (k) NOT ENFORCED).`,
    );
  }
  if (item.joinType !== 'INNER' && item.joinType !== 'LEFT') {
    throw planProblem(item.pos, `${item.joinType} JOIN ... FOR SYSTEM_TIME AS OF is not supported: a temporal join keeps the rows of its left side`, 'Use JOIN or LEFT JOIN.');
  }
  const versions = planFrom({ ...ref, asOf: null }, env);
  rejectUpdates(probe, env, item.pos, 'this temporal join');
  const probeScope = new Scope(probe.fields);
  const fields = [...probe.fields, ...versions.fields];
  const probeTime = compileExpr(asOf, ctxOf(env, probe.fields));
  if (probeTime.type !== 'TIMESTAMP') throw planProblem(asOf.pos, `FOR SYSTEM_TIME AS OF takes the probe row's time, and this is ${probeTime.type}`, 'Name the event-time column of the left side, e.g. orders.order_time.');
  const qualifier = ref.alias ?? ref.name;
  const versionScope = new Scope(versions.fields);
  const keyAt = new Map<number, Expr>();
  for (const c of conjuncts(item.on)) {
    if (c.kind !== 'binary' || c.op !== '=') continue;
    for (const [mine, theirs] of [[c.right, c.left], [c.left, c.right]] as const) {
      if (mine.kind !== 'column' || sideOf(theirs, probeScope) !== 'left') continue;
      let at: number;
      try {
        at = versionScope.resolve(mine.qualifier, mine.name, mine.pos);
      } catch {
        continue;
      }
      // A column both sides have resolves to the probe's unless qualified with the table's name.
      if (mine.qualifier === null && sideOf(mine, probeScope) === 'left') continue;
      keyAt.set(at, theirs);
    }
  }
  const probeKeys: Expr[] = [];
  const versionKeys: Expr[] = [];
  for (const k of table.primaryKey) {
    const at = versions.fields.findIndex((f) => !f.hidden && f.name.toLowerCase() === k.toLowerCase());
    const probeKey = at < 0 ? undefined : keyAt.get(at);
    if (probeKey === undefined) {
      throw planProblem(item.on.pos, `a temporal join must equate ${ref.name}'s PRIMARY KEY column ${k} with the left side`, `Add ${qualifier}.${k} = s.${k} to ON.`);
    }
    probeKeys.push(probeKey);
    versionKeys.push({ kind: 'column', qualifier, name: versions.fields[at]!.name, quoted: false, pos: item.on.pos });
  }
  probeKeys.forEach((k) => compileExpr(k, ctxOf(env, probe.fields)));
  compilePredicate(item.on, ctxOf(env, fields));
  const versionTime: Expr = { kind: 'column', qualifier, name: table.watermark.column, quoted: false, pos: ref.pos };
  if (compileExpr(versionTime, ctxOf(env, versions.fields)).type !== 'TIMESTAMP') {
    throw planProblem(ref.pos, `the WATERMARK column of ${ref.name} is not a TIMESTAMP`, '');
  }
  return { kind: 'temporalJoin', probe, versions, probeTime: asOf, versionTime, probeKeys, versionKeys, condition: item.on, joinType: item.joinType, fields };
}

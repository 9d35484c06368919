/**
 * Kinesis Analytics' stream-to-stream joins: `FROM a JOIN b OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON
 * a.k = t.k`, or `b OVER w` with `WINDOW w AS (RANGE ...)`. A side's window holds its rows for `range` after
 * their ROWTIME (a side without OVER: its current row only), and two rows join when both are in their windows
 * at once. That is an interval join on ROWTIME, planned onto the same node as Flink's.
 */
import type { ColumnExpr, Expr, JoinFrom, OverClause, TableRef } from '../../ast/index.ts';
import { exprKey } from '../../ast/index.ts';
import type { SourcePos } from '../../diagnostics.ts';
import { planProblem } from '../../diagnostics.ts';
import type { Field } from '../../expr/scope.ts';
import type { LogicalNode } from './nodes.ts';
import type { PlanEnv } from './plan-query.ts';
import { planFrom, rejectUpdates, rowtimeField } from './plan-query.ts';
import { planStreamJoin } from './plan-join.ts';

export function hasJoinWindow(item: JoinFrom['left']): boolean {
  return windowedRef(item) !== null;
}

function windowedRef(item: JoinFrom['left']): TableRef | null {
  return item.kind === 'tableRef' && item.over ? item : null;
}

/** The range of a side's join window in ms: 0 for a side without OVER (its current row) or `RANGE CURRENT ROW`. */
function windowRange(item: JoinFrom['left'], env: PlanEnv): number {
  const ref = windowedRef(item);
  if (!ref) return 0;
  const spec = resolveWindow(ref.over!, env);
  if (spec.rowsPreceding !== null) {
    throw planProblem(spec.pos, 'a join window of rows (OVER (ROWS n PRECEDING)) is not supported yet', "Join over a time range: OVER (RANGE INTERVAL '1' MINUTE PRECEDING).");
  }
  if (spec.partitionBy.length > 0 || spec.orderBy.length > 0) {
    throw planProblem(spec.pos, 'a join window orders and matches rows by ROWTIME, so PARTITION BY and ORDER BY do not apply', 'Put the key in ON instead: ON a.k = b.k.');
  }
  if (spec.rangeMillis === null || !Number.isFinite(spec.rangeMillis)) {
    throw planProblem(spec.pos, 'a join window needs a bounded time range, or its rows are kept forever', "Write OVER (RANGE INTERVAL '1' MINUTE PRECEDING).");
  }
  return spec.rangeMillis;
}

function resolveWindow(over: OverClause, env: PlanEnv): OverClause {
  if (over.windowName === null) return over;
  const w = env.windows?.find((x) => x.name.toLowerCase() === over.windowName!.toLowerCase());
  if (!w) throw planProblem(over.pos, `window ${over.windowName} is not defined`, `Add WINDOW ${over.windowName} AS (RANGE INTERVAL '1' MINUTE PRECEDING) after the query's other clauses.`);
  return w.spec;
}

function column(qualifier: string | null, name: string, pos: SourcePos): Expr {
  return { kind: 'column', qualifier, name, quoted: false, pos };
}

function compare(op: '<' | '<=' | '>' | '>=', left: Expr, right: Expr): Expr {
  return { kind: 'binary', op, left, right, pos: left.pos };
}

function shifted(time: Expr, millis: number, op: '+' | '-'): Expr {
  if (millis === 0) return time;
  return { kind: 'binary', op, left: time, right: { kind: 'interval', millis, text: `INTERVAL '${millis}' MILLISECOND`, pos: time.pos }, pos: time.pos };
}

/**
 * The qualifier a side's hidden ROWTIME can be named by in the joined row. A left side that is itself a join
 * over a window leads with the joined ROWTIME, unqualified: a bare ROWTIME of the joined row reads it.
 */
function rowtimeQualifier(node: LogicalNode, pos: SourcePos, left: boolean): string | null {
  const f = node.fields.find((x) => x.hidden && x.name === 'ROWTIME');
  if (!f || (f.qualifier === null && !left)) {
    throw planProblem(pos, 'a side of a join over a window has no ROWTIME to match on, or no name to read it by', 'Join streams by name, or give the subquery an alias: (SELECT STREAM ...) AS s.');
  }
  return f.qualifier;
}

export function planOverJoin(item: JoinFrom, env: PlanEnv): LogicalNode {
  const leftRange = windowRange(item.left, env);
  const rightRange = windowRange(item.right, env);
  // Rows of the kept side that match nothing are known at their own ROWTIME only when the other side's
  // window holds the earlier rows: with a window on the kept side, Kinesis Analytics sends them when that
  // window has passed, with that later time as ROWTIME.
  const windowed = item.joinType === 'LEFT' ? leftRange : item.joinType === 'RIGHT' ? rightRange : 0;
  if (item.joinType === 'FULL' || windowed > 0) {
    throw planProblem(
      item.pos,
      `${item.joinType} JOIN with ${item.joinType === 'FULL' ? 'windows' : `a window on its ${item.joinType === 'LEFT' ? 'left' : 'right'} side`} is not supported yet: a row that matches nothing would leave when its window has passed, with that time as ROWTIME`,
      item.joinType === 'RIGHT' ? 'Put the window on the left side: a OVER (RANGE ...) RIGHT JOIN b.' : 'Put the window on the other side: a LEFT JOIN b OVER (RANGE ...), or use an inner JOIN.',
    );
  }
  const sideNode = (item: JoinFrom['left']): LogicalNode => {
    const ref = windowedRef(item);
    if (!ref) return planFrom(item, env);
    if (env.catalog.isRefTable(ref.name)) {
      throw planProblem(ref.pos, `${ref.name} is a reference table: a join looks its rows up as they are, so OVER does not apply`, `Leave OVER out: JOIN ${ref.name} ON ...`);
    }
    // `JOIN b OVER w ON a.k = w.k`: without AS, the documentation reads the stream by its window's name.
    const alias = ref.alias ?? ref.over!.windowName ?? null;
    return planFrom({ ...ref, over: null, alias }, env);
  };
  const left = sideNode(item.left);
  const right = sideNode(item.right);
  rejectUpdates(left, env, item.pos, 'this join');
  rejectUpdates(right, env, item.pos, 'this join');
  const lq = rowtimeQualifier(left, item.left.pos, true);
  const rq = rowtimeQualifier(right, item.right.pos, false)!;
  if (lq?.toLowerCase() === rq.toLowerCase()) throw planProblem(item.pos, `both sides of the join are named ${lq}`, 'Give each side an alias: FROM s AS a JOIN s OVER (RANGE ...) AS b.');
  const leftTime = column(lq, 'ROWTIME', item.pos);
  const rightTime = column(rq, 'ROWTIME', item.pos);
  // A left row at t is in its window at [t, t + leftRange), a right row at u at [u, u + rightRange) (Kinesis
  // Analytics' windows keep a row less than `range`; a range of 0 is the instant itself, and Flink's RANGE
  // keeps a row exactly `range` old too). They meet when t - rightRange < u < t + leftRange.
  const closed = env.dialect === 'flink';
  const after = rightRange === 0 || closed ? compare('>=', rightTime, shifted(leftTime, rightRange, '-')) : compare('>', rightTime, shifted(leftTime, rightRange, '-'));
  const before = leftRange === 0 || closed ? compare('<=', rightTime, shifted(leftTime, leftRange, '+')) : compare('<', rightTime, shifted(leftTime, leftRange, '+'));
  const and = (a: Expr, b: Expr): Expr => ({ kind: 'binary', op: 'AND', left: a, right: b, pos: a.pos });
  const on = and(and(item.on, after), before);
  // The operator gives a padded side's ROWTIME the present row's, so that a bare ROWTIME reads a time; a mark
  // on the side that can be padded tells its own a.ROWTIME to read NULL there, as its other columns do.
  const padded: 0 | 1 | -1 = item.joinType === 'LEFT' ? 1 : item.joinType === 'RIGHT' ? 0 : -1;
  const marked = (node: LogicalNode, q: string | null): LogicalNode => {
    const { exprs, substitutions } = passThrough(node, item.pos);
    const mark: Expr = { kind: 'literal', type: 'BOOLEAN', value: true, pos: item.pos };
    return { kind: 'project', input: node, exprs: [...exprs, mark], substitutions, fields: [...node.fields, { name: MATCHED, type: 'BOOLEAN', qualifier: q, hidden: true }] };
  };
  const sides: readonly LogicalNode[] = [padded === 0 ? marked(left, lq) : left, padded === 1 ? marked(right, rq) : right];
  const join = planStreamJoin(sides[0]!, sides[1]!, on, item.joinType, env, { leftTime, rightTime, lower: rightRange, upper: leftRange });
  if (leftRange === 0 && padded < 0) return join;
  // A bare ROWTIME of the joined row is the later of the two (the left one when only the right side has a
  // window, which is where a bare ROWTIME already resolves); a side's own stays readable as a.ROWTIME.
  const { exprs, substitutions, at } = passThrough(join, item.pos);
  const rowtimeAt = (i: number) => (i === 0 ? 0 : sides[0]!.fields.length) + sides[i]!.fields.findIndex((f) => f.hidden && f.name === 'ROWTIME');
  const [leftAt, rightAt] = [at(rowtimeAt(0)), at(rowtimeAt(1))];
  const later: Expr = { kind: 'case', operand: null, whens: [{ when: compare('>=', leftAt, rightAt), then: leftAt }], otherwise: rightAt, pos: item.pos };
  if (padded >= 0) {
    // The mark is the last field of its side (a side that is itself a join may carry an earlier one).
    const mark = at((padded === 0 ? 0 : sides[0]!.fields.length) + sides[padded]!.fields.length - 1);
    exprs[rowtimeAt(padded)] = { kind: 'case', operand: null, whens: [{ when: mark, then: exprs[rowtimeAt(padded)]! }], otherwise: null, pos: item.pos };
  }
  return { kind: 'project', input: join, exprs: [later, ...exprs], substitutions, fields: [rowtimeField(null), ...join.fields] };
}

/** A hidden column that is TRUE in the rows of a side and NULL where an outer join padded that side. */
const MATCHED = '$matched';

/**
 * Every field of `node`, as expressions for a projection over it: by qualified name where that names the
 * field alone (as EXPLAIN shows it), else by position.
 */
function passThrough(node: LogicalNode, pos: SourcePos): { exprs: Expr[]; substitutions: Map<string, number>; at: (i: number) => ColumnExpr } {
  const fieldKey = (f: Field) => `${f.qualifier?.toLowerCase()}.${f.name}`;
  const at = (i: number): ColumnExpr => {
    const f = node.fields[i]!;
    const unique = f.qualifier !== null && node.fields.filter((g) => fieldKey(g) === fieldKey(f)).length === 1;
    return unique ? { kind: 'column', qualifier: f.qualifier, name: f.name, quoted: true, pos } : { kind: 'column', qualifier: null, name: `$field.${i}`, quoted: true, pos };
  };
  const exprs = node.fields.map((_, i) => at(i));
  const substitutions = new Map(exprs.flatMap((e, i) => (e.qualifier === null ? [[exprKey(e), i] as const] : [])));
  return { exprs, substitutions, at };
}

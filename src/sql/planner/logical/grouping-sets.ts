/**
 * `GROUP BY window_start, window_end, GROUPING SETS ((supplier_id), ())` (and ROLLUP, CUBE, which the parser
 * writes out as their sets): the query once per set, grouped by the common keys and the set's, their rows
 * united like UNION ALL. In the query of a set, a key of another set that is not in this one is NULL
 * outside aggregates, and `GROUPING(k, ...)` (also `GROUPING_ID`) is the bit vector of the keys that are (1
 * for a key the set leaves out, the first argument the highest bit). `GROUP_ID()` numbers the repeats of a
 * set written more than once (0 for its first, 1 for the next), as Calcite, whose planner Flink's is, does.
 * A GROUP BY without sets is one set of all its keys: GROUPING, GROUPING_ID and GROUP_ID are 0 there.
 */
import type { CallExpr, Expr, SelectItem, SelectQuery, StarItem } from '../../ast/index.ts';
import { exprKey, mapChildren, someExpr } from '../../ast/index.ts';
import { planProblem } from '../../diagnostics.ts';
import { isAggregateCall } from '../../expr/aggregates.ts';

export function expandGroupingSets(q: SelectQuery): SelectQuery[] {
  const sets = q.groupingSets!;
  const common = new Set(q.groupBy.map(exprKey));
  const allKeys = new Set(sets.flat().map(exprKey));
  const seen = new Map<string, number>();
  return sets.map((set) => {
    const present = new Set([...common, ...set.map(exprKey)]);
    const setKey = [...present].sort().join('\u0000');
    const repeat = seen.get(setKey) ?? 0;
    seen.set(setKey, repeat + 1);
    const rewrite = (e: Expr): Expr => {
      const key = exprKey(e);
      if (allKeys.has(key) && !present.has(key)) return { kind: 'literal', type: 'NULL', value: null, pos: e.pos };
      if (e.kind === 'call' && (e.name === 'GROUPING' || e.name === 'GROUPING_ID') && e.over === null) return groupingBits(e, allKeys, common, present);
      if (e.kind === 'call' && e.name === 'GROUP_ID' && e.over === null) {
        if (e.args.length > 0) throw planProblem(e.pos, 'GROUP_ID takes no arguments', 'Write GROUP_ID().');
        return { kind: 'literal', type: 'BIGINT', value: repeat, pos: e.pos };
      }
      if (isAggregateCall(e) || (e.kind === 'call' && e.over !== null)) return e;
      return mapChildren(e, rewrite);
    };
    const groupBy = [...q.groupBy];
    for (const k of set) if (!groupBy.some((g) => exprKey(g) === exprKey(k))) groupBy.push(k);
    const items = q.items.map((item): SelectItem | StarItem => {
      if (item.kind === 'star') return item;
      const expr = rewrite(item.expr);
      // A key left out is NULL here but keeps its column name, as in the sets that group by it.
      const alias = item.alias ?? (item.expr.kind === 'column' && expr !== item.expr ? item.expr.name : null);
      return { ...item, expr, alias };
    });
    return { ...q, groupBy, groupingSets: null, items, having: q.having ? rewrite(q.having) : null };
  });
}

/** The grouping functions of a GROUP BY without GROUPING SETS: one set, every key in it. */
export function resolveGroupingFunctions(q: SelectQuery): SelectQuery {
  return expandGroupingSets({ ...q, groupingSets: [[]] })[0]!;
}

const GROUPING_FUNCTIONS = new Set(['GROUPING', 'GROUPING_ID', 'GROUP_ID']);

/** Whether the query's select list or HAVING calls GROUPING, GROUPING_ID or GROUP_ID. */
export function callsGroupingFunctions(q: SelectQuery): boolean {
  const calls = (e: Expr) => someExpr(e, (x) => x.kind === 'call' && GROUPING_FUNCTIONS.has(x.name) && x.over === null);
  return q.items.some((item) => item.kind !== 'star' && calls(item.expr)) || (q.having !== null && calls(q.having));
}

function groupingBits(call: CallExpr, allKeys: ReadonlySet<string>, common: ReadonlySet<string>, present: ReadonlySet<string>): Expr {
  if (call.args.length === 0) throw planProblem(call.pos, `${call.name} needs the grouping keys to test`, 'Write GROUPING(supplier_id).');
  let bits = 0;
  for (const a of call.args) {
    const key = exprKey(a);
    if (!allKeys.has(key) && !common.has(key)) {
      throw planProblem(a.pos, `${call.name} takes keys of the GROUP BY, and this is not one`, 'Name a column of GROUPING SETS, ROLLUP or CUBE.');
    }
    bits = bits * 2 + (present.has(key) ? 0 : 1);
  }
  return { kind: 'literal', type: 'BIGINT', value: bits, pos: call.pos };
}

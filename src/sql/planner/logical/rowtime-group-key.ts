/**
 * Kinesis Analytics' ROWTIME is monotonic, so a streaming GROUP BY may name it as it is (the SQL Reference's
 * `SELECT STREAM DISTINCT rowtime, ticker FROM trades ORDER BY ROWTIME, ticker` groups by it): the rows of one
 * ROWTIME form a group, which closes once ROWTIME moves past it. That is a tumbling window one millisecond
 * wide (ROWTIME's precision) whose window_start is the ROWTIME the rows share.
 */
import type { Expr, SelectItem, SelectQuery, StarItem } from '../../ast/index.ts';
import { mapChildren } from '../../ast/index.ts';
import { isAggregateCall } from '../../expr/aggregates.ts';

/** The width of the window a ROWTIME group key stands for, ms: one value of ROWTIME. */
export const ROWTIME_GROUP_MILLIS = 1;

export function isRowtimeColumn(e: Expr): boolean {
  return e.kind === 'column' && e.name.toUpperCase() === 'ROWTIME';
}

/**
 * The query with the grouped ROWTIME read as its group's value (window_start) wherever it stands outside an
 * aggregate: the aggregate's own ROWTIME is the window's end, one millisecond later, and stays the time the
 * row is emitted with. A select item keeps its name (`rowtime`, not window_start).
 */
export function readGroupedRowtime(q: SelectQuery): SelectQuery {
  const items = q.items.map((i): SelectItem | StarItem => {
    if (i.kind !== 'item') return i;
    const alias = i.alias ?? (i.expr.kind === 'column' && isRowtimeColumn(i.expr) ? i.expr.name : null);
    return { ...i, alias, expr: groupValue(i.expr) };
  });
  return { ...q, items, having: q.having ? groupValue(q.having) : null };
}

function groupValue(e: Expr): Expr {
  if (isRowtimeColumn(e)) return { kind: 'column', qualifier: null, name: 'window_start', quoted: false, pos: e.pos };
  if (e.kind === 'call' && isAggregateCall(e)) return e;
  return mapChildren(e, groupValue);
}

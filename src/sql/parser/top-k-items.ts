/**
 * Kinesis Analytics' `TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM ...), 'column', K, windowSeconds))`
 * written out as the queries it stands for: the rows counted per value of the column in tumbling windows of
 * ROWTIME, ranked by count per window, the first K kept. Its columns are ITEM (the value) and ITEM_COUNT,
 * as the Developer Guide's examples read them; ROWTIME is the window's end.
 *
 * The reference allows an approximate answer; this one is exact. Values with the same count rank by value,
 * so the K kept at a tie are always the same ones.
 *
 * `TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(...), 'column', windowSeconds))` is written out the same way: the
 * distinct values of the column (NULL not counted) per tumbling window of ROWTIME, exactly, as
 * NUMBER_OF_DISTINCT_ITEMS.
 */
import type { CallExpr, ColumnExpr, Expr, SelectItem, SelectQuery } from '../ast/index.ts';
import type { SourcePos } from '../diagnostics.ts';

const column = (name: string, pos: SourcePos): ColumnExpr => ({ kind: 'column', qualifier: null, name, quoted: false, pos });
const item = (expr: Expr, alias: string | null, pos: SourcePos): SelectItem => ({ kind: 'item', expr, alias, pos });

function call(name: string, pos: SourcePos, extra: Partial<CallExpr> = {}): CallExpr {
  return { kind: 'call', name, args: [], distinct: false, star: false, filter: null, ignoreNulls: false, over: null, pos, ...extra };
}

function select(pos: SourcePos, parts: Pick<SelectQuery, 'items' | 'from'> & Partial<SelectQuery>): SelectQuery {
  return {
    kind: 'select', ctes: [], unionAll: [], stream: true, distinct: false, where: null, groupBy: [], groupingSets: null, having: null,
    windows: [], windowedBy: null, orderBy: [], limit: null, pos, ...parts,
  };
}

const stepOfRowtime = (windowSeconds: number, pos: SourcePos): Expr => ({
  kind: 'step', operand: column('ROWTIME', pos), interval: { kind: 'interval', millis: windowSeconds * 1000, text: `INTERVAL '${windowSeconds}' SECOND`, pos }, pos,
});

export function countDistinctItemsQuery(cursor: SelectQuery, columnName: string, windowSeconds: number, pos: SourcePos): SelectQuery {
  return select(pos, {
    items: [item(call('COUNT', pos, { args: [column(columnName, pos)], distinct: true }), 'NUMBER_OF_DISTINCT_ITEMS', pos)],
    from: { kind: 'subquery', query: cursor, alias: null, pos },
    groupBy: [stepOfRowtime(windowSeconds, pos)],
  });
}

export function topKItemsQuery(cursor: SelectQuery, columnName: string, k: number, windowSeconds: number, pos: SourcePos): SelectQuery {
  const windowEnd = column('window_end', pos);
  const counted = select(pos, {
    items: [item(column(columnName, pos), 'ITEM', pos), item(call('COUNT', pos, { star: true }), 'ITEM_COUNT', pos), item(windowEnd, null, pos)],
    from: { kind: 'subquery', query: cursor, alias: null, pos },
    groupBy: [column(columnName, pos), stepOfRowtime(windowSeconds, pos)],
  });
  const rank = call('ROW_NUMBER', pos, {
    over: {
      windowName: null,
      partitionBy: [windowEnd],
      orderBy: [
        { expr: column('ITEM_COUNT', pos), descending: true },
        { expr: column('ITEM', pos), descending: false },
      ],
      rangeMillis: null,
      rowsPreceding: null,
      pos,
    },
  });
  const ranked = select(pos, {
    items: [item(column('ITEM', pos), null, pos), item(column('ITEM_COUNT', pos), null, pos), item(rank, 'rn', pos)],
    from: { kind: 'subquery', query: counted, alias: null, pos },
  });
  return select(pos, {
    items: [item(column('ITEM', pos), null, pos), item(column('ITEM_COUNT', pos), null, pos)],
    from: { kind: 'subquery', query: ranked, alias: null, pos },
    where: { kind: 'binary', op: '<=', left: column('rn', pos), right: { kind: 'literal', type: 'BIGINT', value: k, pos }, pos },
  });
}

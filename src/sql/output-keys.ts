/**
 * Which output columns identify a row, for writers that must recognize a row they already wrote (a live
 * query replaying after a crash) and for partitioning the output by the GROUP BY key.
 *
 * - `window`: a windowed GROUP BY whose select list carries every group key and a window bound: one final
 *   row per window and key, so the identity columns (bounds + keys) name the row.
 * - `group`: a GROUP BY without a window (an update per change): the identity columns name the group, and
 *   the writer adds a per-group version.
 * - `row`: anything else (projections, filters, joins, top-N, several pumps into one stream): rows have no
 *   natural name; the writer uses their content and an occurrence count. A Top-N or deduplication outside
 *   windows is partitioned by its PARTITION BY columns, so the changes of one key stay in order.
 */
import type { Expr, InsertStmt, Script, SelectQuery, Statement } from './ast/index.ts';

export type OutputKeyMode = 'window' | 'group' | 'row';

export interface OutputKeys {
  readonly mode: OutputKeyMode;
  /** Output columns naming the row (window and group modes), in output order. */
  readonly identity: readonly string[];
  /** The GROUP BY key columns without window bounds: the partition key of the output records. */
  readonly partition: readonly string[];
}

const WINDOW_COLUMNS = new Set(['window_start', 'window_end', 'window_time']);

function strip(e: Expr): string {
  return JSON.stringify(e, (k, v: unknown) => (k === 'pos' ? undefined : typeof v === 'string' ? v.toLowerCase() : v));
}

/** A window table function's bound, a Kinesis STEP/FLOOR over ROWTIME or a MONOTONIC key (the others are plain keys). */
function isWindowBound(e: Expr, tvf: boolean): boolean {
  if (e.kind === 'column') return tvf && WINDOW_COLUMNS.has(e.name.toLowerCase());
  if (e.kind === 'step' || e.kind === 'floorCeil') return e.operand.kind === 'column' && e.operand.name.toUpperCase() === 'ROWTIME';
  // A value of a MONOTONIC key is done once the next comes: one final row per value, as per window.
  return e.kind === 'call' && e.name === 'MONOTONIC';
}

function sameExpr(a: Expr, b: Expr): boolean {
  if (a.kind === 'column' && b.kind === 'column') return a.name.toLowerCase() === b.name.toLowerCase();
  return strip(a) === strip(b);
}

/**
 * A Top-N or deduplication outside windows, `SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY k
 * ORDER BY ...) FROM t) WHERE ...`: its rows can be updates of a place of `k` (the rows sent again with a new
 * number, the last row of `k`), which readers must see in the order sent, so the records of one `k` go to
 * one partition of the output. The output columns that pass the PARTITION BY columns on; none when one of
 * them is not selected or is renamed.
 */
function rankedPartition(query: SelectQuery, columns: readonly string[]): string[] {
  if (query.from?.kind !== 'subquery' || query.from.columns !== undefined || query.groupBy.length > 0 || query.distinct) return [];
  const inner = query.from.query;
  const rank = inner.items.find((it) => it.kind === 'item' && it.expr.kind === 'call' && it.expr.name === 'ROW_NUMBER');
  const over = rank?.kind === 'item' && rank.expr.kind === 'call' ? rank.expr.over : null;
  if (!over || over.windowName !== null || over.partitionBy.length === 0) return [];
  const out: string[] = [];
  const star = query.items.length === 1 && query.items[0]!.kind === 'star';
  for (const key of over.partitionBy) {
    if (key.kind !== 'column' || WINDOW_COLUMNS.has(key.name.toLowerCase())) return [];
    const name = key.name.toLowerCase();
    // The inner query must pass the column on under its own name.
    const renamed = inner.items.some((it) => it.kind === 'item' && it.alias?.toLowerCase() === name && !(it.expr.kind === 'column' && it.expr.name.toLowerCase() === name));
    if (renamed) return [];
    const at = star
      ? columns.findIndex((c) => c.toLowerCase() === name)
      : query.items.findIndex((it) => it.kind === 'item' && it.expr.kind === 'column' && it.expr.name.toLowerCase() === name && (it.alias === null || it.alias.toLowerCase() === name));
    if (at < 0 || at >= columns.length) return [];
    out.push(columns[at]!);
  }
  return out;
}

function keysOfInsert(query: SelectQuery, columns: readonly string[]): OutputKeys {
  const row: OutputKeys = { mode: 'row', identity: [], partition: rankedPartition(query, columns) };
  // A stagger window can close and open again for the same key: its rows have no natural name.
  // Branches of a UNION ALL may each produce the same key, and so may the sets of GROUPING SETS (a key a
  // set leaves out is NULL in its rows).
  if (query.groupBy.length === 0 || query.windowedBy || query.unionAll.length > 0 || query.intersect !== undefined || query.groupingSets !== null) return row;
  const groupBy = query.groupBy;
  const identity: string[] = [];
  const partition: string[] = [];
  let bound = false;
  const tvf = query.from?.kind === 'windowTvf';
  let windowed = false;
  for (const g of groupBy) {
    const w = isWindowBound(g, tvf);
    if (w) windowed = true;
    const at = query.items.findIndex((it) => it.kind === 'item' && sameExpr(it.expr, g));
    if (at < 0 || at >= columns.length) {
      // A group key that is not in the output (window_end next to a selected window_start is fine).
      if (w) continue;
      return row;
    }
    if (query.items.some((it) => it.kind === 'star')) return row;
    const name = columns[at]!;
    if (!identity.includes(name)) identity.push(name);
    if (w) bound = true;
    else if (!partition.includes(name)) partition.push(name);
  }
  if (windowed) return bound ? { mode: 'window', identity: columns.filter((c) => identity.includes(c)), partition } : row;
  return { mode: 'group', identity: columns.filter((c) => identity.includes(c)), partition };
}

/** The statements that feed output streams, in the order the planner makes their pipelines. */
function feeding(script: Script): (InsertStmt | { kind: 'query'; query: SelectQuery })[] {
  const out: (InsertStmt | { kind: 'query'; query: SelectQuery })[] = [];
  const visit = (st: Statement): void => {
    if (st.kind === 'insert') out.push(st);
    else if (st.kind === 'createPump') out.push(st.insert);
    else if (st.kind === 'query') out.push({ kind: 'query', query: st.query });
    else if (st.kind === 'explain') visit(st.statement);
  };
  for (const st of script.statements) visit(st);
  return out;
}

/**
 * Output keys per output stream. `pipelines` are the planner's, in order, with their target stream and
 * target columns. A stream fed by several pipelines is in `row` mode (two pumps may produce the same key).
 */
export function outputKeys(script: Script, pipelines: readonly { readonly target: string; readonly targetColumns: readonly { readonly name: string }[] }[]): Map<string, OutputKeys> {
  const statements = feeding(script);
  const result = new Map<string, OutputKeys>();
  const fed = new Map<string, number>();
  pipelines.forEach((p, i) => {
    const st = statements[i];
    const keys = st ? keysOfInsert(st.query, p.targetColumns.map((c) => c.name)) : { mode: 'row' as const, identity: [], partition: [] };
    fed.set(p.target, (fed.get(p.target) ?? 0) + 1);
    result.set(p.target, fed.get(p.target)! > 1 ? { mode: 'row', identity: [], partition: keys.partition } : keys);
  });
  return result;
}

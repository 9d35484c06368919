/**
 * Which dialect's meaning a script gets. The two dialects disagree on a few things that parse the same
 * (UNIX_TIMESTAMP is seconds in Flink and milliseconds in Kinesis Analytics; EXTRACT(SECOND ...) keeps the
 * milliseconds in Kinesis Analytics; a sliding window's oldest bound), so each query is planned in one.
 */
import type { Expr, FromItem, QueryDialect, Script, SelectQuery } from '../../ast/index.ts';
import { someExpr } from '../../ast/index.ts';
import { ARRIVAL_TIME } from './nodes.ts';

export type { QueryDialect } from '../../ast/index.ts';

/**
 * The dialect a script is written in: Kinesis Analytics when it has a construct only that dialect has
 * (CREATE STREAM, CREATE PUMP, SELECT STREAM, WINDOWED BY STAGGER, ROWTIME in a select list or GROUP BY, a
 * stream joined OVER a window, APPROXIMATE_ARRIVAL_TIME read anywhere, unless a table declares a column of that name), Flink otherwise.
 */
export function detectDialect(script: Script): QueryDialect {
  const kinesisQuery = (q: SelectQuery): boolean =>
    q.stream ||
    q.windowedBy !== null ||
    q.items.some((i) => i.kind === 'item' && mentionsRowtime(i.expr)) ||
    q.groupBy.some(mentionsRowtime) ||
    (q.from !== null && kinesisFrom(q.from)) ||
    q.ctes.some((c) => kinesisQuery(c.query)) ||
    q.unionAll.some(kinesisQuery) ||
    (q.intersect ?? []).some((b) => kinesisQuery(b.query));
  const kinesisFrom = (f: FromItem): boolean =>
    f.kind === 'subquery' ? kinesisQuery(f.query) : f.kind === 'join' ? kinesisFrom(f.left) || kinesisFrom(f.right) : f.kind === 'tableRef' && Boolean(f.over);
  const kinesisStatement = (st: Script['statements'][number]): boolean => {
    switch (st.kind) {
      case 'createStream':
      case 'createPump':
        return true;
      case 'insert':
      case 'query':
      case 'createView':
        return kinesisQuery(st.query);
      case 'explain':
        return kinesisStatement(st.statement);
      case 'createTable':
        return false;
    }
  };
  // APPROXIMATE_ARRIVAL_TIME is Kinesis' own, unless a table declares a column of that name.
  const declaresArrivalTime = script.statements.some(
    (st) => (st.kind === 'createTable' || st.kind === 'createStream') && st.columns.some((c) => c.name.toUpperCase() === ARRIVAL_TIME),
  );
  const readsArrivalTime = !declaresArrivalTime && mentionsArrivalTime(script.statements);
  return script.statements.some(kinesisStatement) || readsArrivalTime ? 'kinesis' : 'flink';
}

function mentionsRowtime(e: Expr): boolean {
  return someExpr(e, (x) => x.kind === 'column' && x.name.toUpperCase() === 'ROWTIME');
}

/**
 * Whether a column reference named APPROXIMATE_ARRIVAL_TIME sits anywhere in the statements' syntax trees. It
 * walks the plain AST objects rather than listing where expressions can be (select items, OVER and WINDOW
 * clauses, stagger partitions, MATCH_RECOGNIZE, CURSOR arguments ...), so no place of them is missed.
 */
export function mentionsArrivalTime(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(mentionsArrivalTime);
  if (node === null || typeof node !== 'object') return false;
  const n = node as { kind?: unknown; name?: unknown };
  if (n.kind === 'column' && typeof n.name === 'string' && n.name.toUpperCase() === ARRIVAL_TIME) return true;
  return Object.values(node).some(mentionsArrivalTime);
}

/**
 * Every name the statements could read a source column by, lower-cased: each string anywhere in their syntax
 * trees except the column lists of CREATE TABLE and CREATE STREAM (a superset: aliases and string literals
 * count too). Null when something reads whole rows without naming their columns (`*`, `t.*`, a VALUES list or
 * UNION written as one, a stream model's CURSOR): then every column is read. Walks the plain AST objects, as
 * `mentionsArrivalTime` does, so no place a name can stand is missed.
 */
export function namesRead(statements: Script['statements']): ReadonlySet<string> | null {
  const names = new Set<string>();
  const visit = (node: unknown): boolean => {
    if (typeof node === 'string') {
      names.add(node.toLowerCase());
      return true;
    }
    if (Array.isArray(node)) return node.every(visit);
    if (node === null || typeof node !== 'object') return true;
    const kind = (node as { kind?: unknown }).kind;
    if (kind === 'star' || kind === 'streamModel') return false;
    const declares = kind === 'createTable' || kind === 'createStream';
    return Object.entries(node).every(([key, value]) => (declares && key === 'columns') || visit(value));
  };
  return statements.every(visit) ? names : null;
}

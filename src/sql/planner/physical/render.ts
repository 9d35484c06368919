/** Expressions back to SQL text, for EXPLAIN. */
import type { CallExpr, Expr, ExprKind, ExprOfKind } from '../../ast/index.ts';
import { ROW_COLUMN, prepareRowFunction, rowColumnIndex } from '../../expr/log-parsers.ts';

const quoteIdent = (s: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);

const RENDER: { readonly [K in ExprKind]: (e: ExprOfKind<K>) => string } = {
  literal: (e) =>
    e.value === null ? 'NULL' : e.type === 'VARCHAR' ? `'${String(e.value).replace(/'/g, "''")}'` : e.type === 'TIMESTAMP' ? `TIMESTAMP '${new Date(e.value as number).toISOString()}'` : String(e.value),
  interval: (e) => e.text,
  column: (e) => (e.qualifier ? `${quoteIdent(e.qualifier)}.` : '') + quoteIdent(e.name),
  unary: (e) => (e.op === 'NOT' ? `NOT ${renderExpr(e.operand)}` : `${e.op}${renderExpr(e.operand)}`),
  binary: (e) => `(${renderExpr(e.left)} ${e.op} ${renderExpr(e.right)})`,
  isNull: (e) => `${renderExpr(e.operand)} IS ${e.negated ? 'NOT ' : ''}NULL`,
  isDistinct: (e) => `${renderExpr(e.left)} IS ${e.negated ? 'NOT ' : ''}DISTINCT FROM ${renderExpr(e.right)}`,
  subqueryPredicate: (e) => `${e.operand ? `${renderExpr(e.operand)} ` : ''}${e.negated ? 'NOT ' : ''}${e.mode === 'in' ? 'IN' : 'EXISTS'} (SELECT ...)`,
  inList: (e) => `${renderExpr(e.operand)} ${e.negated ? 'NOT ' : ''}IN (${e.list.map(renderExpr).join(', ')})`,
  between: (e) => `${renderExpr(e.operand)} ${e.negated ? 'NOT ' : ''}BETWEEN ${renderExpr(e.low)} AND ${renderExpr(e.high)}`,
  like: (e) => `${renderExpr(e.operand)} ${e.negated ? 'NOT ' : ''}${e.similar ? 'SIMILAR TO' : 'LIKE'} ${renderExpr(e.pattern)}${e.escape ? ` ESCAPE ${renderExpr(e.escape)}` : ''}`,
  case: (e) =>
    `CASE${e.operand ? ` ${renderExpr(e.operand)}` : ''}${e.whens.map((w) => ` WHEN ${renderExpr(w.when)} THEN ${renderExpr(w.then)}`).join('')}${e.otherwise ? ` ELSE ${renderExpr(e.otherwise)}` : ''} END`,
  cast: (e) => `${e.lenient ? 'TRY_CAST' : 'CAST'}(${renderExpr(e.operand)} AS ${e.target.text})`,
  call: (e) =>
    e.name === ROW_COLUMN
      ? rowColumnText(e)
      : `${e.name}(${e.star ? '*' : `${e.distinct ? 'DISTINCT ' : ''}${e.args.map(renderExpr).join(', ')}`})${e.fromLast ? ' FROM LAST' : ''}${e.filter ? ` FILTER (WHERE ${renderExpr(e.filter)})` : ''}${e.over ? ' OVER (...)' : ''}`,
  floorCeil: (e) => `${e.fn}(${renderExpr(e.operand)}${e.unit ? ` TO ${e.unit}` : ''})`,
  extract: (e) => `EXTRACT(${e.unit} FROM ${renderExpr(e.operand)})`,
  step: (e) => `STEP(${renderExpr(e.operand)} BY ${e.interval.text})`,
};

/** A column of a log parser's row, as the parser's call and the column's name: `REGEX_LOG_PARSE(s, '(a)').COLUMN1`. */
function rowColumnText(e: CallExpr): string {
  const call = e.args[1] as CallExpr;
  const k = rowColumnIndex(e);
  return `${renderExpr(call)}.${quoteIdent(prepareRowFunction(call).columns[k]?.name ?? `COLUMN${k + 1}`)}`;
}

export function renderExpr(e: Expr): string {
  return (RENDER[e.kind] as (x: Expr) => string)(e);
}

export function renderMillis(ms: number): string {
  if (ms === 0) return '0';
  if (ms === Number.POSITIVE_INFINITY) return 'unbounded';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

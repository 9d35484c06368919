/**
 * `LAG(x [, n [, default]]) [IGNORE NULLS | RESPECT NULLS] OVER (...)`: the value of `x` in the row `n` rows
 * (default 1) before the current one of its partition, in the window's order; `default` (evaluated on the
 * current row, NULL when not given) when there is no such row in the window's frame. With IGNORE NULLS the
 * rows whose `x` is NULL are not counted. The operator keeping the rows is `operators/lag-buffer.ts`.
 */
import type { CallExpr, SqlTypeName } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import type { CompileContext } from './compile.ts';
import { compileExpr } from './compile.ts';
import type { CompiledFn } from './types.ts';

export interface CompiledLag {
  readonly text: string;
  readonly type: SqlTypeName;
  /** How many rows back; 0 is the current row. */
  readonly offset: number;
  readonly ignoreNulls: boolean;
  readonly value: CompiledFn;
  readonly fallback: CompiledFn;
}

const NUMERIC = new Set<SqlTypeName>(['BIGINT', 'DOUBLE']);

export function compileLag(call: CallExpr, ctx: CompileContext, text: string): CompiledLag {
  if (call.star || call.distinct || call.args.length < 1 || call.args.length > 3) {
    throw planProblem(call.pos, `${call.name} takes one to three arguments`, 'Write LAG(x), LAG(x, 2) or LAG(x, 1, 0).');
  }
  if (call.filter) throw planProblem(call.filter.pos, `${call.name} takes no FILTER`, 'Filter the rows in a subquery first.');
  const value = compileExpr(call.args[0]!, ctx);
  let offset = 1;
  const n = call.args[1];
  if (n) {
    if (n.kind !== 'literal' || typeof n.value !== 'number' || !Number.isSafeInteger(n.value) || n.value < 0) {
      throw planProblem(n.pos, `the offset of ${call.name} must be a whole number of rows, 0 or more`, 'Write a number, e.g. LAG(price, 2).');
    }
    offset = n.value;
  }
  const d = call.args[2] ? compileExpr(call.args[2], ctx) : null;
  let type = value.type;
  if (d && d.type !== type && d.type !== 'NULL' && d.type !== 'ANY' && type !== 'ANY') {
    if (type === 'NULL') type = d.type;
    else if (NUMERIC.has(type) && NUMERIC.has(d.type)) type = 'DOUBLE';
    else throw planProblem(call.args[2]!.pos, `the default of ${call.name} is ${d.type}, its value ${type}`, `Give a default of type ${type}, e.g. CAST(... AS ${type}).`);
  }
  return { text, type, offset, ignoreNulls: call.ignoreNulls, value: value.fn, fallback: d ? d.fn : () => null };
}

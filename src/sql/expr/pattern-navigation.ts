/**
 * Expressions of MATCH_RECOGNIZE's DEFINE and MEASURES, which read the rows of a (possible) match by pattern
 * variable: `A.price` (the last row mapped to A), `LAST(A.price, n)` and `FIRST(A.price, n)` (the n-th row
 * from the end or the start of A's rows), `PREV(A.price, n)` (the row n rows before that one in the
 * partition, mapped or not), aggregates over a variable's rows (`AVG(A.price)`), and `MATCH_ROWTIME()`.
 * Without a variable (`price`, `SUM(price)`) a reference reads every row mapped so far. In DEFINE the row
 * being tried counts as mapped to its variable.
 *
 * Each such reference becomes one value the match computes (`PatternRef`); the rest of the expression is
 * compiled as usual over those values.
 */
import type { CallExpr, ColumnExpr, Expr, SqlTypeName } from '../ast/index.ts';
import { mapChildren, someExpr } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import type { CompiledAggregate } from './aggregates.ts';
import { compileAggregate, isAggregateCall } from './aggregates.ts';
import type { CompileContext } from './compile.ts';
import { compileExpr } from './compile.ts';
import type { Field } from './scope.ts';
import { Scope } from './scope.ts';
import type { CompiledFn, Row, Value } from './types.ts';

/** One value an expression reads from the match. `variable` -1 means every variable. */
export type PatternRef =
  | { readonly kind: 'last' | 'first' | 'prev'; readonly variable: number; readonly offset: number; readonly fn: CompiledFn }
  | { readonly kind: 'aggregate'; readonly variable: number; readonly agg: CompiledAggregate }
  | { readonly kind: 'matchRowtime' };

export interface PatternExpr {
  readonly refs: readonly PatternRef[];
  /** The expression over the values of `refs`, in order. */
  readonly fn: CompiledFn;
  readonly type: SqlTypeName;
}

/**
 * The rows a match is made of while it is being found: positions `start` up to `current` of a partition's
 * rows, each mapped to a variable (`vars[p - start]`). In DEFINE, `current` is the row being tried and
 * `currentVar` its variable; in MEASURES `current` is one past the last row and `currentVar` is -1.
 */
export interface MatchView {
  readonly rows: readonly Row[];
  readonly times: readonly number[];
  readonly start: number;
  readonly vars: readonly number[];
  readonly current: number;
  readonly currentVar: number;
}

function varAt(view: MatchView, p: number): number {
  return p === view.current ? view.currentVar : view.vars[p - view.start]!;
}

/** The last mapped position: the current row in DEFINE, the match's last row in MEASURES. */
function lastMapped(view: MatchView): number {
  return view.currentVar >= 0 ? view.current : view.current - 1;
}

/** The position of the n-th row (0: the last) of `variable` counting back, or -1. */
function fromEnd(view: MatchView, variable: number, n: number): number {
  for (let p = lastMapped(view); p >= view.start; p--) {
    if (variable >= 0 && varAt(view, p) !== variable) continue;
    if (n-- === 0) return p;
  }
  return -1;
}

function fromStart(view: MatchView, variable: number, n: number): number {
  const end = lastMapped(view);
  for (let p = view.start; p <= end; p++) {
    if (variable >= 0 && varAt(view, p) !== variable) continue;
    if (n-- === 0) return p;
  }
  return -1;
}

function refValue(ref: PatternRef, view: MatchView): Value {
  switch (ref.kind) {
    case 'matchRowtime':
      return view.times[lastMapped(view)] ?? null;
    case 'aggregate': {
      const acc = ref.agg.create();
      const end = lastMapped(view);
      for (let p = view.start; p <= end; p++) if (ref.variable < 0 || varAt(view, p) === ref.variable) ref.agg.add(acc, view.rows[p]!);
      return ref.agg.result(acc);
    }
    case 'prev': {
      const at = fromEnd(view, ref.variable, 0);
      const p = at < 0 ? -1 : at - ref.offset;
      return p < 0 ? null : ref.fn(view.rows[p]!);
    }
    default: {
      const p = ref.kind === 'last' ? fromEnd(view, ref.variable, ref.offset) : fromStart(view, ref.variable, ref.offset);
      return p < 0 ? null : ref.fn(view.rows[p]!);
    }
  }
}

export function evaluatePattern(e: PatternExpr, view: MatchView): Value {
  return e.fn(e.refs.map((r) => refValue(r, view)));
}

/** The most rows any PREV of `exprs` looks back beyond the row it starts from. */
export function prevReach(exprs: readonly PatternExpr[]): number {
  let most = 0;
  for (const e of exprs) for (const r of e.refs) if (r.kind === 'prev') most = Math.max(most, r.offset);
  return most;
}

const NAVIGATION = new Set(['FIRST', 'LAST', 'PREV']);
const UNSUPPORTED: Record<string, string> = {
  NEXT: 'NEXT(...) looks at rows after the current one, which is not supported; compare with PREV(...) or LAST(..., n) from the later row instead.',
  CLASSIFIER: 'CLASSIFIER() is not supported (it belongs to ALL ROWS PER MATCH).',
  MATCH_NUMBER: 'MATCH_NUMBER() is not supported.',
  MATCH_PROCTIME: 'MATCH_PROCTIME() is not supported: there is no processing-time attribute here; use MATCH_ROWTIME().',
};

/**
 * Compiles a DEFINE condition or a measure. `variables` are the pattern's variables (upper case) by index;
 * `input` is the context of the rows matched.
 */
export function compilePatternExpr(e: Expr, variables: readonly string[], input: CompileContext): PatternExpr {
  const refs: PatternRef[] = [];
  const fields: Field[] = [];
  const variableOf = (name: string | null) => (name === null ? -1 : variables.indexOf(name.toUpperCase()));
  const add = (ref: PatternRef, type: SqlTypeName): Expr => {
    const name = `$ref${refs.length}`;
    refs.push(ref);
    fields.push({ name, type, qualifier: null, hidden: false });
    return { kind: 'column', qualifier: null, name, quoted: true, pos: e.pos } satisfies ColumnExpr;
  };
  /** The one variable the columns of `x` name (-1 for none), and `x` with those columns unqualified. */
  const single = (x: Expr, what: string, pos: Expr['pos']): { variable: number; expr: Expr } => {
    const found = new Set<number>();
    const strip = (y: Expr): Expr => {
      if (y.kind === 'column' && variableOf(y.qualifier) >= 0) {
        found.add(variableOf(y.qualifier));
        return { ...y, qualifier: null };
      }
      return mapChildren(y, strip);
    };
    const expr = strip(x);
    if (found.size > 1) throw planProblem(pos, `${what} reads more than one pattern variable`, `Read one variable inside it, e.g. ${what.startsWith('an aggregate') ? 'SUM(A.price * A.tax)' : 'LAST(A.price * A.tax)'}.`);
    return { variable: found.size === 1 ? [...found][0]! : -1, expr };
  };
  const rewrite = (x: Expr): Expr => {
    if (x.kind === 'call' && x.over === null) {
      if (x.name in UNSUPPORTED) throw planProblem(x.pos, `${x.name} in MATCH_RECOGNIZE is not supported`, UNSUPPORTED[x.name]!);
      if (x.name === 'MATCH_ROWTIME') {
        if (x.args.length > 0) throw planProblem(x.pos, 'MATCH_ROWTIME with an argument is not supported', 'Write MATCH_ROWTIME(): the time of the last row of the match.');
        return add({ kind: 'matchRowtime' }, 'TIMESTAMP');
      }
      if (NAVIGATION.has(x.name)) return navigation(x);
      if (isAggregateCall(x)) {
        if (x.distinct) throw planProblem(x.pos, `${x.name}(DISTINCT ...) in MATCH_RECOGNIZE is not supported`, `Write ${x.name}(...) without DISTINCT.`);
        const { variable, expr } = single(x, 'an aggregate', x.pos);
        const agg = compileAggregate(expr as CallExpr, input, x.name);
        return add({ kind: 'aggregate', variable, agg }, agg.type);
      }
    }
    if (x.kind === 'column') {
      const variable = variableOf(x.qualifier);
      const c = compileExpr(variable >= 0 ? { ...x, qualifier: null } : x, input);
      return add({ kind: 'last', variable, offset: 0, fn: c.fn }, c.type);
    }
    return mapChildren(x, rewrite);
  };
  const navigation = (x: CallExpr): Expr => {
    const kind = x.name.toLowerCase() as 'first' | 'last' | 'prev';
    if (x.args.length < 1 || x.args.length > 2) throw planProblem(x.pos, `${x.name} takes a value and perhaps an offset`, `Write ${x.name}(A.price) or ${x.name}(A.price, 1).`);
    const offsetArg = x.args[1];
    let offset = kind === 'prev' ? 1 : 0;
    if (offsetArg) {
      if (offsetArg.kind !== 'literal' || typeof offsetArg.value !== 'number' || !Number.isInteger(offsetArg.value) || offsetArg.value < 0) {
        throw planProblem(offsetArg.pos, `the offset of ${x.name} must be a whole number of rows, 0 or more`, `Write ${x.name}(A.price, 1).`);
      }
      offset = offsetArg.value;
    }
    const { variable, expr } = single(x.args[0]!, `${x.name}(...)`, x.pos);
    if (someExpr(expr, (y) => (y.kind === 'call' && (isAggregateCall(y) || NAVIGATION.has(y.name))) || y.kind === 'subqueryPredicate')) {
      throw planProblem(x.args[0]!.pos, `${x.name}(...) reads a value of one row: no aggregate or other navigation inside it`, `Write ${x.name}(A.price).`);
    }
    const c = compileExpr(expr, input);
    return add({ kind, variable, offset, fn: c.fn }, c.type);
  };
  const rewritten = rewrite(e);
  const compiled = compileExpr(rewritten, { ...input, scope: new Scope(fields), substitutions: undefined });
  return { refs, fn: compiled.fn, type: compiled.type };
}

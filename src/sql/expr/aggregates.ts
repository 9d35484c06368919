/**
 * Aggregate functions as accumulators: `add` one row, `merge` two (session windows), `result`, and a plain
 * JSON `snapshot` for checkpoints. COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, MIN, MAX, AVG, FIRST_VALUE,
 * LAST_VALUE, FILTER (WHERE).
 */
import type { CallExpr, SqlTypeName } from '../ast/index.ts';
import { someExpr } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import type { CompileContext } from './compile.ts';
import { compileExpr, compilePredicate } from './compile.ts';
import type { Row, Value } from './types.ts';
import { RowError } from './types.ts';

export type AggregateName = 'COUNT' | 'SUM' | 'MIN' | 'MAX' | 'AVG' | 'FIRST_VALUE' | 'LAST_VALUE';

/** The running state of one aggregate in one group. Kept small: one or two numbers, or a set for DISTINCT. */
export interface Acc {
  v: Value;
  n: number;
  distinct?: Set<Value>;
}

export interface CompiledAggregate {
  readonly name: AggregateName;
  readonly type: SqlTypeName;
  readonly text: string;
  create(): Acc;
  /** Adds the row's contribution (after the FILTER, if any). */
  add(acc: Acc, row: Row): void;
  merge(into: Acc, from: Acc): void;
  result(acc: Acc): Value;
}

interface Kernel {
  readonly step: (acc: Acc, v: Value) => void;
  readonly merge: (into: Acc, from: Acc) => void;
  readonly result: (acc: Acc) => Value;
  readonly type: (arg: SqlTypeName) => SqlTypeName;
}

function sumStep(integer: boolean) {
  return (acc: Acc, v: Value) => {
    if (v === null) return;
    const x = typeof v === 'number' ? v : Number(v);
    if (Number.isNaN(x)) throw new RowError('EVAL_ERROR', `SUM of '${String(v)}', which is not a number`);
    acc.v = acc.v === null ? x : (acc.v as number) + x;
    if (integer && !Number.isSafeInteger(acc.v)) throw new RowError('INTEGER_OVERFLOW', 'SUM beyond ±2^53; cast the argument to DOUBLE');
    acc.n++;
  };
}

const KERNELS: Record<AggregateName, (integer: boolean) => Kernel> = {
  COUNT: () => ({
    step: (acc, v) => {
      if (v !== null) acc.n++;
    },
    merge: (a, b) => {
      a.n += b.n;
    },
    result: (acc) => acc.n,
    type: () => 'BIGINT',
  }),
  SUM: (integer) => ({
    step: sumStep(integer),
    merge: (a, b) => {
      if (b.v !== null) a.v = a.v === null ? b.v : (a.v as number) + (b.v as number);
      a.n += b.n;
    },
    result: (acc) => acc.v,
    type: (t) => (t === 'BIGINT' ? 'BIGINT' : t === 'ANY' ? 'ANY' : 'DOUBLE'),
  }),
  MIN: () => ({
    step: (acc, v) => {
      if (v !== null && (acc.v === null || v < acc.v)) acc.v = v;
    },
    merge: (a, b) => {
      if (b.v !== null && (a.v === null || b.v < a.v)) a.v = b.v;
    },
    result: (acc) => acc.v,
    type: (t) => t,
  }),
  MAX: () => ({
    step: (acc, v) => {
      if (v !== null && (acc.v === null || v > acc.v)) acc.v = v;
    },
    merge: (a, b) => {
      if (b.v !== null && (a.v === null || b.v > a.v)) a.v = b.v;
    },
    result: (acc) => acc.v,
    type: (t) => t,
  }),
  // The first and the last non-null value in the order rows reach the aggregate (oldest first in OVER windows).
  FIRST_VALUE: () => ({
    step: (acc, v) => {
      if (v !== null && acc.n === 0) {
        acc.v = v;
        acc.n = 1;
      }
    },
    merge: () => {
      throw new Error('FIRST_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => acc.v,
    type: (t) => t,
  }),
  LAST_VALUE: () => ({
    step: (acc, v) => {
      if (v !== null) {
        acc.v = v;
        acc.n++;
      }
    },
    merge: () => {
      throw new Error('LAST_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => acc.v,
    type: (t) => t,
  }),
  AVG: () => ({
    step: sumStep(false),
    merge: (a, b) => {
      if (b.v !== null) a.v = a.v === null ? b.v : (a.v as number) + (b.v as number);
      a.n += b.n;
    },
    result: (acc) => (acc.n === 0 ? null : (acc.v as number) / acc.n),
    type: () => 'DOUBLE',
  }),
};

export function isAggregateCall(e: { kind: string; name?: string; over?: unknown }): boolean {
  return e.kind === 'call' && e.over === null && e.name !== undefined && e.name in KERNELS;
}

export function compileAggregate(call: CallExpr, ctx: CompileContext, text: string): CompiledAggregate {
  const name = call.name as AggregateName;
  if (!(name in KERNELS)) throw planProblem(call.pos, `${call.name} is not an aggregate function`, 'Aggregates are COUNT, SUM, MIN, MAX, AVG, FIRST_VALUE, LAST_VALUE.');
  if (call.star && name !== 'COUNT') throw planProblem(call.pos, `${name}(*) is not valid`, 'Only COUNT takes *.');
  if (!call.star && call.args.length !== 1) throw planProblem(call.pos, `${name} takes one argument, got ${call.args.length}`, '');
  if (!call.star && someExpr(call.args[0]!, (e) => isAggregateCall(e))) {
    throw planProblem(call.args[0]!.pos, `aggregates cannot be nested in ${name}`, 'Aggregate in a subquery, then aggregate its result outside.');
  }
  const arg = call.star ? null : compileExpr(call.args[0]!, ctx);
  if (arg && (name === 'SUM' || name === 'AVG') && !['BIGINT', 'DOUBLE', 'ANY', 'NULL', 'INTERVAL'].includes(arg.type)) {
    throw planProblem(call.args[0]!.pos, `${name} needs numbers, this is ${arg.type}`, 'CAST the argument to a number.');
  }
  const kernel = KERNELS[name](arg?.type === 'BIGINT');
  const filter = call.filter ? compilePredicate(call.filter, ctx) : null;
  const argFn = arg ? arg.fn : () => 1;
  const distinct = call.distinct;
  const { step } = kernel;
  let add: (acc: Acc, row: Row) => void;
  if (distinct) {
    add = (acc, row) => {
      const v = argFn(row);
      if (v !== null) (acc.distinct ??= new Set()).add(v);
    };
  } else if (filter) {
    add = (acc, row) => {
      if (filter(row)) step(acc, argFn(row));
    };
  } else add = (acc, row) => step(acc, argFn(row));
  if (distinct && filter) {
    const inner = add;
    add = (acc, row) => {
      if (filter(row)) inner(acc, row);
    };
  }
  return {
    name,
    type: kernel.type(arg?.type ?? 'BIGINT'),
    text,
    create: () => ({ v: null, n: 0 }),
    add,
    merge: distinct
      ? (a, b) => {
          if (b.distinct) for (const v of b.distinct) (a.distinct ??= new Set()).add(v);
        }
      : kernel.merge,
    result: distinct
      ? (acc) => {
          const tmp: Acc = { v: null, n: 0 };
          if (acc.distinct) for (const v of acc.distinct) step(tmp, v);
          return kernel.result(tmp);
        }
      : kernel.result,
  };
}

/** Accumulators back from `snapshotAccs`. */
export function restoreAccs(snapshot: unknown): Acc[] {
  return (snapshot as { v: Value; n: number; d?: Value[] }[]).map((a) => (a.d ? { v: a.v, n: a.n, distinct: new Set(a.d) } : { v: a.v, n: a.n }));
}

/** A JSON-friendly copy of accumulators, for checkpoints. */
export function snapshotAccs(accs: readonly Acc[]): unknown {
  return accs.map((a) => (a.distinct ? { v: a.v, n: a.n, d: [...a.distinct] } : { v: a.v, n: a.n }));
}

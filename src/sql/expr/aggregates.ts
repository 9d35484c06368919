/**
 * Aggregate functions as accumulators: `add` one row, `merge` two (session windows), `result`, and a plain
 * JSON `snapshot` for checkpoints. COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, MIN, MAX, AVG, FIRST_VALUE,
 * LAST_VALUE, the variances and standard deviations, ANY and EVERY, Flink's LISTAGG, FILTER (WHERE).
 */
import type { CallExpr, SqlTypeName } from '../ast/index.ts';
import { someExpr } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import type { CompileContext } from './compile.ts';
import { compileExpr, compilePredicate } from './compile.ts';
import type { Row, Value } from './types.ts';
import { RowError } from './types.ts';

export type AggregateName = 'COUNT' | 'SUM' | 'MIN' | 'MAX' | 'AVG' | 'FIRST_VALUE' | 'LAST_VALUE' | 'NTH_VALUE' | 'ANY' | 'EVERY' | 'LISTAGG' | VarianceName;
type VarianceName = 'VAR_POP' | 'VAR_SAMP' | 'VARIANCE' | 'STDDEV_POP' | 'STDDEV_SAMP' | 'STDDEV';

/** The running state of one aggregate in one group. Kept small: one or two numbers, or a set for DISTINCT. */
export interface Acc {
  v: Value;
  n: number;
  distinct?: Set<Value>;
  /** The variances' sum of squared differences from the mean (`v`). */
  q?: number;
  /** NTH_VALUE ... FROM LAST: the last n values counted, oldest first; LISTAGG: every value, oldest first. */
  last?: Value[];
}

export interface CompiledAggregate {
  readonly name: AggregateName | 'EXP_AVG';
  readonly type: SqlTypeName;
  readonly text: string;
  create(): Acc;
  /**
   * Adds the row's contribution (after the FILTER, if any). `age` is how much older the row is than the
   * current row of an OVER window; only EXP_AVG, which is allowed in OVER windows alone, reads it.
   */
  add(acc: Acc, row: Row, age?: number): void;
  merge(into: Acc, from: Acc): void;
  result(acc: Acc): Value;
  /**
   * Merging accumulators gives exactly the result of adding every row to one (COUNT, and MIN and MAX of
   * values other than DOUBLE), so a window's result may be combined from parts of it.
   */
  readonly exactMerge?: boolean;
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

/**
 * Variances keep the count, the mean (`v`) and the sum of squared differences from it (`q`), updated one
 * value at a time (Welford) and merged by Chan's rule: the same numbers as the documented
 * (SUM(x*x) - SUM(x)*SUM(x)/n) / n, without its loss of digits when values are large and close together.
 */
function variance(result: (q: number, n: number) => number | null): () => Kernel {
  return () => ({
    step: (acc, v) => {
      if (v === null) return;
      const x = typeof v === 'number' ? v : Number(v);
      if (Number.isNaN(x)) throw new RowError('EVAL_ERROR', `variance of '${String(v)}', which is not a number`);
      acc.n++;
      const mean = acc.v === null ? 0 : (acc.v as number);
      const delta = x - mean;
      const next = mean + delta / acc.n;
      acc.q = (acc.q ?? 0) + delta * (x - next);
      acc.v = next;
    },
    merge: (a, b) => {
      if (b.n === 0) return;
      if (a.n === 0) {
        a.v = b.v;
        a.n = b.n;
        a.q = b.q ?? 0;
        return;
      }
      const n = a.n + b.n;
      const delta = (b.v as number) - (a.v as number);
      a.q = (a.q ?? 0) + (b.q ?? 0) + (delta * delta * a.n * b.n) / n;
      a.v = (a.v as number) + (delta * b.n) / n;
      a.n = n;
    },
    result: (acc) => (acc.n === 0 ? null : result(Math.max(0, acc.q ?? 0), acc.n)),
    type: () => 'DOUBLE',
  });
}

/**
 * FIRST_VALUE and LAST_VALUE that count NULLs (RESPECT NULLS): the value of the first and the last row, NULL
 * or not. The default in Kinesis Analytics; Flink's (and IGNORE NULLS) skip NULLs (KERNELS).
 */
const RESPECTING_NULLS: Readonly<Record<'FIRST_VALUE' | 'LAST_VALUE', Kernel>> = {
  FIRST_VALUE: firstValue(false),
  LAST_VALUE: lastValue(false),
};

/** FIRST_VALUE: the value of the first row, or of the first non-NULL one with `skipNulls`. */
function firstValue(skipNulls: boolean): Kernel {
  return {
    step: (acc, v) => {
      if (acc.n === 0 && !(skipNulls && v === null)) {
        acc.v = v;
        acc.n = 1;
      }
    },
    merge: () => {
      throw new Error('FIRST_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => acc.v,
    type: (t) => t,
  };
}

/** LAST_VALUE: the value of the last row, or of the last non-NULL one with `skipNulls`. */
function lastValue(skipNulls: boolean): Kernel {
  return {
    step: (acc, v) => {
      if (skipNulls && v === null) return;
      acc.v = v;
      acc.n++;
    },
    merge: () => {
      throw new Error('LAST_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => acc.v,
    type: (t) => t,
  };
}

/** NTH_VALUE(x, n): the value of the nth row in order (NULL until there are n), or of the nth non-NULL value with IGNORE NULLS. */
function nthValue(nth: number, ignoreNulls: boolean): Kernel {
  return {
    step: (acc, v) => {
      if (ignoreNulls && v === null) return;
      if (++acc.n === nth) acc.v = v;
    },
    merge: () => {
      throw new Error('NTH_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => (acc.n >= nth ? acc.v : null),
    type: (t) => t,
  };
}

/** NTH_VALUE(x, n) FROM LAST: the value of the nth row counted back from the last (NULL until there are n). */
function nthValueFromLast(nth: number, ignoreNulls: boolean): Kernel {
  return {
    step: (acc, v) => {
      if (ignoreNulls && v === null) return;
      acc.n++;
      const last = (acc.last ??= []);
      last.push(v);
      if (last.length > nth) last.shift();
    },
    merge: () => {
      throw new Error('NTH_VALUE cannot merge accumulators: it is refused in SESSION windows');
    },
    result: (acc) => (acc.last !== undefined && acc.last.length === nth ? acc.last[0]! : null),
    type: (t) => t,
  };
}

/**
 * Kinesis Analytics' ANY(condition) and EVERY(condition): whether the condition held in some row, or in
 * every row, of the group. NULLs are skipped as other aggregates skip them, so a group of NULLs only gives
 * NULL. `v` holds the answer so far; merging is exact.
 */
function someOrEvery(every: boolean): Kernel {
  return {
    step: (acc, v) => {
      if (v === null) return;
      acc.v = acc.n === 0 ? v === true : every ? acc.v === true && v === true : acc.v === true || v === true;
      acc.n++;
    },
    merge: (a, b) => {
      if (b.n === 0) return;
      a.v = a.n === 0 ? b.v : every ? a.v === true && b.v === true : a.v === true || b.v === true;
      a.n += b.n;
    },
    result: (acc) => (acc.n === 0 ? null : acc.v),
    type: () => 'BOOLEAN',
  };
}

/**
 * Flink's LISTAGG(x[, separator]): the values that are not NULL joined by the separator (',' by default), in
 * the order rows reach the aggregate; NULL without any. The values are the accumulator's list, which
 * checkpoints already carry (`l`); merging appends, so merged SESSION windows would lose the order and
 * LISTAGG is refused there as FIRST_VALUE is. No input it reads is ever retracted (the planner refuses to
 * aggregate an updating result), so the list only grows.
 */
function listAgg(separator: string): Kernel {
  return {
    step: (acc, v) => {
      if (v === null) return;
      (acc.last ??= []).push(typeof v === 'string' ? v : String(v));
      acc.n++;
    },
    merge: (a, b) => {
      if (b.n === 0) return;
      a.last = [...(a.last ?? []), ...b.last!];
      a.n += b.n;
    },
    result: (acc) => (acc.n === 0 ? null : acc.last!.join(separator)),
    type: () => 'VARCHAR',
  };
}

const varPop = (q: number, n: number) => q / n;
const varSamp = (q: number, n: number) => (n < 2 ? null : q / (n - 1));

const KERNELS: Record<AggregateName, (integer: boolean) => Kernel> = {
  // Its n is an argument: compileAggregate builds it (nthValue); this entry makes it known as an aggregate.
  NTH_VALUE: () => nthValue(1, false),
  // Its separator is an argument: compileAggregate builds it (listAgg); this entry makes it known as an aggregate.
  LISTAGG: () => listAgg(','),
  ANY: () => someOrEvery(false),
  EVERY: () => someOrEvery(true),
  VAR_POP: variance(varPop),
  VAR_SAMP: variance(varSamp),
  VARIANCE: variance(varSamp),
  STDDEV_POP: variance((q, n) => Math.sqrt(varPop(q, n))),
  STDDEV_SAMP: variance((q, n) => (n < 2 ? null : Math.sqrt(q / (n - 1)))),
  STDDEV: variance((q, n) => (n < 2 ? null : Math.sqrt(q / (n - 1)))),
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
  FIRST_VALUE: () => firstValue(true),
  LAST_VALUE: () => lastValue(true),
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

const VARIANCES: Readonly<Record<VarianceName, true>> = { VAR_POP: true, VAR_SAMP: true, VARIANCE: true, STDDEV_POP: true, STDDEV_SAMP: true, STDDEV: true };

/** Types whose values `<` orders totally (DOUBLE has NaN). */
const EXACT_ORDER: ReadonlySet<SqlTypeName> = new Set<SqlTypeName>(['BIGINT', 'VARCHAR', 'TIMESTAMP', 'INTERVAL', 'BOOLEAN']);

export function isAggregateCall(e: { kind: string; name?: string; over?: unknown }): boolean {
  return e.kind === 'call' && e.over === null && e.name !== undefined && e.name in KERNELS;
}

export function compileAggregate(call: CallExpr, ctx: CompileContext, text: string): CompiledAggregate {
  if (call.name === 'EXP_AVG') return compileExpAvg(call, ctx, text);
  const name = call.name as AggregateName;
  if (!(name in KERNELS)) throw planProblem(call.pos, `${call.name} is not an aggregate function`, `Aggregates are ${Object.keys(KERNELS).join(', ')}.`);
  if (call.star && name !== 'COUNT') throw planProblem(call.pos, `${name}(*) is not valid`, 'Only COUNT takes *.');
  if (name === 'LISTAGG' && ctx.dialect === 'kinesis') throw planProblem(call.pos, 'unknown function LISTAGG', 'LISTAGG is a Flink function; Kinesis Analytics has no aggregate that joins texts.');
  const nth = name === 'NTH_VALUE' ? nthArgument(call) : 0;
  const separator = name === 'LISTAGG' ? listAggSeparator(call) : ',';
  if (!call.star && name !== 'LISTAGG' && call.args.length !== (name === 'NTH_VALUE' ? 2 : 1)) throw planProblem(call.pos, `${name} takes one argument, got ${call.args.length}`, '');
  if (!call.star && someExpr(call.args[0]!, (e) => isAggregateCall(e))) {
    throw planProblem(call.args[0]!.pos, `aggregates cannot be nested in ${name}`, 'Aggregate in a subquery, then aggregate its result outside.');
  }
  const arg = call.star ? null : compileExpr(call.args[0]!, ctx);
  if (arg && (name === 'SUM' || name === 'AVG' || name in VARIANCES) && !['BIGINT', 'DOUBLE', 'ANY', 'NULL', 'INTERVAL'].includes(arg.type)) {
    throw planProblem(call.args[0]!.pos, `${name} needs numbers, this is ${arg.type}`, 'CAST the argument to a number.');
  }
  if (arg && name === 'LISTAGG' && !['VARCHAR', 'ANY', 'NULL'].includes(arg.type)) {
    throw planProblem(call.args[0]!.pos, `LISTAGG joins texts, this is ${arg.type}`, 'CAST the argument to VARCHAR.');
  }
  if (arg && (name === 'ANY' || name === 'EVERY') && !['BOOLEAN', 'ANY', 'NULL'].includes(arg.type)) {
    throw planProblem(call.args[0]!.pos, `${name} needs a condition, this is ${arg.type}`, `Compare the value, e.g. ${name}(price < 1).`);
  }
  const ordered = name === 'FIRST_VALUE' || name === 'LAST_VALUE' || name === 'NTH_VALUE';
  if (call.nullTreatment !== undefined && !ordered) throw planProblem(call.pos, `${call.nullTreatment} NULLS applies to LAG, FIRST_VALUE and LAST_VALUE, not to ${name}`, 'Leave it out here.');
  // Kinesis Analytics counts NULLs unless told IGNORE NULLS; Flink skips them.
  const respectNulls = ordered && (call.nullTreatment === 'RESPECT' || (call.nullTreatment === undefined && ctx.dialect === 'kinesis'));
  // NTH_VALUE counts NULLs unless told IGNORE NULLS, in both dialects.
  const kernel =
    name === 'NTH_VALUE'
      ? (call.fromLast ? nthValueFromLast : nthValue)(nth, call.nullTreatment === 'IGNORE')
      : name === 'LISTAGG'
        ? listAgg(separator)
        : respectNulls
          ? RESPECTING_NULLS[name as 'FIRST_VALUE' | 'LAST_VALUE']
          : KERNELS[name](arg?.type === 'BIGINT');
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
    exactMerge: !distinct && (name === 'COUNT' || name === 'ANY' || name === 'EVERY' || ((name === 'MIN' || name === 'MAX') && arg !== null && EXACT_ORDER.has(arg.type))),
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

/**
 * Kinesis Analytics' EXP_AVG(x, halfLife) OVER a sliding window: the average of the window's values, each
 * weighted by how old its row is. The window is cut, back from the current row, into spans of `halfLife`;
 * a row in the newest span weighs 1, in the one before 1/2, then 1/4 (the reference's example: the newest
 * 10 s weigh twice the middle 10 s and four times the oldest). NULLs are skipped, as AVG skips them.
 * Only OVER windows call it, with each row's age (plan-query refuses it elsewhere).
 */
function compileExpAvg(call: CallExpr, ctx: CompileContext, text: string): CompiledAggregate {
  const half = call.args[1];
  if (call.star || call.distinct || call.args.length !== 2 || half === undefined || half.kind !== 'interval' || !(half.millis > 0)) {
    throw planProblem(half?.pos ?? call.pos, 'EXP_AVG takes a value and a half-life, a positive interval: EXP_AVG(price, INTERVAL \'10\' SECOND)', 'Write the half-life as an INTERVAL literal.');
  }
  if (someExpr(call.args[0]!, (e) => isAggregateCall(e))) throw planProblem(call.args[0]!.pos, 'aggregates cannot be nested in EXP_AVG', '');
  const arg = compileExpr(call.args[0]!, ctx);
  if (!['BIGINT', 'DOUBLE', 'ANY', 'NULL'].includes(arg.type)) throw planProblem(call.args[0]!.pos, `EXP_AVG needs numbers, this is ${arg.type}`, 'CAST the argument to a number.');
  const halfLife = half.millis;
  const filter = call.filter ? compilePredicate(call.filter, ctx) : null;
  const argFn = arg.fn;
  return {
    name: 'EXP_AVG',
    type: 'DOUBLE',
    text,
    // v: the weighted sum, q: the sum of the weights, n: the values counted.
    create: () => ({ v: null, n: 0, q: 0 }),
    add: (acc, row, age) => {
      if (age === undefined) throw new Error('EXP_AVG is computed over an OVER window only');
      if (filter && !filter(row)) return;
      const value = argFn(row);
      if (value === null) return;
      const x = typeof value === 'number' ? value : Number(value);
      if (Number.isNaN(x)) throw new RowError('EVAL_ERROR', `EXP_AVG of '${String(value)}', which is not a number`);
      const weight = 0.5 ** Math.floor(Math.max(0, age) / halfLife);
      acc.v = ((acc.v as number | null) ?? 0) + weight * x;
      acc.q = (acc.q ?? 0) + weight;
      acc.n++;
    },
    merge: () => {
      throw new Error('EXP_AVG cannot merge accumulators: it is computed over OVER windows only');
    },
    result: (acc) => (acc.n === 0 ? null : (acc.v as number) / acc.q!),
  };
}

/** NTH_VALUE's n: a whole number of 1 or more, written as it is. */
function nthArgument(call: CallExpr): number {
  const n = call.args[1];
  if (call.args.length !== 2 || n === undefined || n.kind !== 'literal' || typeof n.value !== 'number' || !Number.isInteger(n.value) || n.value < 1) {
    throw planProblem(n?.pos ?? call.pos, 'NTH_VALUE takes a value and n, a whole number of 1 or more: NTH_VALUE(x, 2)', 'Write n as a number, e.g. NTH_VALUE(price, 2) OVER w.');
  }
  return n.value;
}

/** LISTAGG's separator: text written as it is (Flink takes a literal only), ',' when left out. */
function listAggSeparator(call: CallExpr): string {
  const sep = call.args[1];
  if (call.star || call.args.length < 1 || call.args.length > 2) throw planProblem(call.pos, `LISTAGG takes a text and an optional separator, got ${call.star ? '*' : call.args.length} argument(s)`, "LISTAGG(plate, ', ')");
  if (sep === undefined) return ',';
  if (sep.kind !== 'literal' || typeof sep.value !== 'string') throw planProblem(sep.pos, "LISTAGG's separator must be text written as it is, e.g. ', '", "LISTAGG(plate, ', ')");
  return sep.value;
}

/** Accumulators back from `snapshotAccs`. */
export function restoreAccs(snapshot: unknown): Acc[] {
  return (snapshot as { v: Value; n: number; d?: Value[]; q?: number; l?: Value[] }[]).map((a) => {
    const acc: Acc = a.d ? { v: a.v, n: a.n, distinct: new Set(a.d) } : { v: a.v, n: a.n };
    if (a.q !== undefined) acc.q = a.q;
    if (a.l !== undefined) acc.last = a.l;
    return acc;
  });
}

/** A JSON-friendly copy of accumulators, for checkpoints. */
export function snapshotAccs(accs: readonly Acc[]): unknown {
  return accs.map((a) => {
    const out: { v: Value; n: number; d?: Value[]; q?: number; l?: Value[] } = a.distinct ? { v: a.v, n: a.n, d: [...a.distinct] } : { v: a.v, n: a.n };
    if (a.q !== undefined) out.q = a.q;
    if (a.last !== undefined) out.l = [...a.last];
    return out;
  });
}

/**
 * Compiles an expression to a closure over row positions, once per query. Rows are never walked as
 * trees at run time. Types are inferred here so integers stay integers and timestamps print as timestamps.
 */
import type { CallExpr, Expr, ExprKind, ExprOfKind, QueryDialect, SqlTypeName } from '../ast/index.ts';
import { exprKey } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import { ROW_COLUMN, ROW_FUNCTIONS, rowColumnIndex, rowColumnReader } from './log-parsers.ts';
import type { ArgumentKind } from './functions.ts';
import { DIALECT_FUNCTIONS, SCALAR_FUNCTIONS, UNSUPPORTED_FUNCTIONS, ceilTime, extractField, floorTime, intervalField, misfitArgument } from './functions.ts';
import {
  arithmeticType,
  castValue,
  coerceTo,
  comparable,
  compileArithmetic,
  compileComparison,
  likeRegex,
  textOf,
  toNumber,
} from './operations.ts';
import type { Scope } from './scope.ts';
import type { CompiledExpr, CompiledFn, Row, Value, WatermarkCell } from './types.ts';
import { RowError, beyondBits, integerBits } from './types.ts';

export { castValue, textOf } from './operations.ts';

export interface CompileContext {
  readonly scope: Scope;
  /** Expressions an operator below already computed (group keys, aggregates): exprKey -> row position. */
  readonly substitutions?: ReadonlyMap<string, number>;
  /** The clock for CURRENT_TIMESTAMP (processing time). */
  readonly now: () => number;
  /** Whose meaning functions get where the dialects differ. @default 'flink' */
  readonly dialect?: QueryDialect;
  /**
   * The watermark CURRENT_WATERMARK reads: given only where the operator that evaluates the expression keeps
   * it up to date (a Calc: select list and WHERE); elsewhere CURRENT_WATERMARK is refused.
   */
  readonly watermark?: WatermarkCell;
}

const ARGUMENT_KIND_NAMES: Readonly<Record<ArgumentKind, string>> = {
  text: 'text', number: 'a number', boolean: 'a boolean', time: 'a time', timeOrInterval: 'a time or an interval', any: 'a value',
};

export const AGGREGATE_FUNCTIONS = new Set([
  'COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'FIRST_VALUE', 'LAST_VALUE', 'ROW_NUMBER', 'RANK', 'DENSE_RANK',
  'VAR_POP', 'VAR_SAMP', 'VARIANCE', 'STDDEV_POP', 'STDDEV_SAMP', 'STDDEV', 'NTH_VALUE',
  'ANY', 'EVERY', 'LISTAGG',
]);

export function compileExpr(e: Expr, ctx: CompileContext): CompiledExpr {
  const sub = ctx.substitutions?.get(exprKey(e));
  if (sub !== undefined) return column(sub, ctx.scope.fields[sub]!.type);
  const compiled = (COMPILERS[e.kind] as (x: Expr, c: CompileContext) => CompiledExpr)(e, ctx);
  if (compiled.constant && e.kind !== 'literal' && e.kind !== 'interval') {
    try {
      const v = compiled.fn([]);
      return constant(v, compiled.type);
    } catch {
      return compiled;
    }
  }
  return compiled;
}

/** A predicate: only TRUE passes (NULL and FALSE do not). */
export function compilePredicate(e: Expr, ctx: CompileContext): (row: Row) => boolean {
  const c = compileExpr(e, ctx);
  if (c.type !== 'BOOLEAN' && c.type !== 'ANY' && c.type !== 'NULL') {
    throw planProblem(e.pos, `a condition must be true or false, this is ${c.type}`, 'Compare the value, e.g. x > 0 or x IS NOT NULL.');
  }
  const fn = c.fn;
  return (row) => fn(row) === true;
}

function constant(v: Value, type: SqlTypeName): CompiledExpr {
  return { fn: () => v, type, constant: true };
}

function column(i: number, type: SqlTypeName): CompiledExpr {
  return { fn: (row) => row[i] as Value, type, constant: false };
}

function derived(fn: CompiledFn, type: SqlTypeName, parts: readonly CompiledExpr[]): CompiledExpr {
  return { fn, type, constant: parts.every((p) => p.constant) };
}

/**
 * The processing-time clock, as each of the day, or the time of day on 1970-01-01 (there is no DATE or TIME
 * type: both are TIMESTAMPs). CURRENT_ROW_TIMESTAMP (and NOW, PROCTIME) is read for every row. Kinesis
 * Analytics sets the others once, when the query starts; Flink reads them for every record of a stream.
 */
const CLOCK_FUNCTIONS: Readonly<Record<string, { readonly part: 'timestamp' | 'date' | 'time'; readonly perRow: boolean }>> = {
  CURRENT_ROW_TIMESTAMP: { part: 'timestamp', perRow: true },
  NOW: { part: 'timestamp', perRow: true },
  PROCTIME: { part: 'timestamp', perRow: true },
  CURRENT_TIMESTAMP: { part: 'timestamp', perRow: false },
  LOCALTIMESTAMP: { part: 'timestamp', perRow: false },
  CURRENT_DATE: { part: 'date', perRow: false },
  CURRENT_TIME: { part: 'time', perRow: false },
  LOCALTIME: { part: 'time', perRow: false },
};

function compileClock(e: CallExpr, ctx: CompileContext): CompiledExpr {
  if (e.args.length > 0) throw planProblem(e.pos, `${e.name} takes no arguments`, `Write ${e.name} alone.`);
  const { part, perRow } = CLOCK_FUNCTIONS[e.name]!;
  const now = ctx.now;
  const read =
    part === 'timestamp'
      ? now
      : part === 'date'
        ? () => floorTime(now(), 'DAY')
        : () => {
            const t = now();
            return t - floorTime(t, 'DAY');
          };
  if (!perRow && ctx.dialect === 'kinesis') {
    const fixed = read();
    return { fn: () => fixed, type: 'TIMESTAMP', constant: false };
  }
  return { fn: read, type: 'TIMESTAMP', constant: false };
}

/**
 * Flink's CURRENT_WATERMARK(ts): the watermark the operator evaluating it last received, typed as the time
 * column; NULL before the first one. Only a Calc (select list, WHERE) tracks it.
 */
function compileCurrentWatermark(e: CallExpr, ctx: CompileContext): CompiledExpr {
  if (e.args.length !== 1) throw planProblem(e.pos, `CURRENT_WATERMARK takes the time column, got ${e.args.length} argument(s)`, 'Write CURRENT_WATERMARK(ts).');
  const arg = compileExpr(e.args[0]!, ctx);
  if (arg.type !== 'TIMESTAMP' && arg.type !== 'ANY') {
    throw planProblem(e.args[0]!.pos, `CURRENT_WATERMARK needs the time column, a TIMESTAMP; this is ${arg.type}`, 'Write CURRENT_WATERMARK(ts), ts the column of the WATERMARK FOR clause.');
  }
  const cell = ctx.watermark;
  if (cell === undefined) {
    throw planProblem(
      e.pos,
      'CURRENT_WATERMARK is only supported in the select list and WHERE of a query that reads rows without aggregating, joining or windowing them',
      'Filter in a query of its own, e.g. SELECT * FROM t WHERE CURRENT_WATERMARK(ts) IS NULL OR ts > CURRENT_WATERMARK(ts), and aggregate its rows in another.',
    );
  }
  return { fn: () => cell.current, type: 'TIMESTAMP', constant: false };
}

const COMPILERS: { readonly [K in ExprKind]: (e: ExprOfKind<K>, ctx: CompileContext) => CompiledExpr } = {
  literal: (e) => constant(e.value, e.type),
  interval: (e) => constant(e.millis, 'INTERVAL'),
  column: (e, ctx) => {
    const i = ctx.scope.resolve(e.qualifier, e.name, e.pos);
    return column(i, ctx.scope.fields[i]!.type);
  },
  unary: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const f = o.fn;
    if (e.op === 'NOT') return derived((row) => {
      const v = f(row);
      return v === null ? null : !v;
    }, 'BOOLEAN', [o]);
    if (e.op === '+') return o;
    return derived((row) => {
      const v = f(row);
      return v === null ? null : -toNumber(v);
    }, o.type, [o]);
  },
  binary: (e, ctx) => {
    let L = compileExpr(e.left, ctx);
    let R = compileExpr(e.right, ctx);
    const lf = L.fn;
    const rf = R.fn;
    switch (e.op) {
      case 'AND':
        return derived((row) => {
          const a = lf(row);
          if (a === false) return false;
          const b = rf(row);
          if (b === false) return false;
          return a === null || b === null ? null : true;
        }, 'BOOLEAN', [L, R]);
      case 'OR':
        return derived((row) => {
          const a = lf(row);
          if (a === true) return true;
          const b = rf(row);
          if (b === true) return true;
          return a === null || b === null ? null : false;
        }, 'BOOLEAN', [L, R]);
      case '||':
        return derived((row) => {
          const a = lf(row);
          if (a === null) return null;
          const b = rf(row);
          if (b === null) return null;
          return textOf(a, L.type) + textOf(b, R.type);
        }, 'VARCHAR', [L, R]);
      case '=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=':
        L = coerceTo(L, R.type, e.left.pos);
        R = coerceTo(R, L.type, e.right.pos);
        if (!comparable(L.type, R.type)) {
          throw planProblem(e.pos, `cannot compare ${L.type} with ${R.type}`, 'CAST one side to the type of the other.');
        }
        return derived(compileComparison(e.op, L, R), 'BOOLEAN', [L, R]);
      default: {
        R = coerceTo(R, L.type === 'TIMESTAMP' && R.type === 'VARCHAR' && e.op === '-' ? 'TIMESTAMP' : 'NULL', e.right.pos);
        const type = arithmeticType(e.op, L.type, R.type, e.pos);
        return derived(compileArithmetic(e.op, L, R, type), type, [L, R]);
      }
    }
  },
  isNull: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const f = o.fn;
    return derived(e.negated ? (row) => f(row) !== null : (row) => f(row) === null, 'BOOLEAN', [o]);
  },
  isDistinct: (e, ctx) => {
    let L = compileExpr(e.left, ctx);
    let R = compileExpr(e.right, ctx);
    L = coerceTo(L, R.type, e.left.pos);
    R = coerceTo(R, L.type, e.right.pos);
    if (!comparable(L.type, R.type)) throw planProblem(e.pos, `cannot compare ${L.type} with ${R.type}`, 'CAST one side to the type of the other.');
    const eq = compileComparison('=', L, R);
    const lf = L.fn;
    const rf = R.fn;
    const neg = e.negated;
    return derived((row) => {
      const a = lf(row);
      const b = rf(row);
      const same = a === null || b === null ? a === b : eq(row) === true;
      return neg ? same : !same;
    }, 'BOOLEAN', [L, R]);
  },
  // Planned as a semi- or anti-join (plan-subquery.ts) where that is possible; anywhere else it is refused.
  subqueryPredicate: (e) => {
    throw planProblem(
      e.pos,
      `${e.mode === 'in' ? 'IN (SELECT ...)' : 'EXISTS (SELECT ...)'} is only supported as a condition of WHERE (alone or joined by AND), not inside another expression`,
      'Write WHERE x IN (SELECT k FROM r) AND ..., or WHERE [NOT] EXISTS (SELECT 1 FROM r WHERE r.k = s.k).',
    );
  },
  inList: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const items = e.list.map((x) => coerceTo(compileExpr(x, ctx), o.type, x.pos));
    const f = o.fn;
    const neg = e.negated;
    if (items.every((i) => i.constant)) {
      const values = items.map((i) => i.fn([]));
      const hasNull = values.includes(null);
      const set = new Set(values.filter((v) => v !== null));
      return derived((row) => {
        const v = f(row);
        if (v === null) return null;
        if (set.has(v)) return !neg;
        return hasNull ? null : neg;
      }, 'BOOLEAN', [o]);
    }
    const fns = items.map((i) => i.fn);
    return derived((row) => {
      const v = f(row);
      if (v === null) return null;
      let sawNull = false;
      for (const g of fns) {
        const w = g(row);
        if (w === null) sawNull = true;
        else if (w === v) return !neg;
      }
      return sawNull ? null : neg;
    }, 'BOOLEAN', [o, ...items]);
  },
  between: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const lo = coerceTo(compileExpr(e.low, ctx), o.type, e.low.pos);
    const hi = coerceTo(compileExpr(e.high, ctx), o.type, e.high.pos);
    const ge = compileComparison('>=', o, lo);
    const le = compileComparison('<=', o, hi);
    const neg = e.negated;
    return derived((row) => {
      const a = ge(row);
      const b = le(row);
      const r = a === false || b === false ? false : a === null || b === null ? null : true;
      return r === null ? null : neg ? !r : r;
    }, 'BOOLEAN', [o, lo, hi]);
  },
  like: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const p = compileExpr(e.pattern, ctx);
    const f = o.fn;
    const neg = e.negated;
    let escape: string | null = null;
    if (e.escape) {
      const x = compileExpr(e.escape, ctx);
      if (!x.constant) throw planProblem(e.escape.pos, 'the ESCAPE character must be a constant', "Write ESCAPE '\\'.");
      const xv = x.fn([]);
      if (xv === null) return constant(null, 'BOOLEAN');
      escape = String(xv);
    }
    const similar = e.similar;
    if (p.constant) {
      const pv = p.fn([]);
      if (pv === null) return constant(null, 'BOOLEAN');
      let re: RegExp;
      try {
        re = likeRegex(String(pv), escape, similar);
      } catch (err) {
        if (err instanceof RowError) throw planProblem(e.pattern.pos, err.message, similar ? 'Check the pattern: % _ | * + ? {m,n} ( ) [...] are special.' : '');
        throw err;
      }
      return derived((row) => {
        const v = f(row);
        return v === null ? null : re.test(String(v)) !== neg;
      }, 'BOOLEAN', [o]);
    }
    const pf = p.fn;
    return derived((row) => {
      const v = f(row);
      const pv = pf(row);
      return v === null || pv === null ? null : likeRegex(String(pv), escape, similar).test(String(v)) !== neg;
    }, 'BOOLEAN', [o, p]);
  },
  case: (e, ctx) => {
    const operand = e.operand ? compileExpr(e.operand, ctx) : null;
    const whens = e.whens.map((w) => ({ when: compileExpr(w.when, ctx), then: compileExpr(w.then, ctx) }));
    const otherwise = e.otherwise ? compileExpr(e.otherwise, ctx) : null;
    const type = [...whens.map((w) => w.then.type), otherwise?.type ?? 'NULL'].find((t) => t !== 'NULL') ?? 'NULL';
    const parts = [...(operand ? [operand] : []), ...whens.flatMap((w) => [w.when, w.then]), ...(otherwise ? [otherwise] : [])];
    const conds = whens.map((w) => w.when.fn);
    const thens = whens.map((w) => w.then.fn);
    const elseFn = otherwise?.fn ?? (() => null);
    if (operand) {
      const of = operand.fn;
      return derived((row) => {
        const v = of(row);
        for (let i = 0; i < conds.length; i++) if (v !== null && conds[i]!(row) === v) return thens[i]!(row);
        return elseFn(row);
      }, type, parts);
    }
    return derived((row) => {
      for (let i = 0; i < conds.length; i++) if (conds[i]!(row) === true) return thens[i]!(row);
      return elseFn(row);
    }, type, parts);
  },
  cast: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const to = e.target.name;
    const from = o.type;
    const f = o.fn;
    // CAST to INTEGER, SMALLINT or TINYINT fails beyond the type's width, as the value would not fit.
    const bits = to === 'BIGINT' ? integerBits(e.target.text) : undefined;
    const cast: CompiledFn =
      bits === undefined
        ? (row) => castValue(f(row), from, to)
        : (row) => {
            const v = castValue(f(row), from, to);
            if (typeof v === 'number' && beyondBits(v, bits)) throw new RowError('CAST_FAILED', `cannot cast ${v} to ${e.target.text}: beyond its ${bits} bits`);
            return v;
          };
    if (e.lenient) {
      return derived((row) => {
        try {
          return cast(row);
        } catch (err) {
          if (err instanceof RowError) return null;
          throw err;
        }
      }, to, [o]);
    }
    return derived(cast, to, [o]);
  },
  call: (e, ctx) => {
    if (e.name === ROW_COLUMN) {
      const rowCall = e.args[1] as CallExpr;
      const text = compileExpr(rowCall.args[0]!, ctx);
      const { type, read } = rowColumnReader(rowCall, exprKey(rowCall), rowColumnIndex(e));
      const textFn = text.fn;
      return { fn: (row) => read(textFn(row)), type, constant: false };
    }
    if (e.name in ROW_FUNCTIONS) {
      throw planProblem(
        e.pos,
        `${e.name} gives a row of columns, which is read in an outer query`,
        `Read one column of it where you need it, ${e.name}(...).COLUMN1, or name the row in a subquery: SELECT STREAM t.r.COLUMN1 FROM (SELECT STREAM ${e.name}(...) AS r FROM s) AS t.`,
      );
    }
    if (e.name === 'EXP_AVG') {
      throw planProblem(e.pos, 'EXP_AVG is an average over a sliding window, and needs OVER', "EXP_AVG(x, INTERVAL '10' SECOND) OVER (PARTITION BY k RANGE INTERVAL '30' SECOND PRECEDING).");
    }
    if (AGGREGATE_FUNCTIONS.has(e.name)) {
      throw planProblem(e.pos, `${e.name} is not allowed here`, e.over ? 'Window functions go in the select list of a query over a window.' : 'Aggregates go in the select list or HAVING of a query with GROUP BY (or over a window).');
    }
    if (e.filter || e.over || e.distinct || e.star) {
      throw planProblem(e.pos, `${e.name} is not an aggregate, so it takes no DISTINCT, *, FILTER or OVER`, 'Remove them.');
    }
    if (e.name in CLOCK_FUNCTIONS) return compileClock(e, ctx);
    if (e.name === 'CURRENT_WATERMARK') return compileCurrentWatermark(e, ctx);
    const dialectFunctions = DIALECT_FUNCTIONS[ctx.dialect ?? 'flink'];
    const def = dialectFunctions[e.name] ?? SCALAR_FUNCTIONS[e.name];
    if (!def && e.name in UNSUPPORTED_FUNCTIONS) throw planProblem(e.pos, `${e.name} is not supported yet`, UNSUPPORTED_FUNCTIONS[e.name]!);
    if (!def) {
      const known = new Set([...Object.keys(SCALAR_FUNCTIONS), ...Object.keys(dialectFunctions), ...Object.keys(CLOCK_FUNCTIONS), ...AGGREGATE_FUNCTIONS]);
      throw planProblem(e.pos, `unknown function ${e.name}`, `Known functions: ${[...known].sort().join(', ')}.`);
    }
    if (e.args.length < def.minArgs || e.args.length > def.maxArgs) {
      const want = def.minArgs === def.maxArgs ? `${def.minArgs}` : `${def.minArgs} to ${def.maxArgs}`;
      throw planProblem(e.pos, `${e.name} takes ${want} argument(s), got ${e.args.length}`, '');
    }
    const args = e.args.map((a) => compileExpr(a, ctx));
    const fns = args.map((a) => a.fn);
    const types = args.map((a) => a.type);
    const misfit = misfitArgument(def, types);
    if (misfit !== undefined) {
      throw planProblem(
        e.args[misfit.index]!.pos,
        `${e.name}'s argument ${misfit.index + 1} must be ${ARGUMENT_KIND_NAMES[misfit.kind]}, this is ${types[misfit.index]}`,
        'CAST it to the type the function takes.',
      );
    }
    if (e.name === 'SUBSTRING' && types[1] === 'VARCHAR') {
      throw planProblem(
        e.args[1]!.pos,
        "SUBSTRING(s FROM 'regex') (Kinesis Analytics' regular-expression form) is not supported yet",
        "Write REGEXP_EXTRACT(s, 'regex', 0) for the first match, or SUBSTRING(s FROM start FOR length) with numbers.",
      );
    }
    const impl = def.bind ? def.bind(types) : def.impl;
    const textArgs = types.map((t) => t === 'TIMESTAMP');
    const fn: CompiledFn = def.nullSafe
      ? e.name === 'CONCAT_WS'
        ? (row) => impl(fns.map((g, i) => {
            const v = g(row);
            return v !== null && textArgs[i] ? textOf(v, 'TIMESTAMP') : v;
          }))
        : (row) => impl(fns.map((g) => g(row)))
      : (row) => {
          const vals: Value[] = new Array(fns.length);
          for (let i = 0; i < fns.length; i++) {
            const v = fns[i]!(row);
            if (v === null) return null;
            vals[i] = v;
          }
          if (e.name === 'CONCAT') for (let i = 0; i < vals.length; i++) if (textArgs[i]) vals[i] = textOf(vals[i]!, 'TIMESTAMP');
          return impl(vals);
        };
    const constants = args.map((a) => {
      if (!a.constant) return undefined;
      try {
        return a.fn([]);
      } catch {
        return undefined;
      }
    });
    return derived(fn, def.returns(types, constants), args);
  },
  floorCeil: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const f = o.fn;
    const unit = e.unit;
    if (unit === null) {
      const m = e.fn === 'FLOOR' ? Math.floor : Math.ceil;
      return derived((row) => {
        const v = f(row);
        return v === null ? null : m(toNumber(v));
      }, o.type === 'DOUBLE' ? 'DOUBLE' : o.type, [o]);
    }
    if (o.type !== 'TIMESTAMP' && o.type !== 'ANY') {
      throw planProblem(e.pos, `${e.fn}(... TO ${unit}) needs a TIMESTAMP, this is ${o.type}`, 'CAST the value to TIMESTAMP first.');
    }
    const g = e.fn === 'FLOOR' ? floorTime : ceilTime;
    return derived((row) => {
      const v = f(row);
      return v === null ? null : g(toNumber(v), unit);
    }, 'TIMESTAMP', [o]);
  },
  extract: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const f = o.fn;
    const unit = e.unit;
    // Kinesis Analytics gives SECOND with its milliseconds (5.678); Flink gives whole seconds.
    const fractionalSecond = unit === 'SECOND' && ctx.dialect === 'kinesis';
    if (o.type === 'INTERVAL') {
      if (unit !== 'DAY' && unit !== 'HOUR' && unit !== 'MINUTE' && unit !== 'SECOND' && unit !== 'MILLISECOND') {
        throw planProblem(e.pos, `EXTRACT(${unit} FROM an interval) is not supported: intervals here are exact durations, without months or years`, 'Extract DAY, HOUR, MINUTE, SECOND or MILLISECOND from an interval.');
      }
      return derived((row) => {
        const v = f(row);
        return v === null ? null : intervalField(toNumber(v), unit, fractionalSecond);
      }, fractionalSecond ? 'DOUBLE' : 'BIGINT', [o]);
    }
    return derived((row) => {
      const v = f(row);
      if (v === null) return null;
      const ts = toNumber(v);
      return fractionalSecond ? extractField(ts, 'MILLISECOND') / 1000 : extractField(ts, unit);
    }, fractionalSecond ? 'DOUBLE' : 'BIGINT', [o]);
  },
  step: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const f = o.fn;
    const size = e.interval.millis;
    if (size <= 0) throw planProblem(e.interval.pos, 'STEP needs a positive interval', '');
    return derived((row) => {
      const v = f(row);
      return v === null ? null : Math.floor(toNumber(v) / size) * size;
    }, 'TIMESTAMP', [o]);
  },
};

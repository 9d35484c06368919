/**
 * Compiles an expression to a closure over row positions, once per query. Rows are never walked as
 * trees at run time. Types are inferred here so integers stay integers and timestamps print as timestamps.
 */
import type { Expr, ExprKind, ExprOfKind, SqlTypeName } from '../ast/index.ts';
import { exprKey } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import { SCALAR_FUNCTIONS, ceilTime, extractField, floorTime } from './functions.ts';
import type { Scope } from './scope.ts';
import { parseTimestampText } from './time.ts';
import type { CompiledExpr, CompiledFn, Row, Value } from './types.ts';
import { RowError, formatTimestamp } from './types.ts';

export interface CompileContext {
  readonly scope: Scope;
  /** Expressions an operator below already computed (group keys, aggregates): exprKey -> row position. */
  readonly substitutions?: ReadonlyMap<string, number>;
  /** The clock for CURRENT_TIMESTAMP (processing time). */
  readonly now: () => number;
}

export const AGGREGATE_FUNCTIONS = new Set(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'ROW_NUMBER', 'RANK', 'DENSE_RANK']);

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

export function textOf(v: Value, type: SqlTypeName): string {
  if (type === 'TIMESTAMP' && typeof v === 'number') return formatTimestamp(v);
  return String(v);
}

function toNumber(v: Value): number {
  if (typeof v === 'number') return v;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'boolean' ? Number(v) : Number.NaN;
  if (Number.isNaN(n)) throw new RowError('EVAL_ERROR', `'${String(v)}' is not a number`);
  return n;
}

function checkInt(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RowError('INTEGER_OVERFLOW', `integer result ${n} is beyond ±2^53; cast to DOUBLE first`);
  return n;
}

/** Coerces a constant string to a timestamp when compared with or added to a timestamp. */
function coerceTo(c: CompiledExpr, type: SqlTypeName): CompiledExpr {
  if (type === 'TIMESTAMP' && c.type === 'VARCHAR' && c.constant) {
    const v = c.fn([]);
    const t = typeof v === 'string' ? parseTimestampText(v) : null;
    if (t !== null) return constant(t, 'TIMESTAMP');
  }
  return c;
}

function arithmeticType(op: string, l: SqlTypeName, r: SqlTypeName, pos: Expr['pos']): SqlTypeName {
  const isNum = (t: SqlTypeName) => t === 'BIGINT' || t === 'DOUBLE' || t === 'ANY' || t === 'NULL';
  if (op === '+' || op === '-') {
    if (l === 'TIMESTAMP' && (r === 'INTERVAL' || r === 'ANY' || r === 'NULL')) return 'TIMESTAMP';
    if (op === '+' && l === 'INTERVAL' && r === 'TIMESTAMP') return 'TIMESTAMP';
    if (op === '-' && l === 'TIMESTAMP' && r === 'TIMESTAMP') return 'INTERVAL';
    if (l === 'INTERVAL' && r === 'INTERVAL') return 'INTERVAL';
  }
  if (op === '*' && ((l === 'INTERVAL' && isNum(r)) || (r === 'INTERVAL' && isNum(l)))) return 'INTERVAL';
  if (op === '/' && l === 'INTERVAL' && isNum(r)) return 'INTERVAL';
  if (!isNum(l) || !isNum(r)) {
    throw planProblem(pos, `cannot apply ${op} to ${l} and ${r}`, l === 'VARCHAR' || r === 'VARCHAR' ? 'Join strings with || or CONCAT; CAST text to a number first.' : 'Add an INTERVAL to a TIMESTAMP, or compute with numbers.');
  }
  if (l === 'DOUBLE' || r === 'DOUBLE') return 'DOUBLE';
  if (l === 'BIGINT' && r === 'BIGINT') return 'BIGINT';
  if ((l === 'BIGINT' || l === 'NULL') && (r === 'BIGINT' || r === 'NULL')) return 'BIGINT';
  return 'ANY';
}

function compileArithmetic(op: '+' | '-' | '*' | '/' | '%', L: CompiledExpr, R: CompiledExpr, type: SqlTypeName): CompiledFn {
  const lf = L.fn;
  const rf = R.fn;
  const integer = type === 'BIGINT';
  const calc: (a: number, b: number) => number = {
    '+': integer ? (a: number, b: number) => checkInt(a + b) : (a: number, b: number) => a + b,
    '-': integer ? (a: number, b: number) => checkInt(a - b) : (a: number, b: number) => a - b,
    '*': integer ? (a: number, b: number) => checkInt(a * b) : (a: number, b: number) => a * b,
    '/': (a: number, b: number) => {
      if (b === 0) throw new RowError('DIVISION_BY_ZERO', 'division by zero');
      return integer ? Math.trunc(a / b) : a / b;
    },
    '%': (a: number, b: number) => {
      if (b === 0) throw new RowError('DIVISION_BY_ZERO', 'modulo by zero');
      return a % b;
    },
  }[op];
  return (row) => {
    const a = lf(row);
    if (a === null) return null;
    const b = rf(row);
    if (b === null) return null;
    return calc(typeof a === 'number' ? a : toNumber(a), typeof b === 'number' ? b : toNumber(b));
  };
}

function compileComparison(op: '=' | '<>' | '<' | '<=' | '>' | '>=', L: CompiledExpr, R: CompiledExpr): CompiledFn {
  const lf = L.fn;
  const rf = R.fn;
  const numeric = L.type === 'BIGINT' || L.type === 'DOUBLE' || R.type === 'BIGINT' || R.type === 'DOUBLE';
  const norm = numeric ? (v: Value) => (typeof v === 'string' ? toNumber(v) : v) : (v: Value) => v;
  const test: (a: Value, b: Value) => boolean = {
    '=': (a: Value, b: Value) => a === b,
    '<>': (a: Value, b: Value) => a !== b,
    '<': (a: Value, b: Value) => a! < b!,
    '<=': (a: Value, b: Value) => a! <= b!,
    '>': (a: Value, b: Value) => a! > b!,
    '>=': (a: Value, b: Value) => a! >= b!,
  }[op];
  return (row) => {
    const a = lf(row);
    if (a === null) return null;
    const b = rf(row);
    if (b === null) return null;
    return test(norm(a), norm(b));
  };
}

function comparable(l: SqlTypeName, r: SqlTypeName): boolean {
  if (l === r || l === 'ANY' || r === 'ANY' || l === 'NULL' || r === 'NULL') return true;
  const num = (t: SqlTypeName) => t === 'BIGINT' || t === 'DOUBLE';
  return num(l) && num(r);
}

const LIKE_CACHE = new Map<string, RegExp>();
function likeRegex(pattern: string): RegExp {
  let r = LIKE_CACHE.get(pattern);
  if (!r) {
    let src = '';
    for (const ch of pattern) src += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    r = new RegExp(`^${src}$`, 's');
    if (LIKE_CACHE.size > 1000) LIKE_CACHE.clear();
    LIKE_CACHE.set(pattern, r);
  }
  return r;
}

export function castValue(v: Value, from: SqlTypeName, to: SqlTypeName): Value {
  if (v === null) return null;
  switch (to) {
    case 'VARCHAR':
      return textOf(v, from);
    case 'BIGINT': {
      if (typeof v === 'boolean') return v ? 1 : 0;
      const n = typeof v === 'number' ? v : Number(String(v).trim());
      if (!Number.isFinite(n) || String(v).trim() === '') throw new RowError('CAST_FAILED', `cannot cast '${String(v)}' to BIGINT`);
      return checkInt(Math.trunc(n));
    }
    case 'DOUBLE': {
      const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number(String(v).trim());
      if (Number.isNaN(n) || String(v).trim() === '') throw new RowError('CAST_FAILED', `cannot cast '${String(v)}' to DOUBLE`);
      return n;
    }
    case 'BOOLEAN': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      const s = v.trim().toLowerCase();
      if (s === 'true' || s === 't' || s === '1') return true;
      if (s === 'false' || s === 'f' || s === '0') return false;
      throw new RowError('CAST_FAILED', `cannot cast '${v}' to BOOLEAN`);
    }
    case 'TIMESTAMP': {
      if (typeof v === 'number') return v;
      const t = parseTimestampText(String(v));
      if (t === null) throw new RowError('CAST_FAILED', `cannot cast '${String(v)}' to TIMESTAMP`);
      return t;
    }
    default:
      return v;
  }
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
        L = coerceTo(L, R.type);
        R = coerceTo(R, L.type);
        if (!comparable(L.type, R.type)) {
          throw planProblem(e.pos, `cannot compare ${L.type} with ${R.type}`, 'CAST one side to the type of the other.');
        }
        return derived(compileComparison(e.op, L, R), 'BOOLEAN', [L, R]);
      default: {
        R = coerceTo(R, L.type === 'TIMESTAMP' && R.type === 'VARCHAR' && e.op === '-' ? 'TIMESTAMP' : 'NULL');
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
  inList: (e, ctx) => {
    const o = compileExpr(e.operand, ctx);
    const items = e.list.map((x) => coerceTo(compileExpr(x, ctx), o.type));
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
    const lo = coerceTo(compileExpr(e.low, ctx), o.type);
    const hi = coerceTo(compileExpr(e.high, ctx), o.type);
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
    if (p.constant) {
      const pv = p.fn([]);
      if (pv === null) return constant(null, 'BOOLEAN');
      const re = likeRegex(String(pv));
      return derived((row) => {
        const v = f(row);
        return v === null ? null : re.test(String(v)) !== neg;
      }, 'BOOLEAN', [o]);
    }
    const pf = p.fn;
    return derived((row) => {
      const v = f(row);
      const pv = pf(row);
      return v === null || pv === null ? null : likeRegex(String(pv)).test(String(v)) !== neg;
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
    if (e.lenient) {
      return derived((row) => {
        try {
          return castValue(f(row), from, to);
        } catch (err) {
          if (err instanceof RowError) return null;
          throw err;
        }
      }, to, [o]);
    }
    return derived((row) => castValue(f(row), from, to), to, [o]);
  },
  call: (e, ctx) => {
    if (AGGREGATE_FUNCTIONS.has(e.name)) {
      throw planProblem(e.pos, `${e.name} is not allowed here`, e.over ? 'Window functions go in the select list of a query over a window.' : 'Aggregates go in the select list or HAVING of a query with GROUP BY (or over a window).');
    }
    if (e.filter || e.over || e.distinct || e.star) {
      throw planProblem(e.pos, `${e.name} is not an aggregate, so it takes no DISTINCT, *, FILTER or OVER`, 'Remove them.');
    }
    if (e.name === 'CURRENT_TIMESTAMP' || e.name === 'NOW' || e.name === 'PROCTIME') {
      const now = ctx.now;
      return { fn: () => now(), type: 'TIMESTAMP', constant: false };
    }
    const def = SCALAR_FUNCTIONS[e.name];
    if (!def) {
      throw planProblem(e.pos, `unknown function ${e.name}`, `Known functions: ${[...Object.keys(SCALAR_FUNCTIONS), ...AGGREGATE_FUNCTIONS].sort().join(', ')}.`);
    }
    if (e.args.length < def.minArgs || e.args.length > def.maxArgs) {
      const want = def.minArgs === def.maxArgs ? `${def.minArgs}` : `${def.minArgs} to ${def.maxArgs}`;
      throw planProblem(e.pos, `${e.name} takes ${want} argument(s), got ${e.args.length}`, '');
    }
    const args = e.args.map((a) => compileExpr(a, ctx));
    const fns = args.map((a) => a.fn);
    const types = args.map((a) => a.type);
    const impl = def.impl;
    const textArgs = types.map((t) => t === 'TIMESTAMP');
    const fn: CompiledFn = def.nullSafe
      ? (row) => impl(fns.map((g) => g(row)))
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
    return derived(fn, def.returns(types), args);
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
    return derived((row) => {
      const v = f(row);
      return v === null ? null : extractField(toNumber(v), unit);
    }, 'BIGINT', [o]);
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

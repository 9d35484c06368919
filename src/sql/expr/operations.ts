/**
 * Value operations the compiled closures use: number and text conversion, CAST, arithmetic and comparison
 * builders, LIKE patterns. Row errors (bad CAST, division by zero, overflow) are `RowError`s.
 */
import type { Expr, SqlTypeName } from '../ast/index.ts';
import { planProblem } from '../diagnostics.ts';
import { impossibleDateTime, notTimestampMessage, parseTimestampText } from './time.ts';
import type { CompiledExpr, CompiledFn, Value } from './types.ts';
import { RowError, formatTimestamp } from './types.ts';

export function textOf(v: Value, type: SqlTypeName): string {
  if (type === 'TIMESTAMP' && typeof v === 'number') return formatTimestamp(v);
  return String(v);
}

export function toNumber(v: Value): number {
  if (typeof v === 'number') return v;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : typeof v === 'boolean' ? Number(v) : Number.NaN;
  if (Number.isNaN(n)) throw new RowError('EVAL_ERROR', `'${String(v)}' is not a number`);
  return n;
}

export function checkInt(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RowError('INTEGER_OVERFLOW', `integer result ${n} is beyond ±2^53; cast to DOUBLE first`);
  return n;
}

/**
 * Coerces a constant string to a timestamp when compared with or added to a timestamp. A string shaped like
 * a date-time that names none (`'2026-02-30 10:00:00'`) is refused at `pos`: compared as text it would
 * silently match nothing.
 */
export function coerceTo(c: CompiledExpr, type: SqlTypeName, pos: Expr['pos']): CompiledExpr {
  if (type === 'TIMESTAMP' && c.type === 'VARCHAR' && c.constant) {
    const v = c.fn([]);
    const t = typeof v === 'string' ? parseTimestampText(v) : null;
    if (t !== null) return { fn: () => t, type: 'TIMESTAMP', constant: true };
    if (typeof v === 'string' && impossibleDateTime(v) !== null) throw planProblem(pos, notTimestampMessage(v), "Write a real date and time, e.g. '2024-05-01 10:00:00'.");
  }
  return c;
}

export function arithmeticType(op: string, l: SqlTypeName, r: SqlTypeName, pos: Expr['pos']): SqlTypeName {
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

export function compileArithmetic(op: '+' | '-' | '*' | '/' | '%', L: CompiledExpr, R: CompiledExpr, type: SqlTypeName): CompiledFn {
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

export function compileComparison(op: '=' | '<>' | '<' | '<=' | '>' | '>=', L: CompiledExpr, R: CompiledExpr): CompiledFn {
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

export function comparable(l: SqlTypeName, r: SqlTypeName): boolean {
  if (l === r || l === 'ANY' || r === 'ANY' || l === 'NULL' || r === 'NULL') return true;
  const num = (t: SqlTypeName) => t === 'BIGINT' || t === 'DOUBLE';
  return num(l) && num(r);
}

const LIKE_CACHE = new Map<string, RegExp>();

/**
 * The regular expression of a LIKE pattern (`%` any text, `_` one character), or with `similar` of a
 * SIMILAR TO pattern (also `| * + ? {m,n} ( ) [...]`, while `.`, `^`, `$` and `\` are plain characters). The
 * `escape` character makes the next one plain. Both match the whole text.
 */
export function likeRegex(pattern: string, escape: string | null = null, similar = false): RegExp {
  const key = escape === null && !similar ? pattern : `${similar ? 'S' : 'L'}${escape ?? ''}\u0000${pattern}`;
  let r = LIKE_CACHE.get(key);
  if (!r) {
    if (escape !== null && [...escape].length !== 1) throw new RowError('EVAL_ERROR', `the ESCAPE of a pattern is one character, not '${escape}'`);
    const plain = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    let src = '';
    const chars = [...pattern];
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === escape) {
        if (i + 1 === chars.length) throw new RowError('EVAL_ERROR', `the pattern '${pattern}' ends with its escape character`);
        src += plain(chars[++i]!);
      } else if (ch === '%') src += '.*';
      else if (ch === '_') src += '.';
      else if (similar && '|*+?{}()[]'.includes(ch)) src += ch;
      else src += plain(ch);
    }
    try {
      r = new RegExp(`^(?:${src})$`, 's');
    } catch (err) {
      throw new RowError('EVAL_ERROR', `'${pattern}' is not a valid SIMILAR TO pattern: ${(err as Error).message}`);
    }
    if (LIKE_CACHE.size > 1000) LIKE_CACHE.clear();
    LIKE_CACHE.set(key, r);
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
      if (t === null) throw new RowError('CAST_FAILED', `cannot cast to TIMESTAMP: ${notTimestampMessage(String(v))}`);
      return t;
    }
    default:
      return v;
  }
}

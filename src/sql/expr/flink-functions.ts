/**
 * Flink's built-in scalar functions of a few lines each: mathematics, a timestamp's fields, padding,
 * cutting and searching text, digests and base64, IF. Each follows the entry of Flink's System (Built-in) Functions page; where that page gives an
 * example, `flink-functions.test.ts` runs it.
 */
import { createHash } from 'node:crypto';
import type { SqlTypeName } from '../ast/index.ts';
import { formatWithPattern, parseWithPattern } from './date-patterns.ts';
import type { ScalarFunction } from './functions.ts';
import { extractField } from './functions.ts';
import type { Value } from './types.ts';
import { RowError, numberArg, textArg } from './types.ts';

const num = numberArg;
const str = textArg;
const chars = (v: Value): string[] => [...str(v)];
const double = () => 'DOUBLE' as const;
const text = () => 'VARCHAR' as const;
const bigint = () => 'BIGINT' as const;

/** A function of one number to a DOUBLE. */
const math = (fn: string, f: (x: number) => number): ScalarFunction => ({ minArgs: 1, maxArgs: 1, returns: double, impl: ([x]) => f(num(x!, fn)) });

/** A field of a timestamp, as EXTRACT gives it. */
const field = (unit: Parameters<typeof extractField>[1]): ScalarFunction => ({ minArgs: 1, maxArgs: 1, returns: bigint, impl: ([t]) => extractField(num(t!, unit), unit) });

/** A log of x in base b, both above 0 and b not 1 (else the row is an error rather than NaN or Infinity). */
function logIn(base: number, x: number, fn: string): number {
  if (x <= 0 || base <= 0 || base === 1) throw new RowError('EVAL_ERROR', `${fn} needs a number above 0 (and a base above 0 other than 1)`);
  return Math.log(x) / Math.log(base);
}

/** LPAD and RPAD: text cut or padded to `length` characters; a negative length gives NULL, an empty pad NULL too. */
function pad(s: Value, length: Value, padding: Value, left: boolean, fn: string): Value {
  const n = num(length, fn);
  const cs = chars(s);
  const ps = chars(padding);
  if (n < 0) return null;
  if (cs.length >= n) return cs.slice(0, n).join('');
  if (ps.length === 0) return null;
  const fill: string[] = [];
  while (fill.length < n - cs.length) fill.push(ps[fill.length % ps.length]!);
  return left ? fill.join('') + cs.join('') : cs.join('') + fill.join('');
}

const sameAsFirst = (args: readonly SqlTypeName[]): SqlTypeName => args[0] ?? 'ANY';

/** The hex digest of the text's UTF-8 bytes. */
const digest = (algorithm: string): ScalarFunction => ({ minArgs: 1, maxArgs: 1, returns: text, impl: ([s]) => createHash(algorithm).update(str(s!), 'utf8').digest('hex') });
const SHA2_BITS: Readonly<Record<number, string>> = { 224: 'sha224', 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** The 1-based character position of `needle` in `hay` at or after character `from`, 0 when absent. */
function charPosition(needle: string, hay: string, from: number): number {
  const hs = [...hay];
  const start = Math.max(0, from - 1);
  if (start > hs.length) return 0;
  const at = hs.slice(start).join('').indexOf(needle);
  return at < 0 ? 0 : start + [...hs.slice(start).join('').slice(0, at)].length + 1;
}

/** A whole number as an unsigned 64-bit value, as Java's Long.toBinaryString and toHexString read it. */
function integer64(v: Value, fn: string): bigint {
  const n = num(v, fn);
  if (!Number.isInteger(n)) throw new RowError('EVAL_ERROR', `${fn} takes a whole number, not ${n}`);
  return BigInt.asUintN(64, BigInt(n));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const FLINK_SCALAR_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  LOG2: { minArgs: 1, maxArgs: 1, returns: double, impl: ([x]) => logIn(2, num(x!, 'LOG2'), 'LOG2') },
  /** LOG(x) is the natural logarithm; LOG(b, x) the logarithm of x in base b. */
  LOG: { minArgs: 1, maxArgs: 2, returns: double, impl: ([a, b]) => (b === undefined ? logIn(Math.E, num(a!, 'LOG'), 'LOG') : logIn(num(a!, 'LOG'), num(b, 'LOG'), 'LOG')) },
  SIN: math('SIN', Math.sin),
  SINH: math('SINH', Math.sinh),
  COS: math('COS', Math.cos),
  COSH: math('COSH', Math.cosh),
  TAN: math('TAN', Math.tan),
  TANH: math('TANH', Math.tanh),
  COT: math('COT', (x) => 1 / Math.tan(x)),
  ASIN: math('ASIN', Math.asin),
  ACOS: math('ACOS', Math.acos),
  ATAN: math('ATAN', Math.atan),
  ATAN2: { minArgs: 2, maxArgs: 2, returns: double, impl: ([y, x]) => Math.atan2(num(y!, 'ATAN2'), num(x!, 'ATAN2')) },
  DEGREES: math('DEGREES', (x) => (x * 180) / Math.PI),
  RADIANS: math('RADIANS', (x) => (x * Math.PI) / 180),
  SIGN: { minArgs: 1, maxArgs: 1, returns: sameAsFirst, impl: ([x]) => Math.sign(num(x!, 'SIGN')) + 0 },
  /** TRUNCATE(x[, d]): x cut (toward zero) to d decimals, 0 by default; digits beyond a double's 15 are noise, not cut. */
  TRUNCATE: {
    minArgs: 1,
    maxArgs: 2,
    returns: sameAsFirst,
    impl: ([x, d]) => {
      const f = 10 ** (d === undefined ? 0 : num(d, 'TRUNCATE'));
      return Math.trunc(Number((num(x!, 'TRUNCATE') * f).toPrecision(15))) / f + 0;
    },
  },
  /** BIN(n) and HEX(n): an integer in base 2 or 16 (a negative one as its 64-bit two's complement); HEX of text is its UTF-8 bytes. */
  BIN: { minArgs: 1, maxArgs: 1, returns: text, impl: ([n]) => integer64(n!, 'BIN').toString(2) },
  HEX: {
    minArgs: 1,
    maxArgs: 1,
    returns: text,
    impl: ([v]) => (typeof v === 'string' ? Buffer.from(v, 'utf8').toString('hex') : integer64(v!, 'HEX').toString(16)).toUpperCase(),
  },
  PI: { minArgs: 0, maxArgs: 0, returns: double, impl: () => Math.PI },
  E: { minArgs: 0, maxArgs: 0, returns: double, impl: () => Math.E },

  YEAR: field('YEAR'),
  QUARTER: field('QUARTER'),
  MONTH: field('MONTH'),
  /** The ISO week of the year (weeks start on Monday; week 1 holds the year's first Thursday). */
  WEEK: field('WEEK'),
  DAYOFYEAR: field('DOY'),
  DAYOFMONTH: field('DAY'),
  /** 1 for Sunday to 7 for Saturday. */
  DAYOFWEEK: field('DOW'),
  HOUR: field('HOUR'),
  MINUTE: field('MINUTE'),
  SECOND: field('SECOND'),

  /** LTRIM and RTRIM remove spaces only, as Flink's do. */
  LTRIM: { minArgs: 1, maxArgs: 1, returns: text, impl: ([s]) => str(s!).replace(/^ +/, '') },
  RTRIM: { minArgs: 1, maxArgs: 1, returns: text, impl: ([s]) => str(s!).replace(/ +$/, '') },
  REPEAT: { minArgs: 2, maxArgs: 2, returns: text, impl: ([s, n]) => str(s!).repeat(Math.max(0, Math.trunc(num(n!, 'REPEAT')))) },
  LPAD: { minArgs: 3, maxArgs: 3, returns: text, impl: ([s, n, p]) => pad(s!, n!, p!, true, 'LPAD') },
  RPAD: { minArgs: 3, maxArgs: 3, returns: text, impl: ([s, n, p]) => pad(s!, n!, p!, false, 'RPAD') },
  /** LEFT and RIGHT: the first or last n characters; an empty text for a negative n. */
  LEFT: { minArgs: 2, maxArgs: 2, returns: text, impl: ([s, n]) => chars(s!).slice(0, Math.max(0, num(n!, 'LEFT'))).join('') },
  RIGHT: {
    minArgs: 2,
    maxArgs: 2,
    returns: text,
    impl: ([s, n]) => {
      const k = Math.max(0, num(n!, 'RIGHT'));
      const cs = chars(s!);
      return k === 0 ? '' : cs.slice(Math.max(0, cs.length - k)).join('');
    },
  },
  REVERSE: { minArgs: 1, maxArgs: 1, returns: text, impl: ([s]) => chars(s!).reverse().join('') },

  /** FROM_UNIXTIME(seconds[, pattern]): the UTC time as text, 'yyyy-MM-dd HH:mm:ss' by default. */
  FROM_UNIXTIME: { minArgs: 1, maxArgs: 2, returns: text, impl: ([n, f]) => formatWithPattern(num(n!, 'FROM_UNIXTIME') * 1000, f === undefined ? 'yyyy-MM-dd HH:mm:ss' : str(f)) },
  /** TO_DATE(text[, pattern]): the day the text names, at midnight UTC (a DATE is a TIMESTAMP here). */
  TO_DATE: {
    minArgs: 1,
    maxArgs: 2,
    returns: () => 'TIMESTAMP',
    impl: ([s, f]) => {
      const t = parseWithPattern(str(s!), f === undefined ? 'yyyy-MM-dd' : str(f));
      return t - (((t % 86_400_000) + 86_400_000) % 86_400_000);
    },
  },

  MD5: digest('md5'),
  SHA1: digest('sha1'),
  SHA224: digest('sha224'),
  SHA256: digest('sha256'),
  SHA384: digest('sha384'),
  SHA512: digest('sha512'),
  /** SHA2(text, bits), bits one of 224, 256, 384, 512. */
  SHA2: {
    minArgs: 2,
    maxArgs: 2,
    returns: text,
    impl: ([s, b]) => {
      const algorithm = SHA2_BITS[num(b!, 'SHA2')];
      if (algorithm === undefined) throw new RowError('EVAL_ERROR', `SHA2 takes 224, 256, 384 or 512 bits, not ${String(b)}`);
      return createHash(algorithm).update(str(s!), 'utf8').digest('hex');
    },
  },
  TO_BASE64: { minArgs: 1, maxArgs: 1, returns: text, impl: ([s]) => Buffer.from(str(s!), 'utf8').toString('base64') },
  FROM_BASE64: {
    minArgs: 1,
    maxArgs: 1,
    returns: text,
    impl: ([s]) => {
      if (!BASE64.test(str(s!))) throw new RowError('EVAL_ERROR', `FROM_BASE64: '${str(s!)}' is not base64 text`);
      return Buffer.from(str(s!), 'base64').toString('utf8');
    },
  },
  /** ASCII(s): the code of the first character (0 for an empty text). */
  ASCII: { minArgs: 1, maxArgs: 1, returns: bigint, impl: ([s]) => str(s!).codePointAt(0) ?? 0 },
  /** INSTR(s, sub) and LOCATE(sub, s[, from]): the 1-based character position of sub, 0 when it is absent. */
  INSTR: { minArgs: 2, maxArgs: 2, returns: bigint, impl: ([s, sub]) => charPosition(str(sub!), str(s!), 1) },
  LOCATE: { minArgs: 2, maxArgs: 3, returns: bigint, impl: ([sub, s, from]) => charPosition(str(sub!), str(s!), from === undefined ? 1 : num(from, 'LOCATE')) },
  /** SPLIT_INDEX(s, delimiter, i): the i-th (from 0) piece of s split at the delimiter, NULL beyond the last. */
  SPLIT_INDEX: {
    minArgs: 3,
    maxArgs: 3,
    returns: text,
    impl: ([s, d, i]) => {
      const at = num(i!, 'SPLIT_INDEX');
      if (str(d!) === '') throw new RowError('EVAL_ERROR', 'SPLIT_INDEX needs a delimiter that is not empty');
      return at < 0 ? null : (str(s!).split(str(d!))[at] ?? null);
    },
  },
  STARTSWITH: { minArgs: 2, maxArgs: 2, returns: () => 'BOOLEAN', impl: ([s, p]) => str(s!).startsWith(str(p!)) },
  ENDSWITH: { minArgs: 2, maxArgs: 2, returns: () => 'BOOLEAN', impl: ([s, p]) => str(s!).endsWith(str(p!)) },

  /** IF(condition, a, b): a when the condition is true, b when it is false or NULL. */
  IF: { minArgs: 3, maxArgs: 3, nullSafe: true, returns: (a) => (a[1] !== 'NULL' ? a[1]! : a[2]!), impl: ([c, a, b]) => (c === true ? a! : b!) },
};

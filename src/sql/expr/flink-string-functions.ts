/**
 * Flink's string functions added in its 1.x and 2.0 releases, its text tests (IS_ALPHA, IS_DECIMAL,
 * IS_DIGIT), TYPEOF and OVERLAPS. They exist only in the Flink dialect (Kinesis Analytics has none of them). Each
 * follows its entry of Flink's System (Built-in) Functions page; `flink-string-functions.test.ts` runs the
 * page's examples.
 */
import type { SqlTypeName } from '../ast/index.ts';
import type { ScalarFunction } from './functions.ts';
import { printf } from './printf.ts';
import { regex, trimChars } from './text-functions.ts';
import type { Value } from './types.ts';
import { RowError, numberArg, textArg } from './types.ts';

const str = textArg;
const text = () => 'VARCHAR' as const;
const bigint = () => 'BIGINT' as const;
const boolean = () => 'BOOLEAN' as const;

/** A regular expression, or null when the pattern does not compile (Flink's REGEXP_COUNT, _INSTR, _SUBSTR give NULL then). */
function patternOrNull(pattern: string): RegExp | null {
  try {
    return regex(pattern);
  } catch (err) {
    if (err instanceof RowError) return null;
    throw err;
  }
}

/** A function of a text and a pattern; NULL for a pattern that does not compile, as Flink's REGEXP_ functions give. */
function regexpFunction(returns: () => SqlTypeName, f: (s: string, re: RegExp) => Value): ScalarFunction {
  return {
    minArgs: 2,
    maxArgs: 2,
    args: ['text', 'text'],
    returns,
    impl: ([s, p]) => {
      const re = patternOrNull(str(p!));
      return re === null ? null : f(str(s!), re);
    },
  };
}

function globally(re: RegExp): RegExp {
  return new RegExp(re.source, `${re.flags.replace('g', '')}g`);
}

/** Java's URLEncoder with UTF-8: letters, digits and `.-*_` stay, a space is `+`, every other byte `%XX`. */
function urlEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_]/.test(ch)) out += ch;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Java's URLDecoder with UTF-8: `+` is a space, `%XX` a byte; a malformed escape gives NULL. */
function urlDecode(s: string): string | null {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return null;
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
    bytes.length = 0;
  };
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    flush();
    out += s[i] === '+' ? ' ' : s[i];
  }
  flush();
  return out;
}

/** The schemes java.net.URL opens without a handler of its own: any other makes PARSE_URL NULL. */
const URL_SCHEMES = new Set(['http', 'https', 'ftp', 'file', 'jar', 'mailto']);
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

/** PARSE_URL(url, part[, key]): a part of the URL as java.net.URL gives it; NULL when it is absent or the URL malformed. */
function parseUrl(url: string, part: string, key: string | undefined): string | null {
  const m = URL_SHAPE.exec(url.trim());
  if (!m || !URL_SCHEMES.has(m[1]!.toLowerCase())) return null;
  const [, protocol, authority, path = '', query, ref] = m;
  const at = authority?.lastIndexOf('@') ?? -1;
  const userInfo = authority !== undefined && at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = authority === undefined ? undefined : authority.slice(at + 1);
  const host = hostPort?.replace(/:\d*$/, '');
  if (hostPort !== undefined && /:(?!\d*$)/.test(hostPort.replace(/^\[[^\]]*\]/, ''))) return null;
  switch (part) {
    case 'HOST':
      return host ?? '';
    case 'PATH':
      return path;
    case 'QUERY':
      if (query === undefined) return null;
      if (key === undefined) return query;
      return new RegExp(`(?:^|&)${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=([^&]*)`).exec(query)?.[1] ?? null;
    case 'REF':
      return ref ?? null;
    case 'PROTOCOL':
      return protocol!.toLowerCase();
    case 'AUTHORITY':
      return authority ?? null;
    case 'FILE':
      return query === undefined ? path : `${path}?${query}`;
    case 'USERINFO':
      return userInfo ?? null;
    default:
      return null;
  }
}

/** TRANSLATE: each character of `from` in the text becomes the one at its place in `to`, or goes when `to` is shorter. */
function translate(s: string, from: string, to: string): string {
  const map = new Map<string, string>();
  const tos = [...to];
  [...from].forEach((c, i) => {
    if (!map.has(c)) map.set(c, tos[i] ?? '');
  });
  let out = '';
  for (const c of s) out += map.get(c) ?? c;
  return out;
}

/** CHR(n): the character of n's lowest byte (n modulo 256); an empty text for a negative n. */
function chr(n: number): string {
  if (n < 0) return '';
  return String.fromCharCode(Number(BigInt.asUintN(8, BigInt(Math.trunc(n)))));
}

/** The character sets Flink's ENCODE and DECODE take, as Node names them. */
const CHARSETS: Readonly<Record<string, BufferEncoding | 'utf16be' | 'utf16'>> = {
  'US-ASCII': 'ascii', 'ISO-8859-1': 'latin1', 'UTF-8': 'utf8', 'UTF-16BE': 'utf16be', 'UTF-16LE': 'utf16le', 'UTF-16': 'utf16',
};

function charset(name: string, fn: string): BufferEncoding | 'utf16be' | 'utf16' {
  const found = CHARSETS[name.toUpperCase()];
  if (found === undefined) throw new RowError('EVAL_ERROR', `${fn}: unknown character set '${name}'; use one of ${Object.keys(CHARSETS).join(', ')}`);
  return found;
}

/** Java's String.getBytes(charset): a character US-ASCII or ISO-8859-1 cannot hold is `?`; UTF-16 starts with a big-endian byte-order mark. */
function encode(s: string, set: BufferEncoding | 'utf16be' | 'utf16'): Buffer {
  if (set === 'ascii' || set === 'latin1') {
    const limit = set === 'ascii' ? 0x7f : 0xff;
    return Buffer.from([...s].map((c) => (c.codePointAt(0)! <= limit ? c.codePointAt(0)! : 0x3f)));
  }
  if (set === 'utf16be' || set === 'utf16') {
    const le = Buffer.from(s, 'utf16le');
    const be = Buffer.alloc(le.length);
    for (let i = 0; i + 1 < le.length; i += 2) {
      be[i] = le[i + 1]!;
      be[i + 1] = le[i]!;
    }
    return set === 'utf16' ? Buffer.concat([Buffer.from([0xfe, 0xff]), be]) : be;
  }
  return Buffer.from(s, set);
}

/** Java's new String(bytes, charset): a byte US-ASCII does not define is U+FFFD; UTF-16 reads a byte-order mark, else big-endian. */
function decode(bytes: Buffer, set: BufferEncoding | 'utf16be' | 'utf16'): string {
  if (set === 'ascii') return [...bytes].map((b) => (b < 0x80 ? String.fromCharCode(b) : '\ufffd')).join('');
  if (set === 'utf16be' || set === 'utf16') {
    let body = bytes;
    let littleEndian = false;
    if (set === 'utf16' && bytes.length >= 2 && ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe))) {
      littleEndian = bytes[0] === 0xff;
      body = bytes.subarray(2);
    }
    if (littleEndian) return body.toString('utf16le');
    const le = Buffer.alloc(body.length);
    for (let i = 0; i + 1 < body.length; i += 2) {
      le[i] = body[i + 1]!;
      le[i + 1] = body[i]!;
    }
    return le.toString('utf16le');
  }
  return bytes.toString(set);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function overlaps([s1, e1, s2, e2]: number[], types: readonly SqlTypeName[]): boolean {
  const period = (start: number, end: number, endType: SqlTypeName | undefined) => {
    const stop = endType === 'INTERVAL' ? start + end : end;
    return start <= stop ? [start, stop] : [stop, start];
  };
  const [a0, a1] = period(s1!, e1!, types[1]);
  const [b0, b1] = period(s2!, e2!, types[3]);
  return a1! >= b0! && b1! >= a0!;
}

/** A type as TYPEOF names it: the engine's own types (a DATE or TIME is a TIMESTAMP here). */
const TYPE_NAMES: Readonly<Record<SqlTypeName, string>> = {
  BOOLEAN: 'BOOLEAN', BIGINT: 'BIGINT', DOUBLE: 'DOUBLE', VARCHAR: 'STRING', TIMESTAMP: 'TIMESTAMP(3)', INTERVAL: 'INTERVAL DAY TO SECOND(3)', NULL: 'NULL', ANY: 'ANY',
};

/** Java's BigDecimal text: digits with an optional point, sign and exponent. */
const DECIMAL_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export const FLINK_STRING_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  /** PRINTF(format, obj...): Java's Formatter; NULL when the format is NULL or Java would refuse it. */
  PRINTF: {
    minArgs: 1,
    maxArgs: 100,
    args: ['text', 'any'],
    nullSafe: true,
    returns: text,
    impl: ([format, ...objs]) => (format === null || format === undefined ? null : printf(str(format), objs, objs.map(() => 'ANY'))),
    bind: (types) => ([format, ...objs]) => (format === null || format === undefined ? null : printf(str(format), objs, types.slice(1))),
  },
  CHR: { minArgs: 1, maxArgs: 1, args: ['number'], returns: text, impl: ([n]) => chr(numberArg(n!, 'CHR')) },
  /** ENCODE(s, charset): the text's bytes in the character set, as base64 text (how Flink's JSON format writes BYTES). */
  ENCODE: { minArgs: 2, maxArgs: 2, args: ['text', 'text'], returns: text, impl: ([s, cs]) => encode(str(s!), charset(str(cs!), 'ENCODE')).toString('base64') },
  /** DECODE(bytes, charset): base64 text of bytes (as ENCODE gives them) read in the character set. */
  DECODE: {
    minArgs: 2,
    maxArgs: 2,
    args: ['text', 'text'],
    returns: text,
    impl: ([b, cs]) => {
      const set = charset(str(cs!), 'DECODE');
      if (!BASE64.test(str(b!))) throw new RowError('EVAL_ERROR', `DECODE: '${str(b!)}' is not bytes as base64 text (as ENCODE gives them)`);
      return decode(Buffer.from(str(b!), 'base64'), set);
    },
  },
  URL_ENCODE: { minArgs: 1, maxArgs: 1, args: ['text'], returns: text, impl: ([s]) => urlEncode(str(s!)) },
  URL_DECODE: { minArgs: 1, maxArgs: 1, args: ['text'], returns: text, impl: ([s]) => urlDecode(str(s!)) },
  PARSE_URL: { minArgs: 2, maxArgs: 3, args: ['text', 'text', 'text'], returns: text, impl: ([u, p, k]) => parseUrl(str(u!), str(p!), k === undefined ? undefined : str(k)) },
  /** ELT(index, expr...): the index-th expression (from 1); NULL when the index is NULL or out of range. */
  ELT: {
    minArgs: 2,
    maxArgs: 100,
    args: ['number', 'text'],
    nullSafe: true,
    returns: text,
    impl: ([i, ...exprs]) => {
      if (i === null || i === undefined) return null;
      const n = numberArg(i, 'ELT');
      return Number.isInteger(n) && n >= 1 && n <= exprs.length ? exprs[n - 1]! : null;
    },
  },
  /** BTRIM(s[, chars]): the characters of chars (a space by default) cut from both ends. */
  BTRIM: { minArgs: 1, maxArgs: 2, args: ['text', 'text'], returns: text, impl: ([s, cs]) => trimChars(str(s!), cs === undefined ? ' ' : str(cs), 'BOTH') },
  /** REGEXP_COUNT(s, regex): how many times the pattern matches. */
  REGEXP_COUNT: regexpFunction(bigint, (s, re) => [...s.matchAll(globally(re))].length),
  /** REGEXP_INSTR(s, regex): the character position (from 1) of the first match, 0 without one. */
  REGEXP_INSTR: regexpFunction(bigint, (s, re) => {
    const m = re.exec(s);
    return m === null ? 0 : [...s.slice(0, m.index)].length + 1;
  }),
  /** REGEXP_SUBSTR(s, regex): the first match, NULL without one. */
  REGEXP_SUBSTR: regexpFunction(text, (s, re) => re.exec(s)?.[0] ?? null),
  /** TRANSLATE(s, from, to): NULL for a NULL text; a NULL or empty `from` leaves it as it is; a NULL `to` removes. */
  TRANSLATE: {
    minArgs: 3,
    maxArgs: 3,
    args: ['text', 'text', 'text'],
    nullSafe: true,
    returns: text,
    impl: ([s, from, to]) => (s === null ? null : from === null || from === '' ? s! : translate(str(s!), str(from!), to === null ? '' : str(to!))),
  },
  /** IS_ALPHA, IS_DIGIT: every character a letter (a digit), and at least one; IS_DECIMAL: text of a number. NULL gives false. */
  IS_ALPHA: { minArgs: 1, maxArgs: 1, args: ['text'], nullSafe: true, returns: boolean, impl: ([s]) => s !== null && /^\p{L}+$/u.test(str(s!)) },
  IS_DIGIT: { minArgs: 1, maxArgs: 1, args: ['text'], nullSafe: true, returns: boolean, impl: ([s]) => s !== null && /^\p{Nd}+$/u.test(str(s!)) },
  IS_DECIMAL: { minArgs: 1, maxArgs: 1, args: ['text'], nullSafe: true, returns: boolean, impl: ([s]) => s !== null && DECIMAL_TEXT.test(str(s!)) },
  /**
   * `(start1, end1) OVERLAPS (start2, end2)`, each end a time or an interval after its start: whether the
   * two periods share a moment, ends included (a period given backwards is turned round), as Flink's
   * planner computes it.
   */
  OVERLAPS: {
    minArgs: 4,
    maxArgs: 4,
    args: ['time', 'timeOrInterval', 'time', 'timeOrInterval'],
    returns: boolean,
    impl: (args) => overlaps(args as number[], []),
    bind: (types) => (args) => overlaps(args as number[], types),
  },
  /** TYPEOF(x[, forceSerializable]): the name of x's type, known when the query is planned. */
  TYPEOF: { minArgs: 1, maxArgs: 2, args: ['any', 'boolean'], nullSafe: true, returns: text, impl: () => TYPE_NAMES.ANY, bind: (types) => () => TYPE_NAMES[types[0]!] },
};

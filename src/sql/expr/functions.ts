/** Scalar functions: a table of name -> arity, result type and implementation. */
import type { QueryDialect, SqlTypeName, TimeUnit } from '../ast/index.ts';
import { timestampAdd, timestampDiff } from './calendar.ts';
import { FLINK_SCALAR_FUNCTIONS } from './flink-functions.ts';
import { FLINK_STRING_FUNCTIONS } from './flink-string-functions.ts';
import { JSON_FUNCTIONS } from './json-functions.ts';
import { formatWithPattern, parseWithPattern } from './date-patterns.ts';
import { initcap, overlay, regex, regexReplace, trimChars } from './text-functions.ts';
import { notTimestampMessage, parseTimestampText } from './time.ts';
import type { Value } from './types.ts';
import { RowError, formatTimestamp, numberArg, textArg } from './types.ts';

export interface ScalarFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** The result type, from the arguments' types and the values of those that are constants (JSON_VALUE's RETURNING). */
  readonly returns: (args: readonly SqlTypeName[], constants?: readonly (Value | undefined)[]) => SqlTypeName;
  /** Called with non-null arguments only, unless `nullSafe` (then it sees nulls and decides itself). */
  readonly impl: (args: Value[]) => Value;
  /** An implementation for the argument types of one call, where the meaning depends on them (PRINTF's %d, TYPEOF). */
  readonly bind?: (types: readonly SqlTypeName[]) => (args: Value[]) => Value;
  readonly nullSafe?: boolean;
  /**
   * What each argument must be, checked when the query is planned (the last kind repeats for the rest);
   * without it any argument is taken and converted when the row is read.
   */
  readonly args?: readonly ArgumentKind[];
}

/** An argument's kind: text (VARCHAR), number (BIGINT, DOUBLE), boolean, a time, a time or an interval, or anything. NULL and ANY fit every kind. */
export type ArgumentKind = 'text' | 'number' | 'boolean' | 'time' | 'timeOrInterval' | 'any';

const ARGUMENT_TYPES: Readonly<Record<ArgumentKind, readonly SqlTypeName[]>> = {
  text: ['VARCHAR'],
  time: ['TIMESTAMP'],
  timeOrInterval: ['TIMESTAMP', 'INTERVAL'],
  number: ['BIGINT', 'DOUBLE'],
  boolean: ['BOOLEAN'],
  any: ['BOOLEAN', 'BIGINT', 'DOUBLE', 'VARCHAR', 'TIMESTAMP', 'INTERVAL'],
};

/** The first argument whose type does not fit its kind, with the kind it needs; undefined when all fit. */
export function misfitArgument(fn: ScalarFunction, types: readonly SqlTypeName[]): { readonly index: number; readonly kind: ArgumentKind } | undefined {
  if (fn.args === undefined || fn.args.length === 0) return undefined;
  for (let i = 0; i < types.length; i++) {
    const kind = fn.args[Math.min(i, fn.args.length - 1)]!;
    const t = types[i]!;
    if (t !== 'NULL' && t !== 'ANY' && !ARGUMENT_TYPES[kind].includes(t)) return { index: i, kind };
  }
  return undefined;
}

const str = textArg;
const num = numberArg;

/** A logarithm's argument: a number above 0 (else the row is an error, not a NaN or -Infinity in the output). */
const positive = (v: Value, fn: string): number => {
  const n = num(v, fn);
  if (n <= 0) throw new RowError('EVAL_ERROR', `${fn} of ${n}: the logarithm needs a number above 0`);
  return n;
};
const floorToDay = (ts: number): number => Math.floor(ts / DAY_MS) * DAY_MS;
const timeOfDay = (ts: number): number => ts - floorToDay(ts);

/** Offset of a time zone from UTC at an instant, in ms (positive east of Greenwich). */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();
/** Per zone, the last quarter hour asked about and its offset: rows come in time order, Intl is slow. */
const zoneOffsetCache = new Map<string, { bucket: number; offset: number }>();
const OFFSET_BUCKET_MS = 15 * 60_000;

export function zoneOffset(zone: string, instant: number): number {
  if (zone === 'UTC' || zone === 'Z' || zone.toUpperCase() === 'UTC') return 0;
  if (!Number.isFinite(instant)) return intlZoneOffset(zone, instant);
  const bucket = Math.floor(instant / OFFSET_BUCKET_MS);
  const cached = zoneOffsetCache.get(zone);
  if (cached !== undefined && cached.bucket === bucket) return cached.offset;
  // Offsets change at most once in a quarter hour (tzdata has no two changes that close), so equal offsets
  // at both ends of the quarter hour hold for all of it; otherwise this instant is looked up alone.
  const first = intlZoneOffset(zone, bucket * OFFSET_BUCKET_MS);
  const last = intlZoneOffset(zone, (bucket + 1) * OFFSET_BUCKET_MS - 1);
  if (first !== last) return intlZoneOffset(zone, instant);
  if (cached !== undefined) {
    cached.bucket = bucket;
    cached.offset = first;
  } else zoneOffsetCache.set(zone, { bucket, offset: first });
  return first;
}

function intlZoneOffset(zone: string, instant: number): number {
  let f = zoneFormats.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new RowError('EVAL_ERROR', `unknown time zone '${zone}'; use an IANA name such as 'Europe/Paris'`);
    }
    zoneFormats.set(zone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/** Wall-clock time in `from` to wall-clock time in `to`. */
export function convertTz(ts: number, from: string, to: string): number {
  let instant = ts - zoneOffset(from, ts);
  instant = ts - zoneOffset(from, instant);
  return instant + zoneOffset(to, instant);
}

export function floorTime(ts: number, unit: TimeUnit): number {
  const d = new Date(ts);
  switch (unit) {
    case 'MILLISECOND':
      return ts;
    case 'SECOND':
      return Math.floor(ts / 1000) * 1000;
    case 'MINUTE':
      return Math.floor(ts / 60_000) * 60_000;
    case 'HOUR':
      return Math.floor(ts / 3_600_000) * 3_600_000;
    case 'DAY':
      return Math.floor(ts / 86_400_000) * 86_400_000;
    case 'WEEK': {
      const day = Math.floor(ts / 86_400_000) * 86_400_000;
      const dow = (new Date(day).getUTCDay() + 6) % 7;
      return day - dow * 86_400_000;
    }
    case 'MONTH':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'QUARTER':
      return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
    case 'YEAR':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
  }
}

export function ceilTime(ts: number, unit: TimeUnit): number {
  const f = floorTime(ts, unit);
  if (f === ts) return ts;
  const d = new Date(f);
  switch (unit) {
    case 'MONTH':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    case 'QUARTER':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 3, 1);
    case 'YEAR':
      return Date.UTC(d.getUTCFullYear() + 1, 0, 1);
    case 'WEEK':
      return f + 7 * 86_400_000;
    default:
      return f + { MILLISECOND: 1, SECOND: 1000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 }[unit];
  }
}

export function extractField(ts: number, unit: TimeUnit | 'DOW' | 'DOY' | 'EPOCH'): number {
  const d = new Date(ts);
  switch (unit) {
    case 'MILLISECOND':
      return d.getUTCSeconds() * 1000 + d.getUTCMilliseconds();
    case 'SECOND':
      return d.getUTCSeconds();
    case 'MINUTE':
      return d.getUTCMinutes();
    case 'HOUR':
      return d.getUTCHours();
    case 'DAY':
      return d.getUTCDate();
    case 'WEEK': {
      const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
      const dayNum = (t.getUTCDay() + 6) % 7;
      t.setUTCDate(t.getUTCDate() - dayNum + 3);
      const firstThursday = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
      return 1 + Math.round(((t.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
    }
    case 'MONTH':
      return d.getUTCMonth() + 1;
    case 'QUARTER':
      return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'YEAR':
      return d.getUTCFullYear();
    case 'DOW':
      return d.getUTCDay() + 1;
    case 'DOY':
      return Math.floor((ts - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
    case 'EPOCH':
      return Math.floor(ts / 1000);
  }
}

/**
 * A field of a day-time interval (a duration in ms): DAY the whole days, HOUR 0-23, MINUTE 0-59, SECOND 0-59
 * (with its milliseconds when `fractionalSecond`), MILLISECOND the seconds' part in ms. Negative
 * durations give negative fields, as SQL's EXTRACT does.
 */
export function intervalField(ms: number, unit: 'DAY' | 'HOUR' | 'MINUTE' | 'SECOND' | 'MILLISECOND', fractionalSecond: boolean): number {
  const sign = ms < 0 ? -1 : 1;
  const a = Math.abs(ms);
  let v: number;
  switch (unit) {
    case 'DAY':
      v = Math.floor(a / 86_400_000);
      break;
    case 'HOUR':
      v = Math.floor(a / 3_600_000) % 24;
      break;
    case 'MINUTE':
      v = Math.floor(a / 60_000) % 60;
      break;
    case 'SECOND':
      v = fractionalSecond ? (a % 60_000) / 1000 : Math.floor(a / 1000) % 60;
      break;
    case 'MILLISECOND':
      v = a % 60_000;
      break;
  }
  return v === 0 ? 0 : sign * v;
}

const same = (t: SqlTypeName) => () => t;
/** Flink's default text of a date and time. */
const FLINK_DATE_TIME = 'yyyy-MM-dd HH:mm:ss';
const firstArg = (args: readonly SqlTypeName[]) => args[0] ?? 'ANY';
const numeric = (args: readonly SqlTypeName[]): SqlTypeName => (args.some((a) => a === 'DOUBLE') ? 'DOUBLE' : args.every((a) => a === 'BIGINT' || a === 'NULL') ? 'BIGINT' : 'ANY');

export const SCALAR_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  ...FLINK_SCALAR_FUNCTIONS,
  UPPER: { minArgs: 1, maxArgs: 1, returns: same('VARCHAR'), impl: ([s]) => str(s!).toUpperCase() },
  LOWER: { minArgs: 1, maxArgs: 1, returns: same('VARCHAR'), impl: ([s]) => str(s!).toLowerCase() },
  CHAR_LENGTH: { minArgs: 1, maxArgs: 1, returns: same('BIGINT'), impl: ([s]) => [...str(s!)].length },
  CHARACTER_LENGTH: { minArgs: 1, maxArgs: 1, returns: same('BIGINT'), impl: ([s]) => [...str(s!)].length },
  LENGTH: { minArgs: 1, maxArgs: 1, returns: same('BIGINT'), impl: ([s]) => [...str(s!)].length },
  CONCAT: { minArgs: 1, maxArgs: 100, returns: same('VARCHAR'), impl: (args) => args.map((a) => str(a)).join('') },
  /** Flink: CONCAT_WS(separator, s1, s2, ...) joins the texts that are not NULL; a NULL separator gives NULL. */
  CONCAT_WS: {
    minArgs: 2,
    maxArgs: 100,
    nullSafe: true,
    returns: same('VARCHAR'),
    impl: ([sep, ...parts]) => (sep === null || sep === undefined ? null : parts.filter((p) => p !== null).map((p) => str(p!)).join(str(sep))),
  },
  SUBSTRING: {
    minArgs: 2,
    maxArgs: 3,
    returns: same('VARCHAR'),
    impl: ([s, from, len]) => substring(str(s!), from!, len),
  },
  TRIM: {
    minArgs: 3,
    maxArgs: 3,
    returns: same('VARCHAR'),
    impl: ([mode, chars, s]) => trimChars(str(s!), str(chars!), str(mode!)),
  },
  POSITION: { minArgs: 2, maxArgs: 2, returns: same('BIGINT'), impl: ([n, h]) => str(h!).indexOf(str(n!)) + 1 },
  REPLACE: { minArgs: 3, maxArgs: 3, returns: same('VARCHAR'), impl: ([s, a, b]) => str(s!).split(str(a!)).join(str(b!)) },
  REGEXP_LIKE: { minArgs: 2, maxArgs: 2, returns: same('BOOLEAN'), impl: ([s, p]) => regex(str(p!)).test(str(s!)) },
  REGEXP: { minArgs: 2, maxArgs: 2, returns: same('BOOLEAN'), impl: ([s, p]) => regex(str(p!)).test(str(s!)) },
  REGEXP_EXTRACT: {
    minArgs: 2,
    maxArgs: 3,
    returns: same('VARCHAR'),
    impl: ([s, p, g]) => {
      const m = regex(str(p!)).exec(str(s!));
      if (!m) return null;
      return m[g === undefined ? (m.length > 1 ? 1 : 0) : num(g, 'REGEXP_EXTRACT')] ?? null;
    },
  },
  ABS: { minArgs: 1, maxArgs: 1, returns: firstArg, impl: ([x]) => Math.abs(num(x!, 'ABS')) },
  ROUND: {
    minArgs: 1,
    maxArgs: 2,
    returns: firstArg,
    impl: ([x, d]) => {
      const f = 10 ** (d === undefined ? 0 : num(d, 'ROUND'));
      const v = num(x!, 'ROUND') * f;
      return (Math.sign(v) * Math.round(Math.abs(v))) / f;
    },
  },
  MOD: {
    minArgs: 2,
    maxArgs: 2,
    returns: numeric,
    impl: ([a, b]) => {
      if (num(b!, 'MOD') === 0) throw new RowError('DIVISION_BY_ZERO', 'MOD by zero');
      return num(a!, 'MOD') % num(b!, 'MOD');
    },
  },
  POWER: { minArgs: 2, maxArgs: 2, returns: same('DOUBLE'), impl: ([a, b]) => num(a!, 'POWER') ** num(b!, 'POWER') },
  SQRT: { minArgs: 1, maxArgs: 1, returns: same('DOUBLE'), impl: ([a]) => Math.sqrt(num(a!, 'SQRT')) },
  EXP: { minArgs: 1, maxArgs: 1, returns: same('DOUBLE'), impl: ([a]) => Math.exp(num(a!, 'EXP')) },
  LN: { minArgs: 1, maxArgs: 1, returns: same('DOUBLE'), impl: ([a]) => Math.log(positive(a!, 'LN')) },
  LOG10: { minArgs: 1, maxArgs: 1, returns: same('DOUBLE'), impl: ([a]) => Math.log10(positive(a!, 'LOG10')) },
  COALESCE: { minArgs: 1, maxArgs: 100, nullSafe: true, returns: (a) => a.find((t) => t !== 'NULL') ?? 'NULL', impl: (args) => args.find((a) => a !== null) ?? null },
  IFNULL: { minArgs: 2, maxArgs: 2, nullSafe: true, returns: firstArg, impl: ([a, b]) => (a !== null ? a! : b!) },
  NULLIF: { minArgs: 2, maxArgs: 2, nullSafe: true, returns: firstArg, impl: ([a, b]) => (a === b ? null : a!) },
  GREATEST: { minArgs: 1, maxArgs: 100, returns: firstArg, impl: (args) => args.reduce((m, a) => (a! > m! ? a : m)) ?? null },
  LEAST: { minArgs: 1, maxArgs: 100, returns: firstArg, impl: (args) => args.reduce((m, a) => (a! < m! ? a : m)) ?? null },
  /**
   * Wall-clock time in one zone to wall-clock time in another: CONVERT_TZ(ts, 'UTC', 'Europe/Paris'). Text
   * in gives text out, read and written as 'yyyy-MM-dd HH:mm:ss', as Flink's CONVERT_TZ of a string does.
   */
  CONVERT_TZ: {
    minArgs: 3,
    maxArgs: 3,
    returns: (args) => (args[0] === 'VARCHAR' ? 'VARCHAR' : 'TIMESTAMP'),
    impl: ([t, a, b]) =>
      typeof t === 'string'
        ? formatWithPattern(convertTz(parseWithPattern(t, FLINK_DATE_TIME), str(a!), str(b!)), FLINK_DATE_TIME)
        : convertTz(num(t!, 'CONVERT_TZ'), str(a!), str(b!)),
  },
  /** TO_TIMESTAMP(text[, javaPattern]) (Flink), or of epoch milliseconds (Kinesis Analytics). */
  TO_TIMESTAMP: { minArgs: 1, maxArgs: 2, returns: same('TIMESTAMP'), impl: ([s, f]) => (typeof s === 'number' ? s : f === undefined ? parseTs(str(s!)) : parseWithPattern(str(s!), str(f))) },
  TO_TIMESTAMP_LTZ: { minArgs: 1, maxArgs: 2, returns: same('TIMESTAMP'), impl: ([n, p]) => num(n!, 'TO_TIMESTAMP_LTZ') * (p === undefined || p === 3 ? 1 : 1000) },
  /** Seconds since the epoch, as Flink's; Kinesis Analytics' milliseconds are in DIALECT_FUNCTIONS. */
  UNIX_TIMESTAMP: {
    minArgs: 1,
    maxArgs: 2,
    returns: same('BIGINT'),
    // Flink also reads text, by default as 'yyyy-MM-dd HH:mm:ss' (in UTC, this engine's only zone).
    impl: ([t, f]) => Math.floor((typeof t === 'string' ? parseWithPattern(t, f === undefined ? FLINK_DATE_TIME : str(f)) : num(t!, 'UNIX_TIMESTAMP')) / 1000),
  },
  /** Flink: TIMESTAMPDIFF(unit, t1, t2) and TIMESTAMPADD(unit, n, t); the parser passes the unit as text. */
  TIMESTAMPDIFF: { minArgs: 3, maxArgs: 3, returns: same('BIGINT'), impl: ([u, a, b]) => timestampDiff(str(u!), num(a!, 'TIMESTAMPDIFF'), num(b!, 'TIMESTAMPDIFF')) },
  TIMESTAMPADD: { minArgs: 3, maxArgs: 3, returns: same('TIMESTAMP'), impl: ([u, n, t]) => timestampAdd(str(u!), num(n!, 'TIMESTAMPADD'), num(t!, 'TIMESTAMPADD')) },
  DATE_FORMAT: { minArgs: 2, maxArgs: 2, returns: same('VARCHAR'), impl: ([t, f]) => dateFormat(num(t!, 'DATE_FORMAT'), str(f!)) },
  /** STEP(x BY n) on numbers (Kinesis Analytics): the largest multiple of n not above x. */
  STEP: {
    minArgs: 2,
    maxArgs: 2,
    returns: numeric,
    impl: ([x, n]) => {
      const by = num(n!, 'STEP');
      if (by <= 0) throw new RowError('EVAL_ERROR', `STEP needs a positive step, not ${by}`);
      return Math.floor(num(x!, 'STEP') / by) * by;
    },
  },
  /**
   * Kinesis Analytics: MONOTONIC(e) is e, declared never to turn back; as a GROUP BY key without a window it
   * closes the groups of a value when the next value comes (operators/monotonic-group-aggregate.ts).
   */
  MONOTONIC: { minArgs: 1, maxArgs: 1, nullSafe: true, returns: firstArg, impl: ([x]) => x! },
  INITCAP: { minArgs: 1, maxArgs: 1, returns: same('VARCHAR'), impl: ([s]) => initcap(str(s!)) },
  /** OVERLAY(s PLACING r FROM start [FOR length]) is parsed into these arguments. */
  OVERLAY: { minArgs: 3, maxArgs: 4, returns: same('VARCHAR'), impl: ([s, r, from, len]) => overlay(str(s!), str(r!), num(from!, 'OVERLAY'), len === undefined ? undefined : num(len, 'OVERLAY')) },
  /** Kinesis Analytics: REGEX_REPLACE(s, regex, replacement, startPosition, occurrence). */
  REGEX_REPLACE: {
    minArgs: 5,
    maxArgs: 5,
    returns: same('VARCHAR'),
    impl: ([s, re, r, start, occurrence]) => regexReplace(str(s!), regex(str(re!)), str(r!), num(start!, 'REGEX_REPLACE'), num(occurrence!, 'REGEX_REPLACE')),
  },
  /** Flink: REGEXP_REPLACE(s, regex, replacement), every match. */
  REGEXP_REPLACE: { minArgs: 3, maxArgs: 3, returns: same('VARCHAR'), impl: ([s, re, r]) => regexReplace(str(s!), regex(str(re!)), str(r!), 1, 0) },
  /** Kinesis Analytics: CHAR_TO_TIMESTAMP(format, text), a Java date pattern. */
  CHAR_TO_TIMESTAMP: { minArgs: 2, maxArgs: 2, returns: same('TIMESTAMP'), impl: ([f, s]) => parseWithPattern(str(s!), str(f!)) },
  /** Kinesis Analytics: CHAR_TO_DATE(format, text), the day the text names (midnight UTC; DATE is a TIMESTAMP here). */
  CHAR_TO_DATE: { minArgs: 2, maxArgs: 2, returns: same('TIMESTAMP'), impl: ([f, s]) => floorToDay(parseWithPattern(str(s!), str(f!))) },
  /** Kinesis Analytics: CHAR_TO_TIME(format, text), the time of day the text names, on 1970-01-01 (there is no TIME type). */
  CHAR_TO_TIME: { minArgs: 2, maxArgs: 2, returns: same('TIMESTAMP'), impl: ([f, s]) => timeOfDay(parseWithPattern(str(s!), str(f!))) },
  /** Kinesis Analytics: DATE_TO_CHAR(format, d) and TIME_TO_CHAR(format, t), the same Java patterns as TIMESTAMP_TO_CHAR. */
  DATE_TO_CHAR: { minArgs: 2, maxArgs: 2, returns: same('VARCHAR'), impl: ([f, t]) => formatWithPattern(num(t!, 'DATE_TO_CHAR'), str(f!)) },
  TIME_TO_CHAR: { minArgs: 2, maxArgs: 2, returns: same('VARCHAR'), impl: ([f, t]) => formatWithPattern(num(t!, 'TIME_TO_CHAR'), str(f!)) },
  /**
   * Kinesis Analytics: TSDIFF(startTime, endTime), the milliseconds from startTime to endTime (endTime -
   * startTime), each a BIGINT of milliseconds since the epoch as documented, or a TIMESTAMP.
   */
  TSDIFF: { minArgs: 2, maxArgs: 2, returns: same('BIGINT'), impl: ([a, b]) => num(b!, 'TSDIFF') - num(a!, 'TSDIFF') },
  /** Kinesis Analytics: TIMESTAMP_TO_CHAR(format, ts); a NULL timestamp gives the text 'null', as documented. */
  TIMESTAMP_TO_CHAR: {
    minArgs: 2,
    maxArgs: 2,
    nullSafe: true,
    returns: same('VARCHAR'),
    impl: ([f, t]) => (f === null ? null : t === null ? 'null' : formatWithPattern(num(t!, 'TIMESTAMP_TO_CHAR'), str(f!))),
  },
};

/**
 * Functions of the dialects' references that are not implemented, each with the nearest form that works, so
 * a query using one stops with that advice rather than a bare "unknown function".
 */
const LEGACY_GROUP_WINDOW =
  "Grouping by TUMBLE(ts, size), HOP(ts, slide, size) or SESSION(ts, gap), with TUMBLE_START and the like, is Flink's legacy group window syntax; write the window table function instead: SELECT window_start, window_end, k, COUNT(*) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k.";

const RANDOM_VALUES =
  "A query that restarts from a checkpoint replays rows, and random values would differ on the replay, so the output would not be exactly once. Derive the value from the row instead (e.g. a sample by key: SUBSTRING(MD5(plate), 1, 1) = '0'), or generate it in a function that reads the output.";

export const UNSUPPORTED_FUNCTIONS: Readonly<Record<string, string>> = {
  RAND: RANDOM_VALUES,
  RAND_INTEGER: RANDOM_VALUES,
  UUID: RANDOM_VALUES,
  ...Object.fromEntries(
    ['TUMBLE', 'HOP', 'SESSION', 'CUMULATE'].flatMap((w) => [w, `${w}_START`, `${w}_END`, `${w}_ROWTIME`, `${w}_PROCTIME`]).map((name) => [name, LEGACY_GROUP_WINDOW]),
  ),
  COUNT_DISTINCT_ITEMS_TUMBLING: "It is a table function: SELECT STREAM * FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(CURSOR(SELECT STREAM * FROM s), 'column', 60)).",
  FAST_REGEX_LOG_PARSER:
    "Its patterns (@, #, &, <n-m>, named classes, lazy matching without going back) are not Java's, and the reference's own examples disagree on how it matches, so it is refused rather than guessed. Write a Java regular expression for REGEX_LOG_PARSE(s, pattern): the same columns (COLUMN1, ...), but matched greedily and with backtracking, so check that the pattern gives the fields you expect.",
  FAST_REGEX_LOG_PARSE:
    "Its patterns (@, #, &, <n-m>, named classes, lazy matching without going back) are not Java's, and the reference's own examples disagree on how it matches, so it is refused rather than guessed. Write a Java regular expression for REGEX_LOG_PARSE(s, pattern): the same columns (COLUMN1, ...), but matched greedily and with backtracking, so check that the pattern gives the fields you expect.",
};

/** Functions whose meaning differs between the dialects; they win over SCALAR_FUNCTIONS. */
export const DIALECT_FUNCTIONS: Readonly<Record<QueryDialect, Readonly<Record<string, ScalarFunction>>>> = {
  flink: { ...FLINK_STRING_FUNCTIONS, ...JSON_FUNCTIONS },
  kinesis: {
    /** Milliseconds since the epoch in Kinesis Analytics (seconds in Flink). */
    UNIX_TIMESTAMP: { minArgs: 1, maxArgs: 1, returns: same('BIGINT'), impl: ([t]) => num(t!, 'UNIX_TIMESTAMP') },
  },
};

function parseTs(s: string): number {
  const t = parseTimestampText(s);
  if (t === null) throw new RowError('EVAL_ERROR', notTimestampMessage(s));
  return t;
}

/** Java-style patterns (yyyy MM dd HH mm ss SSS), as Flink's DATE_FORMAT. */
function dateFormat(ts: number, pattern: string): string {
  let plan = datePatterns.get(pattern);
  if (plan === undefined) {
    if (datePatterns.size > 100) datePatterns.clear();
    plan = planDatePattern(pattern);
    datePatterns.set(pattern, plan);
  }
  // A pattern of the date alone (yyyy-MM-dd) gives one text per UTC day: keep the day's text, so rows of
  // the same day share one string (no slicing, and its hash is computed once for group keys).
  if (plan.dayOnly && Number.isInteger(ts) && ts >= 0 && ts < FAST_DAY_LIMIT) {
    const day = Math.floor(ts / DAY_MS);
    if (day === plan.day) return plan.dayText;
    plan.day = day;
    plan.dayText = plan.format(formatTimestamp(ts));
    return plan.dayText;
  }
  return plan.format(formatTimestamp(ts));
}

const DAY_MS = 86_400_000;
/** Year 10000, from where ISO text has six-digit years. */
const FAST_DAY_LIMIT = 253_402_300_800_000;
const DATE_TOKENS: Readonly<Record<string, readonly [number, number]>> = {
  yyyy: [0, 4], MM: [5, 7], dd: [8, 10], HH: [11, 13], mm: [14, 16], ss: [17, 19], SSS: [20, 23],
};

interface DatePattern {
  readonly format: (iso: string) => string;
  readonly dayOnly: boolean;
  day: number;
  dayText: string;
}

const datePatterns = new Map<string, DatePattern>();

/** The pattern as slices of the ISO text and literals, split once instead of a regex replace per row. */
function planDatePattern(pattern: string): DatePattern {
  const pieces: (string | readonly [number, number])[] = [];
  let dayOnly = true;
  const re = /yyyy|MM|dd|HH|mm|ss|SSS/g;
  let at = 0;
  for (let m = re.exec(pattern); m !== null; m = re.exec(pattern)) {
    if (m.index > at) pieces.push(pattern.slice(at, m.index));
    pieces.push(DATE_TOKENS[m[0]]!);
    if (m[0] !== 'yyyy' && m[0] !== 'MM' && m[0] !== 'dd') dayOnly = false;
    at = m.index + m[0].length;
  }
  if (at < pattern.length) pieces.push(pattern.slice(at));
  const format = (iso: string): string => {
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : iso.slice(p[0], p[1]);
    return out;
  };
  return { format, dayOnly, day: Number.NaN, dayText: '' };
}

/** SUBSTRING counts characters (code points); text without surrogate pairs is sliced directly. */
function substring(text: string, from: Value, len: Value | undefined): string {
  const start = num(from, 'SUBSTRING');
  let begin = start - 1;
  if (len !== undefined && num(len, 'SUBSTRING') < 0) throw new RowError('EVAL_ERROR', 'SUBSTRING: negative length');
  if (hasSurrogates(text)) {
    const chars = [...text];
    let end = len === undefined ? chars.length : begin + num(len, 'SUBSTRING');
    begin = Math.max(0, begin);
    end = Math.max(begin, end);
    return chars.slice(begin, end).join('');
  }
  let end = len === undefined ? text.length : begin + num(len, 'SUBSTRING');
  begin = Math.max(0, begin);
  end = Math.max(begin, end);
  if (text === lastSubstring.text && begin === lastSubstring.begin && end === lastSubstring.end) return lastSubstring.result;
  const result = text.slice(begin, end);
  lastSubstring = { text, begin, end, result };
  return result;
}

/** The last SUBSTRING computed: a month key cut from the same day text row after row is one string. */
let lastSubstring = { text: '', begin: 0, end: 0, result: '' };

function hasSurrogates(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

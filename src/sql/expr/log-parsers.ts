/**
 * The Kinesis Analytics log parsers, functions whose value is a row: REGEX_LOG_PARSE, W3C_LOG_PARSE,
 * FIXED_COLUMN_LOG_PARSE, VARIABLE_COLUMN_LOG_PARSE and SYS_LOG_PARSE. Their columns follow from their
 * literal arguments (a regular expression's groups, a log format, a column list), so the planner knows them
 * before any row: a select item `REGEX_LOG_PARSE(s, re) AS rec` becomes the columns `rec.COLUMN1`, ...,
 * which an outer query reads as `t.rec.COLUMN1` (plan-query.ts, `expandRowItems`).
 *
 * A line that does not match gives NULL in every column, as the reference says of REGEX_LOG_PARSE; a value
 * that cannot be converted to its column's declared type sends the row to the error stream.
 */
import type { Expr, SqlTypeName } from '../ast/index.ts';
import type { SourcePos } from '../diagnostics.ts';
import { planProblem } from '../diagnostics.ts';
import { isCalendarDate } from '../../core/iso-time.ts';
import { parseWithPattern } from './date-patterns.ts';
import { castValue } from './operations.ts';
import type { Value } from './types.ts';
import { RowError } from './types.ts';

export interface RowColumn {
  readonly name: string;
  readonly type: SqlTypeName;
}

/** One parser, prepared from its literal arguments. */
export interface PreparedRowFunction {
  readonly columns: readonly RowColumn[];
  /** The column values of one input text, or null when it does not match. */
  readonly parse: (text: string) => Value[] | null;
}

interface RowFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** `literals` are the arguments after the first; each is a text literal or a number. */
  prepare(literals: readonly (string | number)[], pos: SourcePos): PreparedRowFunction;
}

const VARCHAR_COLUMNS = (n: number): RowColumn[] => Array.from({ length: n }, (_, i) => ({ name: `COLUMN${i + 1}`, type: 'VARCHAR' }));

function textArg(v: string | number | undefined, what: string, pos: SourcePos): string {
  if (typeof v !== 'string') throw planProblem(pos, `${what} must be a text literal`, "Write it in single quotes, e.g. 'COMMON'.");
  return v;
}

/** The regular expression, compiled once at plan time (an invalid one is a plan error, not a row error). */
function compileRegex(source: string, pos: SourcePos): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw planProblem(pos, `invalid regular expression '${source}': ${(err as Error).message}`, 'Check the pattern.');
  }
}

function groupCount(re: RegExp): number {
  return new RegExp(`${re.source}|`).exec('')!.length - 1;
}

/** REGEX_LOG_PARSE(s, regex): one VARCHAR column per group, COLUMN1 to COLUMNn. */
const REGEX_LOG_PARSE: RowFunction = {
  minArgs: 2,
  maxArgs: 2,
  prepare([pattern], pos) {
    const re = compileRegex(textArg(pattern, 'the pattern of REGEX_LOG_PARSE', pos), pos);
    const n = groupCount(re);
    if (n === 0) throw planProblem(pos, 'the pattern of REGEX_LOG_PARSE has no group, so it gives no column', "Put each value to extract in parentheses: '.*([E].).*([R].*)'.");
    return {
      columns: VARCHAR_COLUMNS(n),
      parse: (text) => {
        const m = re.exec(text);
        return m ? m.slice(1, n + 1).map((g) => g ?? null) : null;
      },
    };
  },
};

/** The predefined formats of W3C_LOG_PARSE, as Apache log format specifiers. */
const W3C_FORMATS: Readonly<Record<string, string>> = {
  COMMON: '%h %l %u %t "%r" %>s %b',
  'COMMON WITH VHOST': '%v %h %l %u %t "%r" %>s %b',
  'NCSA EXTENDED': '%h %l %u %t "%r" %>s %b "%[Referer]i" "%[User-agent]i"',
  REFERER: '%[Referer]i ---> %U',
  AGENT: '%[User-agent]i',
  // Microsoft's IIS log file format (the reference names it without its fields): 15 fixed fields, each
  // followed by a comma and a space, the last by a comma: client IP, user name, date, time, service and
  // instance, server name, server IP, time taken (ms), bytes received, bytes sent, status, Windows status,
  // request type (method), target, parameters.
  IIS: '%a, %u, %{date}t, %{time}t, %{service}e, %v, %A, %D, %I, %O, %>s, %{win32}e, %m, %U, %q,',
};

const regexText = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An Apache log format as a regular expression with one group per specifier: a specifier in double quotes
 * takes the quoted text (without the quotes, backslash escapes allowed), `%t` the bracketed time (with the
 * brackets, as the reference's output shows it), the last specifier the rest of the line, any other one a
 * run of non-blank characters. `%%` is a percent sign.
 */
function w3cRegex(format: string, pos: SourcePos): { re: RegExp; columns: number } {
  const spec = /%[<>!0-9,]*(?:\[[^\]]*\]|\{[^}]*\})?([a-zA-Z%])/g;
  let out = '^';
  let at = 0;
  let columns = 0;
  const matches = [...format.matchAll(spec)];
  matches.forEach((m, i) => {
    const before = format.slice(at, m.index);
    at = m.index + m[0].length;
    if (m[1] === '%') {
      out += regexText(`${before}%`);
      return;
    }
    columns++;
    const quoted = before.endsWith('"') && format[at] === '"';
    const last = i === matches.length - 1 && format.slice(at).trim() === '';
    out += regexText(before);
    if (quoted) out += '((?:[^"\\\\]|\\\\.)*)';
    else if (m[1] === 't') out += '(\\[[^\\]]*\\]|\\S+)';
    else out += last ? '(.*)' : '(\\S*)';
  });
  out += `${regexText(format.slice(at))}$`;
  if (columns === 0) throw planProblem(pos, `the W3C log format '${format}' has no specifier`, "Use a predefined format ('COMMON', 'NCSA EXTENDED', ...) or Apache specifiers such as '%h %u %t'.");
  return { re: new RegExp(out), columns };
}

/** W3C_LOG_PARSE(s, format): one VARCHAR column per format specifier (CAST the numbers). */
const W3C_LOG_PARSE: RowFunction = {
  minArgs: 2,
  maxArgs: 2,
  prepare([formatArg], pos) {
    const written = textArg(formatArg, 'the format of W3C_LOG_PARSE', pos);
    const named = written.trim().toUpperCase().replace(/\s+/g, ' ');
    const format = W3C_FORMATS[named] ?? written;
    if (!format.includes('%')) throw planProblem(pos, `unknown W3C log format '${written}'`, `Predefined formats: ${Object.keys(W3C_FORMATS).join(', ')}; or write Apache specifiers such as '%h %u %t'.`);
    const { re, columns } = w3cRegex(format, pos);
    return {
      columns: VARCHAR_COLUMNS(columns),
      parse: (text) => {
        const m = re.exec(text);
        return m ? m.slice(1).map((g) => g ?? null) : null;
      },
    };
  },
};

interface ColumnSpec extends RowColumn {
  /** A Java date pattern for TIMESTAMP columns. */
  readonly pattern: string | null;
  readonly notNull: boolean;
  readonly start: number | null;
  readonly length: number | null;
}

/**
 * A column list of the log parsers: `name TYPE type ['pattern'] [NOT NULL] [START n [FOR m]], ...`, names
 * plain or in double quotes. START and FOR are for FIXED_COLUMN_LOG_PARSE only.
 */
function parseColumnList(text: string, fn: string, pos: SourcePos): ColumnSpec[] {
  const tokens = text.match(/"(?:[^"]|"")*"|'(?:[^']|'')*'|\d+|[A-Za-z_][A-Za-z0-9_$]*|[(),]|\S/g) ?? [];
  const bad = (why: string) => planProblem(pos, `the column list of ${fn}: ${why}`, "Describe each column as name TYPE type, e.g. 'host TYPE VARCHAR(32), bytes TYPE INTEGER'.");
  const columns: ColumnSpec[] = [];
  let i = 0;
  const peekUpper = () => tokens[i]?.toUpperCase();
  while (i < tokens.length) {
    const nameTok = tokens[i++]!;
    const name = nameTok.startsWith('"') ? nameTok.slice(1, -1).replace(/""/g, '"') : nameTok.toUpperCase();
    if (peekUpper() !== 'TYPE') throw bad(`expected TYPE after ${name}`);
    i++;
    const typeWord = peekUpper();
    const type = typeWord === undefined ? undefined : LOG_TYPES[typeWord];
    if (type === undefined) throw bad(`unknown type ${tokens[i] ?? '(none)'}`);
    i++;
    if (tokens[i] === '(') {
      while (i < tokens.length && tokens[i] !== ')') i++;
      i++;
    }
    let pattern: string | null = null;
    if (tokens[i]?.startsWith("'")) pattern = tokens[i++]!.slice(1, -1).replace(/''/g, "'");
    let notNull = false;
    if (peekUpper() === 'NOT' && tokens[i + 1]?.toUpperCase() === 'NULL') {
      notNull = true;
      i += 2;
    }
    let start: number | null = null;
    let length: number | null = null;
    if (peekUpper() === 'START') {
      start = Number(tokens[++i]);
      i++;
      if (!Number.isInteger(start)) throw bad(`START of ${name} needs a whole number`);
      if (peekUpper() === 'FOR') {
        length = Number(tokens[++i]);
        i++;
        if (!Number.isInteger(length)) throw bad(`FOR of ${name} needs a whole number`);
      }
    }
    columns.push({ name, type, pattern, notNull, start, length });
    if (i < tokens.length && tokens[i++] !== ',') throw bad(`expected a comma after the column ${name}`);
  }
  if (columns.length === 0) throw bad('no column');
  return columns;
}

const LOG_TYPES: Readonly<Record<string, SqlTypeName>> = {
  VARCHAR: 'VARCHAR', CHAR: 'VARCHAR', TINYINT: 'BIGINT', SMALLINT: 'BIGINT', INT: 'BIGINT', INTEGER: 'BIGINT', BIGINT: 'BIGINT',
  REAL: 'DOUBLE', FLOAT: 'DOUBLE', DOUBLE: 'DOUBLE', DECIMAL: 'DOUBLE', NUMERIC: 'DOUBLE', BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP', DATE: 'TIMESTAMP', TIME: 'TIMESTAMP',
};

/** A field's text as its column's type: a pattern for TIMESTAMP columns, numbers trimmed, NOT NULL checked. */
function convert(text: string | null, c: ColumnSpec): Value {
  if (text === null || (c.type !== 'VARCHAR' && text.trim() === '')) {
    if (c.notNull) throw new RowError('EVAL_ERROR', `the log field ${c.name} is empty, and declared NOT NULL`);
    return null;
  }
  if (c.type === 'VARCHAR') return text;
  if (c.type === 'TIMESTAMP' && c.pattern !== null) return parseWithPattern(text.trim(), c.pattern);
  return castValue(text.trim(), 'VARCHAR', c.type);
}

/**
 * FIXED_COLUMN_LOG_PARSE(s, 'name TYPE type START n [FOR m], ...'): each column the characters from START
 * (0 is the first); without FOR, up to the START of the next column, or the end of the line for the last.
 */
const FIXED_COLUMN_LOG_PARSE: RowFunction = {
  minArgs: 2,
  maxArgs: 2,
  prepare([list], pos) {
    const columns = parseColumnList(textArg(list, 'the column list of FIXED_COLUMN_LOG_PARSE', pos), 'FIXED_COLUMN_LOG_PARSE', pos);
    const missing = columns.find((c) => c.start === null);
    if (missing) throw planProblem(pos, `FIXED_COLUMN_LOG_PARSE: the column ${missing.name} has no START`, `Say where it starts: '${missing.name} TYPE VARCHAR(8) START 0 FOR 8'.`);
    const starts = columns.map((c) => c.start!).sort((a, b) => a - b);
    const ends = columns.map((c) => (c.length !== null ? c.start! + c.length : (starts.find((s) => s > c.start!) ?? Number.POSITIVE_INFINITY)));
    return {
      columns,
      parse: (text) => columns.map((c, i) => convert(c.start! < text.length ? text.slice(c.start!, ends[i]) : null, c)),
    };
  },
};

/**
 * Splits a line at a delimiter; an escape character takes the next character as it is, and text between
 * the quote characters stays in one field (without its quotes).
 */
export function splitFields(text: string, delimiter: string, escape: string, quoteBegin: string, quoteEnd: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (escape !== '' && text.startsWith(escape, i) && i + escape.length < text.length) {
      field += text[i + escape.length];
      i += escape.length + 1;
    } else if (quoted) {
      if (ch === quoteEnd) quoted = false;
      else field += ch;
      i++;
    } else if (quoteBegin !== '' && ch === quoteBegin) {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length;
    } else {
      field += ch;
      i++;
    }
  }
  fields.push(field);
  return fields;
}

/**
 * VARIABLE_COLUMN_LOG_PARSE(s, columns, delimiter [, escape, quote]): `columns` a number (COLUMN1 to
 * COLUMNn, VARCHAR) or a column list. Missing fields are NULL; fields beyond the columns are left out.
 */
const VARIABLE_COLUMN_LOG_PARSE: RowFunction = {
  minArgs: 3,
  maxArgs: 5,
  prepare([cols, delimiterArg, escapeArg, quoteArg], pos) {
    const columns: ColumnSpec[] =
      typeof cols === 'number'
        ? VARCHAR_COLUMNS(cols).map((c) => ({ ...c, pattern: null, notNull: false, start: null, length: null }))
        : parseColumnList(textArg(cols, 'the columns of VARIABLE_COLUMN_LOG_PARSE', pos), 'VARIABLE_COLUMN_LOG_PARSE', pos);
    if (typeof cols === 'number' && !(Number.isInteger(cols) && cols > 0)) throw planProblem(pos, 'VARIABLE_COLUMN_LOG_PARSE needs a positive number of columns', '');
    const delimiter = textArg(delimiterArg, 'the delimiter of VARIABLE_COLUMN_LOG_PARSE', pos);
    if (delimiter === '') throw planProblem(pos, 'the delimiter of VARIABLE_COLUMN_LOG_PARSE is empty', "Give one, e.g. ','.");
    const escape = escapeArg === undefined ? '' : textArg(escapeArg, 'the escape of VARIABLE_COLUMN_LOG_PARSE', pos);
    const quote = quoteArg === undefined ? '' : textArg(quoteArg, 'the quote characters of VARIABLE_COLUMN_LOG_PARSE', pos);
    if (quote.length > 2) throw planProblem(pos, 'the quote of VARIABLE_COLUMN_LOG_PARSE is one or two characters (begin, end)', `'"' or '[]'.`);
    const quoteBegin = quote[0] ?? '';
    const quoteEnd = quote[1] ?? quoteBegin;
    return {
      columns,
      parse: (text) => {
        const fields = splitFields(text, delimiter, escape, quoteBegin, quoteEnd);
        return columns.map((c, i) => convert(fields[i] ?? null, c));
      },
    };
  },
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SYSLOG = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (.*)$/;

/**
 * SYS_LOG_PARSE(s): `Mon DD HH:MM:SS server message` as COLUMN1, a TIMESTAMP, and COLUMN2, the rest of the
 * line. The line has no year: it is 1970, as a Java date pattern without a year gives (UTC, as every time here).
 */
const SYS_LOG_PARSE: RowFunction = {
  minArgs: 1,
  maxArgs: 1,
  prepare() {
    return {
      columns: [
        { name: 'COLUMN1', type: 'TIMESTAMP' },
        { name: 'COLUMN2', type: 'VARCHAR' },
      ],
      parse: (text) => {
        const m = SYSLOG.exec(text);
        const month = m ? MONTHS.indexOf(m[1]!) : -1;
        if (!m || month < 0) return null;
        const [day, hour, minute, second] = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
        // Date.UTC would roll "Feb 30" over into March: a line naming no real time is an error, not another time.
        if (!isCalendarDate(1970, month + 1, day) || hour > 23 || minute > 59 || second > 59) {
          throw new RowError('EVAL_ERROR', `SYS_LOG_PARSE: '${text.slice(0, 15)}' is not a date and time of 1970`);
        }
        return [Date.UTC(1970, month, day, hour, minute, second), m[6]!];
      },
    };
  },
};

export const ROW_FUNCTIONS: Readonly<Record<string, RowFunction>> = {
  REGEX_LOG_PARSE,
  W3C_LOG_PARSE,
  FIXED_COLUMN_LOG_PARSE,
  VARIABLE_COLUMN_LOG_PARSE,
  SYS_LOG_PARSE,
};

export function isRowFunctionCall(e: Expr): e is Extract<Expr, { kind: 'call' }> {
  return e.kind === 'call' && e.name in ROW_FUNCTIONS && e.over === null;
}

/** Prepares a row function from the call's literal arguments (all but the first, the text to parse). */
export function prepareRowFunction(e: Extract<Expr, { kind: 'call' }>): PreparedRowFunction {
  const fn = ROW_FUNCTIONS[e.name]!;
  if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
    const want = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
    throw planProblem(e.pos, `${e.name} takes ${want} argument(s), got ${e.args.length}`, '');
  }
  const literals = e.args.slice(1).map((a) => {
    if (a.kind === 'literal' && (typeof a.value === 'string' || typeof a.value === 'number')) return a.value;
    throw planProblem(a.pos, `the arguments of ${e.name} after the text are literals: they decide its columns`, 'Write them as text or numbers in the query.');
  });
  return fn.prepare(literals, e.pos);
}

/**
 * The internal call that reads column `k` (from 0) of a row function's value: the planner writes one per
 * column of a row-valued select item. `$` keeps it out of reach of queries.
 */
export const ROW_COLUMN = '$ROW_COLUMN';

export function rowColumnExpr(call: Extract<Expr, { kind: 'call' }>, column: number | string, pos: SourcePos = call.pos): Expr {
  // By position (the planner's) or by name (written after the call: REGEX_LOG_PARSE(s, re).COLUMN1).
  const index: Expr = typeof column === 'number' ? { kind: 'literal', type: 'BIGINT', value: column, pos } : { kind: 'literal', type: 'VARCHAR', value: column, pos };
  return { kind: 'call', name: ROW_COLUMN, args: [index, call], distinct: false, star: false, filter: null, ignoreNulls: false, over: null, pos };
}

/** Which column of the row `e` (a ROW_COLUMN call) reads: its position, or the one of its name. */
export function rowColumnIndex(e: Extract<Expr, { kind: 'call' }>): number {
  const which = e.args[0]!;
  const value = which.kind === 'literal' ? which.value : 0;
  if (typeof value === 'number') return value;
  const call = e.args[1] as Extract<Expr, { kind: 'call' }>;
  const columns = prepareRowFunction(call).columns;
  const k = columns.findIndex((c) => c.name.toLowerCase() === String(value).toLowerCase());
  if (k < 0) throw planProblem(which.pos, `${call.name} gives no column ${String(value)}`, `Its columns are ${columns.map((c) => c.name).join(', ')}.`);
  return k;
}

/** Prepared parsers by call text: the columns of one call share it, and its last line parsed. */
const prepared = new Map<string, { fn: PreparedRowFunction; lastText: string | null; lastValues: Value[] | null }>();

/** Column `k` of the row the call gives for the text `textFn` reads; the line is parsed once for all columns. */
export function rowColumnReader(call: Extract<Expr, { kind: 'call' }>, key: string, k: number): { type: SqlTypeName; read: (text: Value) => Value } {
  let entry = prepared.get(key);
  if (!entry) {
    if (prepared.size > 1000) prepared.clear();
    entry = { fn: prepareRowFunction(call), lastText: null, lastValues: null };
    prepared.set(key, entry);
  }
  const e = entry;
  const column = e.fn.columns[k];
  if (column === undefined) throw planProblem(call.pos, `${call.name} has no column ${k + 1}`, '');
  return {
    type: column.type,
    read: (text) => {
      if (text === null) return null;
      const s = typeof text === 'string' ? text : String(text);
      if (s !== e.lastText) {
        // Parse first, then remember: a row that fails to convert is not taken as parsed.
        const values = e.fn.parse(s);
        e.lastValues = values;
        e.lastText = s;
      }
      return e.lastValues === null ? null : (e.lastValues[k] ?? null);
    },
  };
}

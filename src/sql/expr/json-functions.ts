/**
 * Flink's JSON functions that give a scalar or JSON text: `IS JSON`, JSON_EXISTS, JSON_VALUE, JSON_QUERY,
 * JSON_STRING, JSON_OBJECT and JSON_ARRAY, in the Flink dialect. Paths are SQL/JSON paths in `lax` (the
 * default) or `strict` mode: `$`, `.key`, `."key"`, `["key"]`, `[n]`, `[*]`, `.*`. A step that finds nothing
 * (a missing member, a member of an array, an index beyond the end or of something that is not an array)
 * selects nothing in lax mode and is an error in strict mode, as Flink's path engine reads them: lax mode
 * does not look a member up in each element of an array.
 * The parser turns each function's clauses (RETURNING, ON EMPTY, ON ERROR, WRAPPER, ON NULL) into text
 * arguments after the documented ones, so the functions here see them as constants.
 */
import type { SqlTypeName } from '../ast/index.ts';
import type { ScalarFunction } from './functions.ts';
import { RowError, formatTimestamp, textArg } from './types.ts';
import type { Value } from './types.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class PathError extends Error {}

interface Path {
  readonly strict: boolean;
  readonly steps: readonly Step[];
}
type Step = { readonly kind: 'member'; readonly name: string } | { readonly kind: 'anyMember' } | { readonly kind: 'index'; readonly at: number } | { readonly kind: 'anyIndex' };

const paths = new Map<string, Path>();

/** A path, parsed once per text; a path that is not one is a row error (as Flink's planner refuses a literal one). */
function parsePath(text: string): Path {
  const cached = paths.get(text);
  if (cached !== undefined) return cached;
  const m = /^\s*(?:(lax|strict)\s+)?\$(.*)$/is.exec(text);
  if (!m) throw new RowError('EVAL_ERROR', `'${text}' is not a JSON path: it starts with $ (or lax $, strict $)`);
  const steps: Step[] = [];
  let rest = m[2]!.trim();
  while (rest !== '') {
    let s: RegExpExecArray | null;
    if ((s = /^\.?\[\s*\*\s*\]/.exec(rest))) steps.push({ kind: 'anyIndex' });
    else if ((s = /^\.?\[\s*(\d+)\s*\]/.exec(rest))) steps.push({ kind: 'index', at: Number(s[1]) });
    else if ((s = /^\.?\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest)) || (s = /^\.?\[\s*'((?:[^'\\]|\\.)*)'\s*\]/.exec(rest))) steps.push({ kind: 'member', name: s[1]!.replace(/\\(.)/g, '$1') });
    else if ((s = /^\.\*/.exec(rest))) steps.push({ kind: 'anyMember' });
    else if ((s = /^\."((?:[^"\\]|\\.)*)"/.exec(rest))) steps.push({ kind: 'member', name: s[1]!.replace(/\\(.)/g, '$1') });
    else if ((s = /^\.([A-Za-z_$][\w$]*)/.exec(rest))) steps.push({ kind: 'member', name: s[1]! });
    else throw new RowError('EVAL_ERROR', `'${text}' is not a JSON path: cannot read '${rest}'`);
    rest = rest.slice(s[0].length).trim();
  }
  const path: Path = { strict: (m[1] ?? '').toLowerCase() === 'strict', steps };
  if (paths.size > 1000) paths.clear();
  paths.set(text, path);
  return path;
}

const isObject = (v: Json): v is { [key: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The items the path selects (a sequence, as SQL/JSON has it); strict mode throws PathError where lax gives nothing. */
function select(doc: Json, path: Path): Json[] {
  let items: Json[] = [doc];
  for (const step of path.steps) {
    const next: Json[] = [];
    for (const t of items) {
      switch (step.kind) {
        case 'member':
          if (isObject(t) && Object.hasOwn(t, step.name)) next.push(t[step.name]!);
          else if (path.strict) throw new PathError(isObject(t) ? `no member '${step.name}'` : `a member '${step.name}' of something that is not an object`);
          break;
        case 'anyMember':
          if (isObject(t)) next.push(...Object.values(t));
          else if (path.strict) throw new PathError('.* of something that is not an object');
          break;
        case 'index':
          if (Array.isArray(t) && step.at < t.length) next.push(t[step.at]!);
          else if (path.strict) throw new PathError(Array.isArray(t) ? `[${step.at}] beyond the array's end` : `[${step.at}] of something that is not an array`);
          break;
        case 'anyIndex':
          if (Array.isArray(t)) next.push(...t);
          else if (path.strict) throw new PathError('[*] of something that is not an array');
          break;
      }
    }
    items = next;
  }
  return items;
}

/** The JSON text parsed, or PathError (an error ON ERROR handles) when it is not JSON. */
function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new PathError('the text is not JSON');
  }
}

function isJsonText(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/** IS JSON [VALUE | SCALAR | ARRAY | OBJECT]: whether the text is JSON of that kind; NULL is not JSON. */
function isJson(v: Value, kind: string): boolean {
  if (typeof v !== 'string') return false;
  const doc = isJsonText(v);
  if (doc === undefined) return false;
  switch (kind) {
    case 'OBJECT':
      return isObject(doc);
    case 'ARRAY':
      return Array.isArray(doc);
    case 'SCALAR':
      return doc === null || typeof doc !== 'object';
    default:
      return true;
  }
}

/** JSON_VALUE's RETURNING types and how a scalar converts to them (a failed conversion is an error ON ERROR handles). */
const RETURNING: Readonly<Record<string, { readonly type: SqlTypeName; readonly convert: (v: Json) => Value }>> = {
  STRING: { type: 'VARCHAR', convert: (v) => (typeof v === 'string' ? v : String(v)) },
  BOOLEAN: {
    type: 'BOOLEAN',
    convert: (v) => {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
      throw new PathError(`${JSON.stringify(v)} is not a BOOLEAN`);
    },
  },
  BIGINT: {
    type: 'BIGINT',
    convert: (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n)) throw new PathError(`${JSON.stringify(v)} is not an integer`);
      return n;
    },
  },
  DOUBLE: {
    type: 'DOUBLE',
    convert: (v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n)) throw new PathError(`${JSON.stringify(v)} is not a number`);
      return n;
    },
  },
};

/**
 * ON EMPTY / ON ERROR of JSON_VALUE: NULL, ERROR (the row goes to the error stream) or DEFAULT value (as
 * the RETURNING type). The parser passes the mode and the default as two arguments.
 */
function onBehaviour(mode: Value | undefined, fallback: Value | undefined, what: string, convert: (v: Json) => Value): Value {
  if (mode === 'ERROR') throw new RowError('EVAL_ERROR', `JSON_VALUE: ${what}`);
  if (mode === 'DEFAULT') {
    if (fallback === null || fallback === undefined) return null;
    try {
      return convert(fallback as Json);
    } catch {
      throw new RowError('EVAL_ERROR', `JSON_VALUE: the DEFAULT ${String(fallback)} does not convert to the RETURNING type`);
    }
  }
  return null;
}

/** A value as JSON_STRING and the JSON constructors write it: TIMESTAMP as its text, texts quoted. */
function toJson(v: Value, type: SqlTypeName): Json {
  if (v === null) return null;
  if (type === 'TIMESTAMP' && typeof v === 'number') return formatTimestamp(v);
  return v;
}

/** JSON text as Flink writes it: no spaces. */
const write = (v: Json): string => JSON.stringify(v);

/** JSON_QUERY's WRAPPER and ON EMPTY / ON ERROR behaviours, as the parser passes them. */
function queryFallback(mode: Value | undefined, what: string): string | null {
  if (mode === 'ERROR') throw new RowError('EVAL_ERROR', `JSON_QUERY: ${what}`);
  if (mode === 'EMPTY ARRAY') return '[]';
  if (mode === 'EMPTY OBJECT') return '{}';
  return null;
}

const bool = () => 'BOOLEAN' as const;
const text = () => 'VARCHAR' as const;

export const JSON_FUNCTIONS: Readonly<Record<string, ScalarFunction>> = {
  /** `x IS JSON [kind]`, parsed into this call with the kind as text. */
  'IS JSON': { minArgs: 2, maxArgs: 2, args: ['text', 'text'], nullSafe: true, returns: bool, impl: ([v, kind]) => isJson(v ?? null, String(kind)) },
  /** JSON_EXISTS(json, path [TRUE | FALSE | UNKNOWN | ERROR ON ERROR]): FALSE ON ERROR by default. */
  JSON_EXISTS: {
    minArgs: 2,
    maxArgs: 3,
    args: ['text', 'text', 'text'],
    nullSafe: true,
    returns: bool,
    impl: ([json, path, onError]) => {
      if (json === null || path === null) return null;
      const p = parsePath(textArg(path!));
      try {
        return select(parseJson(textArg(json!)), p).length > 0;
      } catch (err) {
        if (!(err instanceof PathError)) throw err;
        if (onError === 'ERROR') throw new RowError('EVAL_ERROR', `JSON_EXISTS: ${err.message}`);
        return onError === 'TRUE' ? true : onError === 'UNKNOWN' ? null : false;
      }
    },
  },
  /**
   * JSON_VALUE(json, path [RETURNING type] [behaviour ON EMPTY] [behaviour ON ERROR]): the one scalar the
   * path selects. Arguments after the path: the RETURNING key, then mode and default ON EMPTY, then ON ERROR.
   */
  JSON_VALUE: {
    minArgs: 2,
    maxArgs: 7,
    args: ['text', 'text', 'text', 'text', 'any', 'text', 'any'],
    nullSafe: true,
    returns: (_types, constants) => RETURNING[String(constants?.[2] ?? 'STRING')]?.type ?? 'VARCHAR',
    impl: ([json, path, returning, emptyMode, emptyDefault, errorMode, errorDefault]) => {
      if (json === null || path === null) return null;
      const p = parsePath(textArg(path!));
      const { convert } = RETURNING[String(returning ?? 'STRING')] ?? RETURNING.STRING!;
      let items: Json[];
      try {
        items = select(parseJson(textArg(json!)), p);
        if (items.length > 1) throw new PathError('the path selects more than one value');
        if (items.length === 1 && items[0] !== null && typeof items[0] === 'object') throw new PathError('the path selects an object or an array, not a scalar');
        if (items.length === 1 && items[0] !== null) return convert(items[0]!);
      } catch (err) {
        if (!(err instanceof PathError)) throw err;
        return onBehaviour(errorMode, errorDefault, err.message, convert);
      }
      // A JSON null is a value, and gives NULL; nothing at all is empty.
      return items.length === 1 ? null : onBehaviour(emptyMode, emptyDefault, 'the path selects nothing', convert);
    },
  },
  /**
   * JSON_QUERY(json, path [RETURNING STRING] [WITHOUT | WITH CONDITIONAL | WITH UNCONDITIONAL [ARRAY] WRAPPER]
   * [NULL | EMPTY ARRAY | EMPTY OBJECT | ERROR ON EMPTY] [... ON ERROR]): JSON text of what the path selects.
   * Arguments after the path: the wrapper, the ON EMPTY and the ON ERROR behaviour.
   */
  JSON_QUERY: {
    minArgs: 2,
    maxArgs: 5,
    args: ['text', 'text', 'text', 'text', 'text'],
    nullSafe: true,
    returns: text,
    impl: ([json, path, wrapper, onEmpty, onError]) => {
      if (json === null || path === null) return null;
      const p = parsePath(textArg(path!));
      try {
        const items = select(parseJson(textArg(json!)), p);
        if (items.length === 0) return queryFallback(onEmpty, 'the path selects nothing');
        // A path with a wildcard selects one array of its items, as Flink's path engine gives them.
        const value: Json = items.length > 1 || p.steps.some((step) => step.kind === 'anyIndex' || step.kind === 'anyMember') ? items : items[0]!;
        if (wrapper === 'UNCONDITIONAL') return write([value]);
        // CONDITIONAL wraps everything but an array (an object too, as Flink's documented '[{}]' shows).
        if (wrapper === 'CONDITIONAL') return write(Array.isArray(value) ? value : [value]);
        if (value === null || typeof value !== 'object') throw new PathError('the path selects a scalar; add WITH CONDITIONAL ARRAY WRAPPER');
        return write(value);
      } catch (err) {
        if (!(err instanceof PathError)) throw err;
        return queryFallback(onError, err.message);
      }
    },
  },
  /** JSON_STRING(value): the value as JSON text; NULL for NULL. */
  JSON_STRING: { minArgs: 1, maxArgs: 1, returns: text, impl: ([v]) => write(v!), bind: (types) => ([v]) => write(toJson(v!, types[0]!)) },
  /**
   * JSON_OBJECT([KEY] k VALUE v, ... [NULL | ABSENT ON NULL]) and JSON_ARRAY(v, ... [NULL | ABSENT ON NULL]).
   * The parser passes the ON NULL mode and which values are themselves JSON (a JSON_OBJECT, JSON_ARRAY or
   * JSON_QUERY inside, written as it is rather than as a text) first.
   */
  JSON_OBJECT: {
    minArgs: 2,
    maxArgs: 202,
    nullSafe: true,
    returns: text,
    impl: (args) => jsonObject(args, []),
    bind: (types) => (args) => jsonObject(args, types),
  },
  JSON_ARRAY: {
    minArgs: 2,
    maxArgs: 102,
    nullSafe: true,
    returns: text,
    impl: (args) => jsonArray(args, []),
    bind: (types) => (args) => jsonArray(args, types),
  },
};

function member(v: Value, raw: boolean, type: SqlTypeName): Json {
  return raw && typeof v === 'string' ? (JSON.parse(v) as Json) : toJson(v, type ?? 'ANY');
}

function jsonObject([onNull, rawFlags, ...pairs]: Value[], types: readonly SqlTypeName[]): string {
  const out: { [key: string]: Json } = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const key = pairs[i];
    if (key === null || key === undefined) throw new RowError('EVAL_ERROR', 'JSON_OBJECT: a key is NULL');
    const v = pairs[i + 1]!;
    if (v === null && onNull === 'ABSENT') continue;
    out[textArg(key)] = member(v, String(rawFlags)[i / 2] === '1', types[i + 3]!);
  }
  return write(out);
}

function jsonArray([onNull, rawFlags, ...values]: Value[], types: readonly SqlTypeName[]): string {
  const out: Json[] = [];
  values.forEach((v, i) => {
    if (v === null && onNull !== 'NULL') return;
    out.push(member(v, String(rawFlags)[i] === '1', types[i + 2]!));
  });
  return write(out);
}

/**
 * The clauses of Flink's JSON functions: `RETURNING type`, `... ON EMPTY`, `... ON ERROR`, `WITH ... WRAPPER`,
 * `KEY k VALUE v`, `NULL | ABSENT ON NULL`. Each becomes a text argument after the documented ones (see
 * expr/json-functions.ts), so the calls stay plain calls for every later pass.
 */
import type { Expr } from '../ast/index.ts';
import type { Cursor } from './cursor.ts';
import { parseExpr } from './expressions.ts';
import { parseType } from './units-and-types.ts';

export const JSON_CALLS = new Set(['JSON_VALUE', 'JSON_QUERY', 'JSON_EXISTS', 'JSON_OBJECT', 'JSON_ARRAY']);
/** Calls whose result is JSON, written into an enclosing JSON_OBJECT or JSON_ARRAY as it is. */
const JSON_RESULTS = new Set(['JSON_OBJECT', 'JSON_ARRAY', 'JSON_QUERY']);

const text = (value: string, pos: Expr['pos']): Expr => ({ kind: 'literal', type: 'VARCHAR', value, pos });
const nullLiteral = (pos: Expr['pos']): Expr => ({ kind: 'literal', type: 'NULL', value: null, pos });

function call(name: string, args: Expr[], pos: Expr['pos']): Expr {
  return { kind: 'call', name, args, distinct: false, star: false, filter: null, ignoreNulls: false, over: null, pos };
}

/** `name(` has been read up to the name; parses the call through its closing parenthesis. */
export function parseJsonCall(c: Cursor): Expr {
  const nameTok = c.next();
  const name = nameTok.upper;
  const pos = nameTok.pos;
  c.expectOp('(');
  let expr: Expr;
  if (name === 'JSON_OBJECT' || name === 'JSON_ARRAY') expr = parseConstructor(c, name, pos);
  else {
    const json = parseExpr(c);
    c.expectOp(',', `Write ${name}(json, '$.path').`);
    const path = parseExpr(c);
    if (name === 'JSON_EXISTS') expr = call(name, [json, path, ...existsClauses(c)], pos);
    else if (name === 'JSON_VALUE') expr = call(name, [json, path, ...valueClauses(c)], pos);
    else expr = call(name, [json, path, ...queryClauses(c)], pos);
  }
  c.expectOp(')', `Close the argument list of ${name}.`);
  return expr;
}

/** `TRUE | FALSE | UNKNOWN | ERROR ON ERROR`. */
function existsClauses(c: Cursor): Expr[] {
  const t = c.peek();
  if (['TRUE', 'FALSE', 'UNKNOWN', 'ERROR'].includes(t.upper) && c.isWordAt(1, 'ON')) {
    c.next();
    c.expectWord('ON');
    c.expectWord('ERROR', 'JSON_EXISTS takes TRUE, FALSE, UNKNOWN or ERROR ON ERROR.');
    return [text(t.upper, t.pos)];
  }
  return [];
}

/** `[RETURNING type] [NULL | ERROR | DEFAULT v ON EMPTY] [NULL | ERROR | DEFAULT v ON ERROR]`. */
function valueClauses(c: Cursor): Expr[] {
  const pos = c.peek().pos;
  let returning = 'STRING';
  if (c.acceptWord('RETURNING')) {
    const typePos = c.peek().pos;
    const type = parseType(c);
    const key = ({ VARCHAR: 'STRING', BOOLEAN: 'BOOLEAN', BIGINT: 'BIGINT', DOUBLE: 'DOUBLE' } as Record<string, string>)[type.name];
    if (key === undefined) throw c.errorAt(typePos, `JSON_VALUE cannot return ${type.text}`, 'RETURNING takes STRING, BOOLEAN, an integer type or DOUBLE.');
    returning = key;
  }
  const behaviours: Record<'EMPTY' | 'ERROR', [Expr, Expr]> = { EMPTY: [nullLiteral(pos), nullLiteral(pos)], ERROR: [nullLiteral(pos), nullLiteral(pos)] };
  for (let i = 0; i < 2; i++) {
    const t = c.peek();
    let mode: Expr;
    let fallback: Expr = nullLiteral(t.pos);
    if (t.upper === 'DEFAULT') {
      c.next();
      mode = text('DEFAULT', t.pos);
      fallback = parseBehaviourValue(c);
    } else if ((t.upper === 'NULL' || t.upper === 'ERROR') && c.isWordAt(1, 'ON')) {
      c.next();
      mode = text(t.upper, t.pos);
    } else break;
    c.expectWord('ON', 'Write NULL, ERROR or DEFAULT value, then ON EMPTY or ON ERROR.');
    const which = c.next();
    if (which.upper !== 'EMPTY' && which.upper !== 'ERROR') throw c.errorAt(which.pos, `expected EMPTY or ERROR after ON, found ${c.describe(which)}`, 'Write ... ON EMPTY or ... ON ERROR.');
    behaviours[which.upper] = [mode, fallback];
  }
  return [text(returning, pos), ...behaviours.EMPTY, ...behaviours.ERROR];
}

/** A DEFAULT value: an expression up to the ON of its clause. */
function parseBehaviourValue(c: Cursor): Expr {
  return parseExpr(c);
}

/** `[RETURNING STRING] [WITHOUT [ARRAY] WRAPPER | WITH [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER] [... ON EMPTY] [... ON ERROR]`. */
function queryClauses(c: Cursor): Expr[] {
  const pos = c.peek().pos;
  if (c.acceptWord('RETURNING')) {
    const typePos = c.peek().pos;
    const type = parseType(c);
    if (type.name !== 'VARCHAR') throw c.errorAt(typePos, `JSON_QUERY returns text here, not ${type.text}`, 'Leave RETURNING out or write RETURNING STRING (no ARRAY types here).');
  }
  let wrapper = 'WITHOUT';
  if (c.acceptWord('WITHOUT')) {
    c.acceptWord('ARRAY');
    c.expectWord('WRAPPER');
  } else if (c.acceptWord('WITH')) {
    wrapper = c.acceptWord('CONDITIONAL') ? 'CONDITIONAL' : 'UNCONDITIONAL';
    if (wrapper === 'UNCONDITIONAL') c.acceptWord('UNCONDITIONAL');
    c.acceptWord('ARRAY');
    c.expectWord('WRAPPER', 'Write WITH [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER.');
  }
  const behaviours: Record<'EMPTY' | 'ERROR', string> = { EMPTY: 'NULL', ERROR: 'NULL' };
  for (let i = 0; i < 2; i++) {
    let mode: string;
    if ((c.isWord('NULL') || c.isWord('ERROR')) && c.isWordAt(1, 'ON')) mode = c.next().upper;
    else if (c.isWord('EMPTY') && (c.isWordAt(1, 'ARRAY') || c.isWordAt(1, 'OBJECT'))) {
      c.next();
      mode = `EMPTY ${c.next().upper}`;
    } else break;
    c.expectWord('ON');
    const which = c.next();
    if (which.upper !== 'EMPTY' && which.upper !== 'ERROR') throw c.errorAt(which.pos, `expected EMPTY or ERROR after ON, found ${c.describe(which)}`, 'Write ... ON EMPTY or ... ON ERROR.');
    behaviours[which.upper] = mode;
  }
  return [text(wrapper, pos), text(behaviours.EMPTY, pos), text(behaviours.ERROR, pos)];
}

/** JSON_OBJECT([KEY] k VALUE v, ... [NULL | ABSENT ON NULL]) or JSON_ARRAY(v, ... [NULL | ABSENT ON NULL]), after the `(`. */
function parseConstructor(c: Cursor, name: 'JSON_OBJECT' | 'JSON_ARRAY', pos: Expr['pos']): Expr {
  const values: Expr[] = [];
  let raw = '';
  let onNull = name === 'JSON_OBJECT' ? 'NULL' : 'ABSENT';
  const atOnNull = () => (c.isWord('NULL') || c.isWord('ABSENT')) && c.isWordAt(1, 'ON') && c.isWordAt(2, 'NULL');
  while (!c.isOp(')') && !atOnNull()) {
    if (name === 'JSON_OBJECT') {
      if (c.isWord('KEY') && !c.isOpAt(1, ',') && !c.isWordAt(1, 'VALUE')) c.next();
      values.push(parseExpr(c));
      c.expectWord('VALUE', "Write JSON_OBJECT(KEY 'k' VALUE v, ...).");
    }
    const v = parseExpr(c);
    values.push(v);
    raw += v.kind === 'call' && JSON_RESULTS.has(v.name) ? '1' : '0';
    if (!c.acceptOp(',')) break;
  }
  if (atOnNull()) {
    onNull = c.next().upper;
    c.next();
    c.next();
  }
  return call(name, [text(onNull, pos), text(raw, pos), ...values], pos);
}

/** Expression parsing by precedence climbing: OR < AND < NOT < comparison < || < + - < * / % < unary. */
import type { BinaryOp, Expr, OrderItem, OverClause, TimeUnit } from '../ast/index.ts';
import { isRowFunctionCall, rowColumnExpr } from '../expr/log-parsers.ts';
import { impossibleDateTime, notTimestampMessage, parseTimestampText } from '../expr/time.ts';
import type { Cursor } from './cursor.ts';
import { parseSelect } from './parser.ts';
import { JSON_CALLS, parseJsonCall } from './json-functions.ts';
import { parseInterval, parseTimeUnit, parseType } from './units-and-types.ts';

/** The text of a TIME literal: HH:MM, HH:MM:SS or HH:MM:SS.fff. */
const TIME_OF_DAY = /^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?$/;

export function parseExpr(c: Cursor): Expr {
  return parseOr(c);
}

function parseOr(c: Cursor): Expr {
  let left = parseAnd(c);
  while (c.isWord('OR')) {
    const pos = c.next().pos;
    left = { kind: 'binary', op: 'OR', left, right: parseAnd(c), pos };
  }
  return left;
}

function parseAnd(c: Cursor): Expr {
  let left = parseNot(c);
  while (c.isWord('AND')) {
    const pos = c.next().pos;
    left = { kind: 'binary', op: 'AND', left, right: parseNot(c), pos };
  }
  return left;
}

function parseNot(c: Cursor): Expr {
  if (c.isWord('NOT')) {
    const pos = c.next().pos;
    return { kind: 'unary', op: 'NOT', operand: parseNot(c), pos };
  }
  return parseComparison(c);
}

const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

function parseComparison(c: Cursor): Expr {
  let left = parseConcat(c);
  for (;;) {
    const t = c.peek();
    if (t.type === 'op' && COMPARISONS.has(t.text)) {
      c.next();
      const op = (t.text === '!=' ? '<>' : t.text) as BinaryOp;
      left = { kind: 'binary', op, left, right: parseConcat(c), pos: t.pos };
      continue;
    }
    if (c.isWord('IS')) {
      c.next();
      const negated = c.acceptWord('NOT');
      if (c.acceptWord('DISTINCT')) {
        c.expectWord('FROM', 'Write a IS [NOT] DISTINCT FROM b.');
        left = { kind: 'isDistinct', left, right: parseConcat(c), negated, pos: t.pos };
        continue;
      }
      // x IS [NOT] TRUE / FALSE never gives NULL: it is x IS [NOT] DISTINCT FROM TRUE / FALSE; UNKNOWN is NULL.
      const truth = c.peek();
      if (c.acceptWord('TRUE') || c.acceptWord('FALSE')) {
        const right: Expr = { kind: 'literal', type: 'BOOLEAN', value: truth.upper === 'TRUE', pos: truth.pos };
        left = { kind: 'isDistinct', left, right, negated: !negated, pos: t.pos };
        continue;
      }
      // x IS [NOT] JSON [VALUE | SCALAR | ARRAY | OBJECT] (Flink): a call, its kind as text.
      if (c.acceptWord('JSON')) {
        const kindTok = c.peek();
        const kind = ['VALUE', 'SCALAR', 'ARRAY', 'OBJECT'].includes(kindTok.upper) ? c.next().upper : 'VALUE';
        const test: Expr = call('IS JSON', [left, { kind: 'literal', type: 'VARCHAR', value: kind, pos: t.pos }], t.pos);
        left = negated ? { kind: 'unary', op: 'NOT', operand: test, pos: t.pos } : test;
        continue;
      }
      if (!c.acceptWord('UNKNOWN')) c.expectWord('NULL', 'Write IS [NOT] NULL, IS [NOT] TRUE / FALSE / UNKNOWN, IS [NOT] JSON or IS [NOT] DISTINCT FROM.');
      left = { kind: 'isNull', operand: left, negated, pos: t.pos };
      continue;
    }
    const negated = c.isWord('NOT') && (c.isWordAt(1, 'IN') || c.isWordAt(1, 'BETWEEN') || c.isWordAt(1, 'LIKE') || c.isWordAt(1, 'SIMILAR'));
    if (negated) c.next();
    if (c.acceptWord('IN')) {
      c.expectOp('(', 'IN takes a list: x IN (1, 2, 3).');
      if (c.isWord('SELECT') || c.isWord('WITH')) {
        const query = parseSelect(c);
        c.expectOp(')');
        left = { kind: 'subqueryPredicate', mode: 'in', operand: left, negated, query, pos: t.pos };
        continue;
      }
      const list: Expr[] = [];
      do list.push(parseExpr(c));
      while (c.acceptOp(','));
      c.expectOp(')');
      left = { kind: 'inList', operand: left, list, negated, pos: t.pos };
      continue;
    }
    if (c.acceptWord('BETWEEN')) {
      const symmetric = c.acceptWord('SYMMETRIC');
      if (!symmetric) c.acceptWord('ASYMMETRIC');
      const low = parseConcat(c);
      c.expectWord('AND', 'Write x BETWEEN low AND high.');
      const high = parseConcat(c);
      if (!symmetric) {
        left = { kind: 'between', operand: left, low, high, negated, pos: t.pos };
        continue;
      }
      // SQL's definition: x BETWEEN SYMMETRIC a AND b is (x BETWEEN a AND b) OR (x BETWEEN b AND a).
      const either: Expr = {
        kind: 'binary',
        op: 'OR',
        left: { kind: 'between', operand: left, low, high, negated: false, pos: t.pos },
        right: { kind: 'between', operand: left, low: high, high: low, negated: false, pos: t.pos },
        pos: t.pos,
      };
      left = negated ? { kind: 'unary', op: 'NOT', operand: either, pos: t.pos } : either;
      continue;
    }
    // SIMILAR without TO is SUBSTRING's SIMILAR form: leave it to SUBSTRING, which names it.
    const similar = c.isWord('SIMILAR') && c.isWordAt(1, 'TO');
    if (c.acceptWord('LIKE') || (similar && c.acceptWord('SIMILAR'))) {
      if (similar) c.expectWord('TO', "Write x SIMILAR TO 'pattern'.");
      const pattern = parseConcat(c);
      const escape = c.acceptWord('ESCAPE') ? parseConcat(c) : null;
      left = { kind: 'like', operand: left, pattern, escape, similar, negated, pos: t.pos };
      continue;
    }
    return left;
  }
}

function parseConcat(c: Cursor): Expr {
  let left = parseAdditive(c);
  while (c.isOp('||')) {
    const pos = c.next().pos;
    left = { kind: 'binary', op: '||', left, right: parseAdditive(c), pos };
  }
  return left;
}

function parseAdditive(c: Cursor): Expr {
  let left = parseMultiplicative(c);
  while (c.isOp('+') || c.isOp('-')) {
    const t = c.next();
    left = { kind: 'binary', op: t.text as '+' | '-', left, right: parseMultiplicative(c), pos: t.pos };
  }
  return left;
}

function parseMultiplicative(c: Cursor): Expr {
  let left = parseUnary(c);
  while (c.isOp('*') || c.isOp('/') || c.isOp('%')) {
    const t = c.next();
    left = { kind: 'binary', op: t.text as '*' | '/' | '%', left, right: parseUnary(c), pos: t.pos };
  }
  return left;
}

function parseUnary(c: Cursor): Expr {
  if (c.isOp('-') || c.isOp('+')) {
    const t = c.next();
    const operand = parseUnary(c);
    if (t.text === '-' && operand.kind === 'literal' && typeof operand.value === 'number') {
      return { ...operand, value: -operand.value, pos: t.pos };
    }
    return { kind: 'unary', op: t.text as '-' | '+', operand, pos: t.pos };
  }
  let e = parsePrimary(c);
  // REGEX_LOG_PARSE(line, '(a) (b)').COLUMN1: a column of a log parser's row, read where it is written.
  while (isRowFunctionCall(e) && c.isOp('.') && (c.peek(1).type === 'word' || c.peek(1).type === 'quoted')) {
    c.next();
    const name = c.next();
    e = rowColumnExpr(e, name.text, name.pos);
  }
  while (c.acceptOp('::')) e = { kind: 'cast', operand: e, target: parseType(c), lenient: false, pos: e.pos };
  return e;
}

function parsePrimary(c: Cursor): Expr {
  const t = c.peek();
  const pos = t.pos;
  if (t.type === 'number') {
    c.next();
    const isInt = /^[0-9]+$/.test(t.text);
    return { kind: 'literal', type: isInt ? 'BIGINT' : 'DOUBLE', value: Number(t.text), pos };
  }
  if (t.type === 'string') {
    c.next();
    return { kind: 'literal', type: 'VARCHAR', value: t.text, pos };
  }
  if (t.type === 'op' && t.text === '(') {
    if (c.isWordAt(1, 'SELECT')) {
      throw c.error('subqueries in expressions (scalar, IN, EXISTS) are not supported yet', 'Join the other stream (an interval join) or a reference table (JOIN r ON ...) instead.');
    }
    c.next();
    const e = parseExpr(c);
    // Flink's (start1, end1) OVERLAPS (start2, end2): a call of the four values.
    if (c.acceptOp(',')) {
      const end = parseExpr(c);
      c.expectOp(')', 'Write (start, end) OVERLAPS (start, end).');
      const overlaps = c.peek();
      c.expectWord('OVERLAPS', 'A pair of values in parentheses is the left side of (start, end) OVERLAPS (start, end).');
      c.expectOp('(', 'Write (start, end) OVERLAPS (start, end).');
      const start2 = parseExpr(c);
      c.expectOp(',', 'Write (start, end) OVERLAPS (start, end).');
      const end2 = parseExpr(c);
      c.expectOp(')');
      return call('OVERLAPS', [e, end, start2, end2], overlaps.pos);
    }
    c.expectOp(')');
    return e;
  }
  if (t.type === 'quoted') return parseColumnRef(c);
  if (t.type !== 'word') throw c.error(`expected an expression but found ${c.describe()}`, '');

  switch (t.upper) {
    case 'EXISTS':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.expectOp('(');
        const query = parseSelect(c);
        c.expectOp(')');
        return { kind: 'subqueryPredicate', mode: 'exists', operand: null, negated: false, query, pos };
      }
      break;
    case 'TRUE':
    case 'FALSE':
      c.next();
      return { kind: 'literal', type: 'BOOLEAN', value: t.upper === 'TRUE', pos };
    case 'NULL':
      c.next();
      return { kind: 'literal', type: 'NULL', value: null, pos };
    case 'INTERVAL':
      return parseInterval(c);
    case 'TIMESTAMP':
    case 'DATE':
      if (c.peek(1).type === 'string') {
        c.next();
        const lit = c.next();
        const ms = parseTimestampText(lit.text);
        if (ms === null) throw c.errorAt(lit.pos, notTimestampMessage(lit.text), "Write a real date and time, e.g. TIMESTAMP '2024-05-01 10:00:00'.");
        return { kind: 'literal', type: 'TIMESTAMP', value: ms, pos };
      }
      break;
    case 'TIME':
      if (c.peek(1).type === 'string') {
        // A time of day is a TIMESTAMP on 1970-01-01 here, as CURRENT_TIME and CHAR_TO_TIME give it.
        c.next();
        const lit = c.next();
        const ms = TIME_OF_DAY.test(lit.text) ? parseTimestampText(`1970-01-01 ${lit.text}`) : null;
        if (ms === null) {
          const why = TIME_OF_DAY.test(lit.text) ? impossibleDateTime(`1970-01-01 ${lit.text}`) : null;
          throw c.errorAt(lit.pos, `'${lit.text}' is not a time of day${why === null ? '' : `: ${why}`}`, "Write hours, minutes and seconds, e.g. TIME '12:34:56' or TIME '12:34:56.789'.");
        }
        return { kind: 'literal', type: 'TIMESTAMP', value: ms, pos };
      }
      break;
    case 'CASE':
      return parseCase(c);
    case 'CAST':
    case 'TRY_CAST': {
      c.next();
      c.expectOp('(');
      const operand = parseExpr(c);
      c.expectWord('AS', 'Write CAST(x AS TYPE).');
      const target = parseType(c);
      c.expectOp(')');
      return { kind: 'cast', operand, target, lenient: t.upper === 'TRY_CAST', pos };
    }
    case 'EXTRACT': {
      c.next();
      c.expectOp('(');
      const u = c.peek();
      let unit: TimeUnit | 'DOW' | 'DOY' | 'EPOCH';
      if (u.upper === 'DOW' || u.upper === 'DOY' || u.upper === 'EPOCH') {
        c.next();
        unit = u.upper;
      } else unit = parseTimeUnit(c);
      c.expectWord('FROM', 'Write EXTRACT(HOUR FROM ts).');
      const operand = parseExpr(c);
      c.expectOp(')');
      return { kind: 'extract', unit, operand, pos };
    }
    case 'FLOOR':
    case 'CEIL':
    case 'CEILING':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const operand = parseExpr(c);
        const unit = c.acceptWord('TO') ? parseTimeUnit(c) : null;
        c.expectOp(')');
        return { kind: 'floorCeil', fn: t.upper === 'FLOOR' ? 'FLOOR' : 'CEIL', operand, unit, pos };
      }
      break;
    case 'STEP':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const operand = parseExpr(c);
        c.expectWord('BY', "Write STEP(ts BY INTERVAL '10' MINUTE).");
        if (!c.isWord('INTERVAL')) {
          // STEP(23 BY 5) on numbers: a plain function, never a window.
          const size = parseExpr(c);
          c.expectOp(')');
          return call('STEP', [operand, size], pos);
        }
        const interval = parseInterval(c);
        c.expectOp(')');
        return { kind: 'step', operand, interval, pos };
      }
      break;
    case 'SUBSTRING':
    case 'SUBSTR':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const args = [parseExpr(c)];
        if (c.isWord('SIMILAR')) {
          throw c.error(
            'SUBSTRING(s SIMILAR pattern ESCAPE c) is not supported yet',
            "Write REGEXP_EXTRACT(s, 'before(wanted)after', 1): the text between the pattern's escaped double quotes is group 1.",
          );
        }
        if (c.acceptWord('FROM') || c.acceptOp(',')) args.push(parseExpr(c));
        if (c.acceptWord('FOR') || c.acceptOp(',')) args.push(parseExpr(c));
        c.expectOp(')');
        return call('SUBSTRING', args, pos);
      }
      break;
    case 'TIMESTAMPDIFF':
    case 'TIMESTAMPADD':
      // Flink: the unit is a bare word, TIMESTAMPDIFF(DAY, t1, t2); it travels on as a text argument.
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const unitPos = c.peek().pos;
        const unit = parseTimeUnit(c);
        c.expectOp(',', `Write ${t.upper}(DAY, ...).`);
        const args: Expr[] = [{ kind: 'literal', type: 'VARCHAR', value: unit, pos: unitPos }, parseExpr(c)];
        c.expectOp(',', `Write ${t.upper}(DAY, ...).`);
        args.push(parseExpr(c));
        c.expectOp(')');
        return call(t.upper, args, pos);
      }
      break;
    case 'OVERLAY':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const args = [parseExpr(c)];
        c.expectWord('PLACING', "Write OVERLAY(s PLACING r FROM start [FOR length]).");
        args.push(parseExpr(c));
        c.expectWord('FROM', "Write OVERLAY(s PLACING r FROM start [FOR length]).");
        args.push(parseExpr(c));
        if (c.acceptWord('FOR')) args.push(parseExpr(c));
        c.expectOp(')');
        return call('OVERLAY', args, pos);
      }
      break;
    case 'TRIM':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        let mode = 'BOTH';
        if (c.isWord('BOTH') || c.isWord('LEADING') || c.isWord('TRAILING')) mode = c.next().upper;
        let chars: Expr = { kind: 'literal', type: 'VARCHAR', value: ' ', pos };
        let operand: Expr;
        if (c.acceptWord('FROM')) operand = parseExpr(c);
        else {
          operand = parseExpr(c);
          if (c.acceptWord('FROM')) {
            chars = operand;
            operand = parseExpr(c);
          }
        }
        c.expectOp(')');
        return call('TRIM', [{ kind: 'literal', type: 'VARCHAR', value: mode, pos }, chars, operand], pos);
      }
      break;
    case 'POSITION':
      if (c.isOpAt(1, '(')) {
        c.next();
        c.next();
        const needle = parseConcat(c);
        c.expectWord('IN');
        const hay = parseExpr(c);
        c.expectOp(')');
        return call('POSITION', [needle, hay], pos);
      }
      break;
    case 'CURRENT_TIMESTAMP':
    case 'LOCALTIMESTAMP':
    case 'CURRENT_ROW_TIMESTAMP':
    case 'CURRENT_DATE':
    case 'CURRENT_TIME':
    case 'LOCALTIME':
      if (!c.isOpAt(1, '(')) {
        c.next();
        return call(t.upper, [], pos);
      }
      break;
    default:
      break;
  }
  if (JSON_CALLS.has(t.upper) && c.isOpAt(1, '(')) return parseJsonCall(c);
  if (RESERVED.has(t.upper)) {
    throw c.error(`expected an expression but found ${t.upper}`, 'Check for a missing or extra comma, or quote the name if it is a column: "' + t.text + '".');
  }
  if (c.isOpAt(1, '(')) return parseCall(c);
  return parseColumnRef(c);
}

const RESERVED = new Set([
  'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'WINDOW', 'WINDOWED', 'JOIN', 'ON', 'SELECT', 'AND', 'OR', 'AS', 'BY',
  'WHEN', 'THEN', 'ELSE', 'END', 'UNION', 'LIMIT', 'INSERT', 'CREATE', 'INTO', 'IN', 'BETWEEN', 'LIKE', 'IS',
]);

function call(name: string, args: Expr[], pos: Expr['pos']): Expr {
  return { kind: 'call', name, args, distinct: false, star: false, filter: null, ignoreNulls: false, over: null, pos };
}

function parseColumnRef(c: Cursor): Expr {
  const first = c.next();
  if (c.isOp('.') && (c.peek(1).type === 'word' || c.peek(1).type === 'quoted')) {
    c.next();
    const second = c.next();
    // t.r.COLUMN1: a column of a row-valued item r (a log parser's), which the planner names r.COLUMN1.
    if (c.isOp('.') && (c.peek(1).type === 'word' || c.peek(1).type === 'quoted')) {
      c.next();
      const third = c.next();
      return { kind: 'column', qualifier: first.text, name: `${second.text}.${third.text}`, quoted: second.type === 'quoted' || third.type === 'quoted', pos: second.pos };
    }
    return { kind: 'column', qualifier: first.text, name: second.text, quoted: second.type === 'quoted', pos: second.pos };
  }
  return { kind: 'column', qualifier: null, name: first.text, quoted: first.type === 'quoted', pos: first.pos };
}

function parseCall(c: Cursor): Expr {
  const nameTok = c.next();
  c.expectOp('(');
  let star = false;
  let distinct = false;
  const args: Expr[] = [];
  if (c.acceptOp('*')) star = true;
  else if (!c.isOp(')')) {
    distinct = c.acceptWord('DISTINCT');
    if (!distinct) c.acceptWord('ALL');
    do args.push(parseExpr(c));
    while (c.acceptOp(','));
  }
  c.expectOp(')', `Close the argument list of ${nameTok.text}.`);
  let fromLast = false;
  if (nameTok.upper === 'NTH_VALUE' && c.isWord('FROM') && (c.isWordAt(1, 'FIRST') || c.isWordAt(1, 'LAST'))) {
    c.next();
    fromLast = c.next().upper === 'LAST';
  }
  let filter: Expr | null = null;
  if (c.isWord('FILTER') && c.isOpAt(1, '(')) {
    c.next();
    c.next();
    c.expectWord('WHERE', 'Write FILTER (WHERE condition).');
    filter = parseExpr(c);
    c.expectOp(')');
  }
  let ignoreNulls = false;
  let nullTreatment: 'IGNORE' | 'RESPECT' | undefined;
  if ((c.isWord('IGNORE') || c.isWord('RESPECT')) && c.isWordAt(1, 'NULLS')) {
    if (!['LAG', 'LEAD', 'FIRST_VALUE', 'LAST_VALUE', 'NTH_VALUE'].includes(nameTok.upper)) {
      throw c.error(`${c.peek().upper} NULLS applies to LAG, FIRST_VALUE, LAST_VALUE and NTH_VALUE, not to ${nameTok.upper}`, 'Leave it out here.');
    }
    nullTreatment = c.next().upper === 'IGNORE' ? 'IGNORE' : 'RESPECT';
    ignoreNulls = nullTreatment === 'IGNORE';
    c.next();
  }
  let over: OverClause | null = null;
  if (c.isWord('OVER')) {
    const overPos = c.next().pos;
    if (c.isOp('(')) over = parseOverSpec(c);
    else over = { windowName: c.identifier('a window name'), partitionBy: [], orderBy: [], rangeMillis: null, rowsPreceding: null, pos: overPos };
  }
  return { kind: 'call', name: nameTok.upper, args, distinct, star, filter, ignoreNulls, ...(nullTreatment ? { nullTreatment } : {}), ...(fromLast ? { fromLast } : {}), over, pos: nameTok.pos };
}

/** The list after `ORDER` (of a query or a window): `BY a [ASC|DESC], ...`. */
export function parseOrderBy(c: Cursor): OrderItem[] {
  c.expectWord('BY');
  const items: OrderItem[] = [];
  do {
    const expr = parseExpr(c);
    const descending = c.acceptWord('DESC');
    if (!descending) c.acceptWord('ASC');
    items.push({ expr, descending });
  } while (c.acceptOp(','));
  return items;
}

/** `(PARTITION BY a ORDER BY b DESC RANGE INTERVAL '1' MINUTE PRECEDING)`. */
export function parseOverSpec(c: Cursor): OverClause {
  const pos = c.expectOp('(', 'A window specification is in parentheses: (PARTITION BY ... RANGE INTERVAL ... PRECEDING).').pos;
  const partitionBy: Expr[] = [];
  const orderBy: OrderItem[] = [];
  let rangeMillis: number | null = null;
  let rowsPreceding: number | null = null;
  if (c.acceptWord('PARTITION')) {
    c.expectWord('BY');
    do partitionBy.push(parseExpr(c));
    while (c.acceptOp(','));
  }
  if (c.acceptWord('ORDER')) orderBy.push(...parseOrderBy(c));
  if (c.acceptWord('RANGE')) {
    if (c.acceptWord('BETWEEN')) {
      rangeMillis = c.acceptWord('UNBOUNDED') ? Number.POSITIVE_INFINITY : parseInterval(c).millis;
      c.expectWord('PRECEDING');
      c.expectWord('AND');
      c.expectWord('CURRENT');
      c.expectWord('ROW');
    } else if (c.acceptWord('CURRENT')) {
      // Kinesis Analytics: the same as RANGE INTERVAL '0' SECOND PRECEDING, the rows of the same time.
      c.expectWord('ROW');
      rangeMillis = 0;
    } else {
      rangeMillis = parseInterval(c).millis;
      c.expectWord('PRECEDING', "A sliding window looks back: RANGE INTERVAL '1' MINUTE PRECEDING.");
    }
  } else if (c.acceptWord('ROWS')) {
    const between = c.acceptWord('BETWEEN');
    if (c.acceptWord('CURRENT')) {
      c.expectWord('ROW');
      rowsPreceding = 0;
    } else {
      rowsPreceding = between && c.acceptWord('UNBOUNDED') ? Number.POSITIVE_INFINITY : rowCount(c);
      c.expectWord('PRECEDING', 'A row window looks back: ROWS 10 PRECEDING.');
    }
    if (between) {
      c.expectWord('AND');
      c.expectWord('CURRENT', 'A window ends at the current row: ... AND CURRENT ROW.');
      c.expectWord('ROW');
    }
  }
  c.expectOp(')');
  return { windowName: null, partitionBy, orderBy, rangeMillis, rowsPreceding, pos };
}

function rowCount(c: Cursor): number {
  const t = c.next();
  if (t.type !== 'number' || !/^[0-9]+$/.test(t.text)) throw c.errorAt(t.pos, `expected a number of rows but found ${c.describe(t)}`, 'Write ROWS 10 PRECEDING.');
  return Number(t.text);
}

function parseCase(c: Cursor): Expr {
  const pos = c.next().pos;
  const operand = c.isWord('WHEN') ? null : parseExpr(c);
  const whens: { when: Expr; then: Expr }[] = [];
  while (c.acceptWord('WHEN')) {
    const when = parseExpr(c);
    c.expectWord('THEN', 'Write CASE WHEN condition THEN value ... END.');
    whens.push({ when, then: parseExpr(c) });
  }
  if (whens.length === 0) throw c.error(`expected WHEN but found ${c.describe()}`, 'A CASE needs at least one WHEN ... THEN ....');
  const otherwise = c.acceptWord('ELSE') ? parseExpr(c) : null;
  c.expectWord('END', 'Close CASE with END.');
  return { kind: 'case', operand, whens, otherwise, pos };
}


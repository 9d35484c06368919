/**
 * `MATCH_RECOGNIZE (...)` after a table or subquery in FROM: the subset Flink documents (PARTITION BY, ORDER
 * BY, MEASURES, ONE ROW PER MATCH, AFTER MATCH SKIP, a PATTERN of quantified variables one after another,
 * WITHIN, DEFINE). Every other part of the standard clause stops with an error naming it.
 */
import type { AfterMatchSkip, Expr, IntervalExpr, MatchRecognizeFrom, Measure, OrderItem, PatternElement, SubqueryFrom, TableRef } from '../ast/index.ts';
import type { Cursor } from './cursor.ts';
import { parseExpr, parseOrderBy } from './expressions.ts';
import { parseInterval } from './units-and-types.ts';

/** Parses from the MATCH_RECOGNIZE word to the closing parenthesis; the caller reads the alias after it. */
export function parseMatchRecognize(c: Cursor, source: TableRef | SubqueryFrom): Omit<MatchRecognizeFrom, 'alias'> {
  const pos = c.expectWord('MATCH_RECOGNIZE').pos;
  c.expectOp('(', 'Write MATCH_RECOGNIZE (PARTITION BY ... ORDER BY ... MEASURES ... PATTERN (...) DEFINE ...).');
  const partitionBy: Expr[] = [];
  if (c.acceptWord('PARTITION')) {
    c.expectWord('BY');
    do partitionBy.push(parseExpr(c));
    while (c.acceptOp(','));
  }
  const orderBy: OrderItem[] = c.acceptWord('ORDER') ? parseOrderBy(c) : [];
  const measures: Measure[] = [];
  if (c.acceptWord('MEASURES')) {
    do {
      const mpos = c.peek().pos;
      if (c.isWord('RUNNING') || c.isWord('FINAL')) throw c.error(`${c.peek().upper} in MEASURES is not supported`, 'Leave it out: a measure is computed over the whole match (FINAL).');
      const expr = parseExpr(c);
      c.expectWord('AS', 'Name every measure: MEASURES LAST(A.price) AS last_price.');
      measures.push({ expr, alias: c.identifier('a measure name'), pos: mpos });
    } while (c.acceptOp(','));
  }
  if (c.isWord('ALL') && c.isWordAt(1, 'ROWS')) throw c.error('ALL ROWS PER MATCH is not supported', 'Write ONE ROW PER MATCH (one summary row per match, the default).');
  if (c.acceptWord('ONE')) {
    c.expectWord('ROW');
    c.expectWord('PER');
    c.expectWord('MATCH');
  }
  const afterMatch = parseAfterMatch(c);
  if (c.isWord('SUBSET')) throw c.error('SUBSET is not supported', 'Refer to each variable on its own, e.g. LAST(A.price) and LAST(B.price).');
  c.expectWord('PATTERN', 'MATCH_RECOGNIZE needs a PATTERN (...) of variables, e.g. PATTERN (A B+ C).');
  const pattern = parsePattern(c);
  let within: IntervalExpr | null = null;
  if (c.acceptWord('WITHIN')) within = parseInterval(c);
  if (c.isWord('SUBSET')) throw c.error('SUBSET is not supported', 'Refer to each variable on its own, e.g. LAST(A.price) and LAST(B.price).');
  const define: { variable: string; condition: Expr; pos: typeof pos }[] = [];
  if (c.acceptWord('DEFINE')) {
    do {
      const vpos = c.peek().pos;
      const name = c.identifier('a pattern variable');
      if (define.some((d) => d.variable.toUpperCase() === name.toUpperCase())) throw c.errorAt(vpos, `${name} is defined twice`, 'Give each variable one condition; join conditions with AND.');
      c.expectWord('AS', `Write ${name} AS <condition>.`);
      define.push({ variable: name, condition: parseExpr(c), pos: vpos });
    } while (c.acceptOp(','));
  }
  c.expectOp(')', 'Close MATCH_RECOGNIZE after DEFINE; conditions are separated by commas.');
  return { kind: 'matchRecognize', source, partitionBy, orderBy, measures, afterMatch, pattern, within, define, pos };
}

function parseAfterMatch(c: Cursor): AfterMatchSkip {
  if (!c.acceptWord('AFTER')) return { to: 'PAST LAST ROW' };
  c.expectWord('MATCH');
  c.expectWord('SKIP', 'Write AFTER MATCH SKIP PAST LAST ROW, SKIP TO NEXT ROW, SKIP TO FIRST A or SKIP TO LAST A.');
  if (c.acceptWord('PAST')) {
    c.expectWord('LAST');
    c.expectWord('ROW');
    return { to: 'PAST LAST ROW' };
  }
  c.expectWord('TO', 'Write AFTER MATCH SKIP PAST LAST ROW, SKIP TO NEXT ROW, SKIP TO FIRST A or SKIP TO LAST A.');
  if (c.isWord('NEXT') && c.isWordAt(1, 'ROW')) {
    c.next();
    c.next();
    return { to: 'NEXT ROW' };
  }
  const pos = c.peek().pos;
  // `SKIP TO A` is `SKIP TO LAST A` in the standard.
  const to = c.acceptWord('FIRST') ? 'FIRST' : (c.acceptWord('LAST'), 'LAST');
  return { to, variable: c.identifier('a pattern variable'), pos };
}

function parsePattern(c: Cursor): PatternElement[] {
  c.expectOp('(', 'Put the pattern in parentheses: PATTERN (A B+ C).');
  const elements: PatternElement[] = [];
  while (!c.isOp(')')) {
    const pos = c.peek().pos;
    if (c.isOp('(')) throw c.error('groups in a PATTERN are not supported', 'Quantify single variables only, e.g. PATTERN (A B+ C).');
    if (c.isOp('|')) throw c.error('alternation (|) in a PATTERN is not supported', 'Write one query per alternative, or one variable whose DEFINE holds both conditions (OR).');
    if (c.isWord('PERMUTE')) throw c.error('PERMUTE in a PATTERN is not supported', 'Write the orders you need out, one query each.');
    if (c.isOp('{')) throw c.error('exclusion ({- A -}) in a PATTERN is not supported', 'It only matters for ALL ROWS PER MATCH, which is not supported either: leave the braces out.');
    const t = c.peek();
    if (t.type !== 'word' && t.type !== 'quoted') throw c.error(`expected a pattern variable but found ${c.describe()}`, 'A pattern is variables with quantifiers: PATTERN (A B+ C).');
    const variable = c.identifier('a pattern variable');
    let min = 1;
    let max = 1;
    if (c.acceptOp('*')) [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c.acceptOp('+')) [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c.acceptOp('?')) [min, max] = [0, 1];
    else if (c.acceptOp('{')) [min, max] = parseBounds(c);
    let greedy = true;
    if ((min !== 1 || max !== 1) && c.acceptOp('?')) greedy = false;
    if (c.isOp('|')) throw c.error('alternation (|) in a PATTERN is not supported', 'Write one query per alternative, or one variable whose DEFINE holds both conditions (OR).');
    elements.push({ variable, min, max, greedy, pos });
  }
  c.expectOp(')');
  if (elements.length === 0) throw c.error('the PATTERN is empty', 'Name at least one variable: PATTERN (A B+).');
  return elements;
}

/** `{n}`, `{n,}`, `{n,m}`, `{,m}` after the `{`. */
function parseBounds(c: Cursor): [number, number] {
  const count = (): number => {
    const t = c.next();
    if (t.type !== 'number' || !/^[0-9]+$/.test(t.text)) throw c.errorAt(t.pos, `expected a number of rows but found ${c.describe(t)}`, 'Write {2}, {2,}, {2,5} or {,5}.');
    return Number(t.text);
  };
  const min = c.isOp(',') ? 0 : count();
  let max = min;
  if (c.acceptOp(',')) max = c.isOp('}') ? Number.POSITIVE_INFINITY : count();
  const close = c.expectOp('}', 'Write {2}, {2,}, {2,5} or {,5}.');
  if (max < min || max === 0) throw c.errorAt(close.pos, `the quantifier {${min},${max}} matches no row`, 'The upper bound must be at least 1 and at least the lower one.');
  return [min, max];
}

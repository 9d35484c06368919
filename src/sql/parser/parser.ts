/**
 * Recursive-descent parser for both dialects into one immutable AST.
 * Statements are here; expressions live in `expressions.ts` (the same cursor is shared).
 */
import type {
  ColumnDef,
  CommonTableExpr,
  CreatePumpStmt,
  Expr,
  FromItem,
  InsertStmt,
  IntervalExpr,
  NamedWindow,
  OrderItem,
  OverClause,
  QueryStmt,
  Script,
  SelectItem,
  SelectQuery,
  StaggerClause,
  StarItem,
  Statement,
  SubqueryFrom,
  TableRef,
  WindowFunction,
} from '../ast/index.ts';
import type { SourcePos } from '../diagnostics.ts';
import { Cursor } from './cursor.ts';
import { parseExpr, parseOrderBy, parseOverSpec } from './expressions.ts';
import { parseInterval, parseType } from './units-and-types.ts';
import { parseMatchRecognize } from './match-recognize.ts';
import { countDistinctItemsQuery, topKItemsQuery } from './top-k-items.ts';
import type { StreamModelFunction } from './stream-models.ts';
import { parseStreamModel, STREAM_MODEL_FUNCTIONS } from './stream-models.ts';
import { tokenize } from './lexer.ts';

/** Parses a script of `;`-separated statements. Throws `SQL_SYNTAX` naming the line and column. */
export function parseSql(sql: string): Script {
  const c = new Cursor(sql, tokenize(sql));
  const statements: Statement[] = [];
  while (!c.atEnd()) {
    if (c.acceptOp(';')) continue;
    statements.push(parseStatement(c));
    if (!c.atEnd()) c.expectOp(';', 'Separate statements with a semicolon.');
  }
  if (statements.length === 0) {
    throw c.error('the SQL text has no statement', 'Write at least one SELECT, INSERT INTO or CREATE PUMP statement.');
  }
  return { sql, statements };
}

function parseStatement(c: Cursor): Statement {
  const pos = c.peek().pos;
  if (c.acceptWord('EXPLAIN')) {
    if (c.acceptWord('PLAN')) c.expectWord('FOR');
    const inner = parseStatement(c);
    if (inner.kind !== 'insert' && inner.kind !== 'createPump' && inner.kind !== 'query') {
      throw c.errorAt(inner.pos, 'EXPLAIN works on a query, an INSERT INTO or a CREATE PUMP', 'Put EXPLAIN before the statement that moves rows.');
    }
    return { kind: 'explain', statement: inner, pos };
  }
  if (c.acceptWord('CREATE')) {
    if (c.acceptWord('OR')) c.expectWord('REPLACE');
    c.acceptWord('TEMPORARY');
    if (c.acceptWord('TABLE')) return parseCreateTable(c, pos);
    if (c.acceptWord('STREAM')) {
      const name = c.identifier('a stream name');
      const { columns } = parseColumnList(c, false);
      return { kind: 'createStream', name, columns, pos };
    }
    if (c.acceptWord('VIEW')) {
      const name = c.identifier('a view name');
      const columns = c.isOp('(') ? parseNameList(c) : null;
      c.expectWord('AS');
      const query = parseSelect(c);
      // `CREATE VIEW v (a, b) AS ...` names the query's columns, as `FROM (...) AS v(a, b)` does.
      if (columns === null) return { kind: 'createView', name, query, pos };
      return { kind: 'createView', name, query: selectAllFrom({ kind: 'subquery', query, alias: name, columns, pos }, query.stream, false, pos), pos };
    }
    if (c.acceptWord('PUMP')) {
      const name = c.identifier('a pump name');
      c.expectWord('AS');
      const insertPos = c.peek().pos;
      c.expectWord('INSERT', 'A pump is `CREATE OR REPLACE PUMP "P" AS INSERT INTO "S" SELECT STREAM ...`.');
      const insert = parseInsertRest(c, insertPos);
      return { kind: 'createPump', name, insert, pos } satisfies CreatePumpStmt;
    }
    throw c.error(`expected TABLE, STREAM, VIEW or PUMP after CREATE but found ${c.describe()}`, 'Tollstream creates tables, views, streams and pumps.');
  }
  if (c.isWord('VALUES')) return { kind: 'query', query: parseSelect(c), pos } satisfies QueryStmt;
  if (c.isWord('SET')) throw c.error('SET is not supported', "Options go in the table's WITH ('key' = 'value') or in the query's settings.");
  if (c.acceptWord('INSERT')) return parseInsertRest(c, pos);
  if (c.isWord('SELECT') || c.isWord('WITH') || c.isOp('(')) return { kind: 'query', query: parseSelect(c), pos } satisfies QueryStmt;
  throw c.error(`expected a statement but found ${c.describe()}`, 'Statements start with SELECT, INSERT INTO, CREATE TABLE/VIEW/STREAM/PUMP or EXPLAIN.');
}

function parseInsertRest(c: Cursor, pos: InsertStmt['pos']): InsertStmt {
  c.expectWord('INTO');
  const target = c.identifier('the stream or table to insert into');
  let columns: string[] | null = null;
  if (c.isOp('(') && !c.isWordAt(1, 'SELECT') && !c.isWordAt(1, 'WITH')) {
    c.expectOp('(');
    columns = [];
    do columns.push(c.identifier('a column name'));
    while (c.acceptOp(','));
    c.expectOp(')');
  }
  return { kind: 'insert', target, columns, query: parseSelect(c), pos };
}

function parseCreateTable(c: Cursor, pos: Statement['pos']): Statement {
  const name = c.identifier('a table name');
  const { columns, watermark, primaryKey } = parseColumnList(c, true);
  const options: Record<string, string> = {};
  if (c.acceptWord('WITH')) {
    c.expectOp('(');
    if (!c.isOp(')')) {
      do {
        const key = c.stringLiteral('an option name in quotes');
        c.expectOp('=');
        options[key] = c.stringLiteral('an option value in quotes');
      } while (c.acceptOp(','));
    }
    c.expectOp(')');
  }
  return { kind: 'createTable', name, columns, watermark, primaryKey, options, pos };
}

function parseColumnList(c: Cursor, allowWatermark: boolean) {
  const columns: ColumnDef[] = [];
  let watermark: { column: string; expr: Expr; pos: Statement['pos'] } | null = null;
  const primaryKey: string[] = [];
  c.expectOp('(', 'List the columns in parentheses: (name TYPE, ...).');
  do {
    const pos = c.peek().pos;
    if (allowWatermark && c.acceptWord('WATERMARK')) {
      c.expectWord('FOR');
      const column = c.identifier('the event-time column');
      c.expectWord('AS');
      watermark = { column, expr: parseExpr(c), pos };
      continue;
    }
    if (c.acceptWord('PRIMARY')) {
      c.expectWord('KEY');
      c.expectOp('(');
      do primaryKey.push(c.identifier('a key column'));
      while (c.acceptOp(','));
      c.expectOp(')');
      if (c.acceptWord('NOT')) c.expectWord('ENFORCED');
      continue;
    }
    const name = c.identifier('a column name');
    const type = parseType(c);
    if (c.acceptWord('NOT')) c.expectWord('NULL');
    else c.acceptWord('NULL');
    columns.push({ name, type, pos });
  } while (c.acceptOp(','));
  c.expectOp(')', 'Close the column list, separating columns with commas.');
  return { columns, watermark, primaryKey };
}

const CLAUSE_WORDS = new Set([
  'FROM', 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'WINDOW', 'WINDOWED', 'JOIN', 'LEFT', 'INNER', 'RIGHT', 'FULL', 'ON',
  'UNION', 'INTERSECT', 'EXCEPT', 'LIMIT', 'AS', 'AND', 'OR', 'SELECT', 'CROSS', 'OUTER',
]);

/** A query: `[WITH name AS (...), ...] select [UNION ALL select ...]`, each select perhaps in parentheses. */
export function parseSelect(c: Cursor): SelectQuery {
  const ctes: CommonTableExpr[] = [];
  if (c.acceptWord('WITH')) {
    if (c.isWord('RECURSIVE')) throw c.error('WITH RECURSIVE is not supported', 'Name each step with WITH name AS (SELECT ...) without recursion.');
    do {
      const pos = c.peek().pos;
      const name = c.identifier('a name for the WITH query');
      if (c.isOp('(')) throw c.error('column names after a WITH name are not supported yet', `Name the columns with aliases inside: WITH ${name} AS (SELECT x AS a, ...).`);
      c.expectWord('AS', `Write WITH ${name} AS (SELECT ...).`);
      c.expectOp('(', `Put the query in parentheses: WITH ${name} AS (SELECT ...).`);
      const query = parseSelect(c);
      c.expectOp(')');
      ctes.push({ name, query, pos });
    } while (c.acceptOp(','));
  }
  let first = parseIntersection(c);
  let unionAll: SelectQuery[] = [];
  while (c.isWord('UNION') || c.isWord('EXCEPT')) {
    const except = c.isWord('EXCEPT');
    const unionPos = c.next().pos;
    const all = c.acceptWord('ALL');
    if (!all) c.acceptWord('DISTINCT');
    const term = parseIntersection(c);
    if (except) {
      // `a EXCEPT b` takes in everything before it, as UNION does (left to right).
      if (first.orderBy.length > 0 || first.limit !== null) throw c.errorAt(unionPos, 'ORDER BY or LIMIT inside a branch of EXCEPT is not supported', 'Order and limit the whole query, after its last branch.');
      const before: SelectQuery = { ...first, unionAll: [...first.unionAll, ...unionAll] };
      first = { ...selectAllFrom({ kind: 'subquery', query: before, alias: null, pos: unionPos }, first.stream, false, unionPos), intersect: [{ all, query: term, pos: unionPos, except: true }] };
      unionAll = [];
      continue;
    }
    if (all) {
      unionAll.push(term);
      continue;
    }
    // `a UNION b` is the distinct rows of `a UNION ALL b`; it binds to everything before it (left to right).
    if (first.orderBy.length > 0 || first.limit !== null) throw c.errorAt(unionPos, 'ORDER BY or LIMIT inside a branch of UNION is not supported', 'Order and limit the whole union, after its last branch.');
    const union: SelectQuery = { ...first, unionAll: [...first.unionAll, ...unionAll, term] };
    first = selectAllFrom({ kind: 'subquery', query: union, alias: null, pos: unionPos }, first.stream, true, unionPos);
    unionAll = [];
  }
  if (unionAll.length > 0 && (first.orderBy.length > 0 || first.limit !== null)) {
    throw c.error('ORDER BY or LIMIT inside a branch of UNION ALL is not supported', 'Order and limit the whole union, after its last branch.');
  }
  const orderBy: OrderItem[] = c.acceptWord('ORDER') ? parseOrderBy(c) : [];
  let limit: number | null = null;
  if (c.acceptWord('LIMIT')) {
    const t = c.next();
    if (t.type !== 'number' || !/^[0-9]+$/.test(t.text)) throw c.errorAt(t.pos, `expected a number of rows after LIMIT but found ${c.describe(t)}`, 'Write LIMIT 10.');
    limit = Number(t.text);
  }
  if (orderBy.length > 0 || limit !== null) {
    if (first.orderBy.length > 0 || first.limit !== null) throw c.error('a second ORDER BY or LIMIT on one query is not supported', 'Order and limit the query once.');
    // The order and the limit apply to the whole query, its UNION ALL branches included.
    return { ...first, ctes: [...ctes, ...first.ctes], unionAll: [...first.unionAll, ...unionAll], orderBy, limit };
  }
  if (ctes.length === 0 && unionAll.length === 0) return first;
  // A parenthesized first term keeps its own WITH names; the outer ones come first so the inner can shadow them.
  return { ...first, ctes: [...ctes, ...first.ctes], unionAll: [...first.unionAll, ...unionAll] };
}

/** `a INTERSECT [ALL] b ...`: binds tighter than UNION, left to right. */
function parseIntersection(c: Cursor): SelectQuery {
  let first = parseSelectTerm(c);
  const intersect: { all: boolean; query: SelectQuery; pos: SourcePos }[] = [];
  while (c.isWord('INTERSECT')) {
    const pos = c.next().pos;
    const all = c.acceptWord('ALL');
    if (!all) c.acceptWord('DISTINCT');
    intersect.push({ all, query: parseSelectTerm(c), pos });
  }
  if (intersect.length === 0) return first;
  if (first.orderBy.length > 0 || first.limit !== null) throw c.errorAt(intersect[0]!.pos, 'ORDER BY or LIMIT inside a branch of INTERSECT is not supported', 'Order and limit the whole query, after its last branch.');
  // A parenthesized first term with branches of its own is one query: intersect its rows.
  if (first.unionAll.length > 0 || first.intersect !== undefined) first = selectAllFrom({ kind: 'subquery', query: first, alias: null, pos: first.pos }, first.stream, false, first.pos);
  return { ...first, intersect };
}

/** `SELECT [DISTINCT] * FROM from`: what a view's column list, VALUES in place of a SELECT and UNION stand for. */
function selectAllFrom(from: FromItem, stream: boolean, distinct: boolean, pos: SourcePos): SelectQuery {
  return {
    kind: 'select', ctes: [], unionAll: [], stream, distinct, items: [{ kind: 'star', qualifier: null, pos }], from, where: null, groupBy: [],
    groupingSets: null, having: null, windows: [], windowedBy: null, orderBy: [], limit: null, pos,
  };
}

/** `(a, b, ...)`: names in parentheses. */
function parseNameList(c: Cursor): string[] {
  c.expectOp('(');
  const names: string[] = [];
  do names.push(c.identifier('a column name'));
  while (c.acceptOp(','));
  c.expectOp(')');
  return names;
}

/** The rows after VALUES: `(1, 'a'), (2, 'b')`. */
function parseValuesRows(c: Cursor): Expr[][] {
  const rows: Expr[][] = [];
  do {
    c.expectOp('(', 'Each row of VALUES is in parentheses: VALUES (1, \'a\'), (2, \'b\').');
    const row: Expr[] = [];
    do row.push(parseExpr(c));
    while (c.acceptOp(','));
    c.expectOp(')');
    rows.push(row);
  } while (c.acceptOp(','));
  return rows;
}

function parseSelectTerm(c: Cursor): SelectQuery {
  if (c.isWord('VALUES')) {
    // VALUES in place of a SELECT (a statement, INSERT INTO t VALUES, a view): its rows, columns EXPR$0, ...
    const pos = c.next().pos;
    return selectAllFrom({ kind: 'values', rows: parseValuesRows(c), alias: null, columns: null, pos }, false, false, pos);
  }
  if (c.acceptOp('(')) {
    const q = parseSelect(c);
    c.expectOp(')');
    return q;
  }
  const pos = c.peek().pos;
  c.expectWord('SELECT', 'A query starts with SELECT.');
  const stream = c.acceptWord('STREAM');
  const distinct = c.acceptWord('DISTINCT');
  if (!distinct) c.acceptWord('ALL');
  const items: (SelectItem | StarItem)[] = [];
  do items.push(parseSelectItem(c));
  while (c.acceptOp(','));
  let from: FromItem | null = null;
  let commaJoin: { right: FromItem; pos: Statement['pos'] } | null = null;
  if (c.acceptWord('FROM')) {
    from = parseFrom(c);
    if (c.isOp(',')) {
      // FROM a, b WHERE ...: the join of a and b on the WHERE condition (Flink's interval join examples).
      const pos = c.next().pos;
      commaJoin = { right: parseFrom(c), pos };
      if (c.isOp(',')) throw c.error('a FROM list of more than two tables is not supported', 'Join them two at a time: a JOIN b ON ... JOIN c ON ....');
    }
  }
  let where: Expr | null = null;
  if (c.acceptWord('WHERE')) where = parseExpr(c);
  if (commaJoin) {
    if (!where) throw c.errorAt(commaJoin.pos, 'FROM a, b needs a WHERE that relates a and b', 'Write a JOIN b ON a.k = b.k (AND a time bound for two streams).');
    from = { kind: 'join', joinType: 'INNER', left: from!, right: commaJoin.right, on: where, pos: commaJoin.pos };
    where = null;
  }
  let windowedBy: StaggerClause | null = null;
  if (c.isWord('WINDOWED')) {
    const wpos = c.next().pos;
    c.expectWord('BY');
    c.expectWord('STAGGER', 'Kinesis Analytics windows rows with WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...).');
    c.expectOp('(');
    c.expectWord('PARTITION');
    c.expectWord('BY');
    const partitionBy: Expr[] = [];
    do partitionBy.push(parseExpr(c));
    while (c.acceptOp(','));
    c.expectWord('RANGE');
    const range = parseInterval(c);
    c.expectOp(')');
    windowedBy = { partitionBy, range, pos: wpos };
  }
  const groupBy: Expr[] = [];
  let groupingSets: Expr[][] | null = null;
  if (c.acceptWord('GROUP')) {
    c.expectWord('BY');
    do {
      if ((c.isWord('GROUPING') && c.isWordAt(1, 'SETS')) || ((c.isWord('ROLLUP') || c.isWord('CUBE')) && c.isOpAt(1, '('))) {
        if (groupingSets !== null) {
          throw c.error(`a second ${c.peek().upper === 'GROUPING' ? 'GROUPING SETS' : c.peek().upper} in one GROUP BY is not supported yet`, 'Write the sets out in one GROUPING SETS (...).');
        }
        groupingSets = parseGroupingSets(c);
      } else groupBy.push(parseExpr(c));
    } while (c.acceptOp(','));
  }
  let having: Expr | null = null;
  if (c.acceptWord('HAVING')) having = parseExpr(c);
  const windows: NamedWindow[] = [];
  if (c.acceptWord('WINDOW')) {
    do {
      const name = c.identifier('a window name');
      c.expectWord('AS');
      windows.push({ name, spec: parseOverSpec(c) });
    } while (c.acceptOp(','));
  }
  return { kind: 'select', ctes: [], unionAll: [], stream, distinct, items, from, where, groupBy, groupingSets, having, windows, windowedBy, orderBy: [], limit: null, pos };
}

/**
 * `GROUPING SETS ((a, b), a, ())`, `ROLLUP (a, b)` (the sets (a, b), (a), ()) or `CUBE (a, b)` (every subset:
 * (a, b), (a), (b), ()). An element in parentheses is a group of columns taken together.
 */
function parseGroupingSets(c: Cursor): Expr[][] {
  const word = c.next().upper;
  if (word === 'GROUPING') c.expectWord('SETS');
  c.expectOp('(', `Write ${word === 'GROUPING' ? 'GROUPING SETS ((a, b), (a), ())' : `${word} (a, b)`}.`);
  const elements: Expr[][] = [];
  do {
    if (c.isWord('GROUPING') || c.isWord('ROLLUP') || c.isWord('CUBE')) {
      throw c.error(`${c.peek().upper} nested in ${word === 'GROUPING' ? 'GROUPING SETS' : word} is not supported yet`, 'Write the sets out in one GROUPING SETS (...).');
    }
    if (c.acceptOp('(')) {
      const group: Expr[] = [];
      if (!c.isOp(')')) {
        do group.push(parseExpr(c));
        while (c.acceptOp(','));
      }
      c.expectOp(')');
      elements.push(group);
    } else elements.push([parseExpr(c)]);
  } while (c.acceptOp(','));
  c.expectOp(')');
  if (word === 'GROUPING') return elements;
  if (word === 'ROLLUP') return elements.map((_, i) => elements.slice(0, elements.length - i).flat()).concat([[]]);
  const sets: Expr[][] = [];
  for (let mask = (1 << elements.length) - 1; mask >= 0; mask--) sets.push(elements.filter((_, i) => mask & (1 << (elements.length - 1 - i))).flat());
  return sets;
}

function parseSelectItem(c: Cursor): SelectItem | StarItem {
  const pos = c.peek().pos;
  if (c.acceptOp('*')) return { kind: 'star', qualifier: null, pos };
  if ((c.peek().type === 'word' || c.peek().type === 'quoted') && c.isOpAt(1, '.') && c.isOpAt(2, '*')) {
    const qualifier = c.identifier('a table name');
    c.expectOp('.');
    c.expectOp('*');
    return { kind: 'star', qualifier, pos };
  }
  const expr = parseExpr(c);
  return { kind: 'item', expr, alias: parseAlias(c), pos };
}

function parseAlias(c: Cursor): string | null {
  if (c.acceptWord('AS')) return c.identifier('an alias');
  const t = c.peek();
  if (t.type === 'quoted' || (t.type === 'word' && !CLAUSE_WORDS.has(t.upper))) return c.identifier('an alias');
  return null;
}

function parseFrom(c: Cursor): FromItem {
  let left = parseFromPrimary(c);
  for (;;) {
    const pos = c.peek().pos;
    let joinType: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | null = null;
    if (c.acceptWord('JOIN')) joinType = 'INNER';
    else if (c.acceptWord('INNER')) {
      c.expectWord('JOIN');
      joinType = 'INNER';
    } else if (c.isWord('LEFT') || c.isWord('RIGHT') || c.isWord('FULL')) {
      joinType = c.next().upper as 'LEFT' | 'RIGHT' | 'FULL';
      c.acceptWord('OUTER');
      c.expectWord('JOIN');
    } else if (c.isWord('CROSS')) {
      throw c.error(`${c.peek().upper} JOIN is not supported yet`, 'Use JOIN or LEFT JOIN with an ON condition.');
    }
    if (!joinType) return left;
    const right = parseFromPrimary(c);
    c.expectWord('ON', 'A join needs an ON condition, e.g. ON a.k = b.k.');
    left = { kind: 'join', joinType, left, right, on: parseExpr(c), pos };
  }
}

const WINDOW_FUNCTIONS: Record<WindowFunction, number> = { TUMBLE: 1, HOP: 2, SESSION: 1, CUMULATE: 2 };

/** The names of the intervals after DESCRIPTOR(ts), in order, when the arguments are named (OFFSET may follow). */
const WINDOW_ARGUMENT_NAMES: Record<WindowFunction, readonly string[]> = { TUMBLE: ['SIZE'], HOP: ['SLIDE', 'SIZE'], SESSION: ['GAP'], CUMULATE: ['STEP', 'SIZE'] };

/** `NAME =>` ahead: the window function's arguments are named. */
function isNamedArgument(c: Cursor): boolean {
  return (c.peek().type === 'word' || c.peek().type === 'quoted') && c.isOpAt(1, '=') && c.isOpAt(2, '>');
}

/** Reads `NAME =>` and returns the name, which must be one of the function's interval arguments. */
function namedArgument(c: Cursor, fn: WindowFunction): string {
  const known = fn === 'SESSION' ? WINDOW_ARGUMENT_NAMES[fn] : [...WINDOW_ARGUMENT_NAMES[fn], 'OFFSET'];
  const tok = c.peek();
  if (!isNamedArgument(c) || !known.includes(tok.upper)) {
    throw c.error(`${fn} has no argument ${tok.text} here`, `After DATA and TIMECOL come ${known.map((n) => `${n} => INTERVAL ...`).join(', ')}.`);
  }
  c.next();
  c.expectOp('=');
  c.expectOp('>');
  return tok.upper;
}

/** Reads `NAME =>` where the argument `name` must come (DATA first, TIMECOL second, as Flink requires). */
function expectArgumentName(c: Cursor, fn: WindowFunction, name: string, which: string): void {
  const tok = c.peek();
  if (!isNamedArgument(c) || tok.upper !== name) {
    throw c.error(`${which} argument of ${fn} must be ${name} => ...`, `Name its arguments in order: ${fn}(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), ${WINDOW_ARGUMENT_NAMES[fn].map((n) => `${n} => INTERVAL ...`).join(', ')}).`);
  }
  c.next();
  c.expectOp('=');
  c.expectOp('>');
}

function parseFromPrimary(c: Cursor): FromItem {
  const pos = c.peek().pos;
  if (c.isOp('(') && c.isWordAt(1, 'VALUES')) {
    c.expectOp('(');
    c.expectWord('VALUES');
    const rows = parseValuesRows(c);
    c.expectOp(')');
    const alias = parseAlias(c);
    let columns: string[] | null = null;
    if (alias !== null && c.acceptOp('(')) {
      columns = [];
      do columns.push(c.identifier('a column name'));
      while (c.acceptOp(','));
      c.expectOp(')');
    }
    return { kind: 'values', rows, alias, columns, pos };
  }
  if (c.isOp('(')) {
    c.expectOp('(');
    const query = parseSelect(c);
    c.expectOp(')');
    if (c.isWord('MATCH_RECOGNIZE')) return { ...parseMatchRecognize(c, { kind: 'subquery', query, alias: null, pos }), alias: parseAlias(c) };
    const alias = parseAlias(c);
    if (alias === null || !c.acceptOp('(')) return { kind: 'subquery', query, alias, pos };
    const columns: string[] = [];
    do columns.push(c.identifier('a column name'));
    while (c.acceptOp(','));
    c.expectOp(')');
    return { kind: 'subquery', query, alias, columns, pos };
  }
  if (c.isWord('TABLE') && c.isOpAt(1, '(')) {
    c.next();
    c.expectOp('(');
    const fnTok = c.next();
    const fn = fnTok.upper as WindowFunction;
    if (fnTok.upper === 'TOP_K_ITEMS_TUMBLING' || fnTok.upper === 'COUNT_DISTINCT_ITEMS_TUMBLING') return parseItemsTumbling(c, fnTok.upper, fnTok.pos);
    if (STREAM_MODEL_FUNCTIONS.has(fnTok.upper)) return { ...parseStreamModel(c, fnTok.upper as StreamModelFunction, fnTok.pos, parseSelect), alias: parseAlias(c) };
    const refused = UNSUPPORTED_TABLE_FUNCTIONS[fnTok.upper];
    if (fnTok.type === 'word' && refused !== undefined) throw c.errorAt(fnTok.pos, `${fnTok.upper} is not supported yet`, refused);
    if (fnTok.type !== 'word' || !(fn in WINDOW_FUNCTIONS)) {
      throw c.errorAt(fnTok.pos, `unknown window function ${fnTok.text}`, 'Use TUMBLE, HOP, SESSION or CUMULATE.');
    }
    c.expectOp('(');
    const named = isNamedArgument(c);
    if (named) expectArgumentName(c, fn, 'DATA', 'the first');
    c.expectWord('TABLE', `The first argument is the input: ${fn}(TABLE t, DESCRIPTOR(ts), ...).`);
    const srcPos = c.peek().pos;
    const source: TableRef = { kind: 'tableRef', name: c.identifier('a table name'), asOf: null, alias: null, pos: srcPos };
    const partitionBy: string[] = [];
    if (c.isWord('PARTITION')) {
      if (fn !== 'SESSION') throw c.error(`PARTITION BY in ${fn} is not supported`, 'Only SESSION windows are partitioned: SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap).');
      c.next();
      c.expectWord('BY');
      const parenthesized = c.acceptOp('(');
      do partitionBy.push(c.identifier('a partition column'));
      while (c.isOp(',') && (parenthesized || !c.isWordAt(1, 'DESCRIPTOR')) && c.acceptOp(','));
      if (parenthesized) c.expectOp(')');
    }
    c.expectOp(',');
    if (named) expectArgumentName(c, fn, 'TIMECOL', 'the second');
    c.expectWord('DESCRIPTOR', 'The second argument names the time column: DESCRIPTOR(ts).');
    c.expectOp('(');
    const timeColumn = c.identifier('the time column');
    c.expectOp(')');
    const sizes = [];
    const byName = new Map<string, IntervalExpr>();
    while (c.acceptOp(',')) {
      if (!named) {
        sizes.push(parseInterval(c));
        continue;
      }
      const nameTok = c.peek();
      const name = namedArgument(c, fn);
      if (byName.has(name)) throw c.errorAt(nameTok.pos, `${name} is given twice`, `Give each argument of ${fn} once.`);
      byName.set(name, parseInterval(c));
    }
    c.expectOp(')');
    c.expectOp(')');
    if (named) {
      for (const name of WINDOW_ARGUMENT_NAMES[fn]) {
        const given = byName.get(name);
        if (!given) throw c.errorAt(fnTok.pos, `${fn} needs ${name} => INTERVAL ...`, `Name its arguments: ${fn}(DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), ${WINDOW_ARGUMENT_NAMES[fn].map((n) => `${n} => INTERVAL ...`).join(', ')}).`);
        sizes.push(given);
      }
      if (byName.has('OFFSET')) sizes.push(byName.get('OFFSET')!);
    }
    // The optional last interval of TUMBLE, HOP and CUMULATE shifts their windows.
    const offset = sizes.length === WINDOW_FUNCTIONS[fn] + 1 && fn !== 'SESSION' ? sizes.pop()! : null;
    if (sizes.length !== WINDOW_FUNCTIONS[fn]) {
      const want = { TUMBLE: 'a size', HOP: 'a slide and a size', SESSION: 'a gap', CUMULATE: 'a step and a max size' }[fn];
      throw c.errorAt(fnTok.pos, `${fn} takes ${want} after the DESCRIPTOR, got ${sizes.length} interval(s)`, `Write e.g. ${fn}(TABLE t, DESCRIPTOR(ts), ${fn === 'HOP' || fn === 'CUMULATE' ? "INTERVAL '1' MINUTE, INTERVAL '5' MINUTE" : "INTERVAL '10' MINUTE"}).`);
    }
    return { kind: 'windowTvf', fn, source, partitionBy, timeColumn, sizes, offset, alias: parseAlias(c), pos };
  }
  if (c.isWord('TABLE') || c.isWord('LATERAL') || c.isWord('UNNEST')) {
    throw c.error(`${c.peek().upper} in FROM is not supported here`, 'Read a stream or table by name, a subquery, or TABLE(TUMBLE|HOP|SESSION|CUMULATE(...)).');
  }
  const name = c.identifier('a table or stream name');
  let asOf: Expr | null = null;
  if (c.acceptWord('FOR')) {
    c.expectWord('SYSTEM_TIME', 'A temporal join reads a table FOR SYSTEM_TIME AS OF s.ts.');
    c.expectWord('AS');
    c.expectWord('OF');
    asOf = parseExpr(c);
  }
  if (c.isWord('MATCH_RECOGNIZE')) {
    if (asOf) throw c.error('MATCH_RECOGNIZE over FOR SYSTEM_TIME AS OF is not supported', 'Match the rows of the stream itself: FROM s MATCH_RECOGNIZE (...).');
    return { ...parseMatchRecognize(c, { kind: 'tableRef', name, asOf: null, alias: null, pos }), alias: parseAlias(c) };
  }
  if (c.isWord('OVER')) {
    // Kinesis Analytics' stream-to-stream join: `s OVER (RANGE ...)` or `s OVER w`, a window of the WINDOW clause.
    const overPos = c.next().pos;
    if (asOf) throw c.errorAt(overPos, 'OVER after FOR SYSTEM_TIME AS OF is not supported', 'A temporal join reads the version valid at the row\'s time: leave OVER out.');
    const over: OverClause = c.isOp('(') ? parseOverSpec(c) : { windowName: c.identifier('a window name'), partitionBy: [], orderBy: [], rangeMillis: null, rowsPreceding: null, pos: overPos };
    return { kind: 'tableRef', name, asOf, over, alias: parseAlias(c), pos };
  }
  return { kind: 'tableRef', name, asOf, alias: parseAlias(c), pos };
}

/**
 * Table functions of the dialects' references that are not implemented, each with the nearest form that works.
 * Kinesis Analytics' GROUP_RANK ranks the rows of one ROWTIME (closing a group early after its maxIdle of
 * processing time, when that is above 0); its sorting is what a streaming ORDER BY does.
 */
const UNSUPPORTED_TABLE_FUNCTIONS: Readonly<Record<string, string>> = {
  GROUP_RANK:
    'To sort the rows of each ROWTIME (the rows a GROUP BY STEP window emits together), write ORDER BY ROWTIME, price DESC; to number the rows of a window, use a window Top-N: ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC).',
};

/**
 * The rest of `TABLE(TOP_K_ITEMS_TUMBLING(CURSOR(SELECT STREAM ...), 'column', K, windowSeconds)) [AS t]`,
 * from the opening parenthesis after the name: a subquery of the queries it stands for (top-k-items.ts).
 */
/** Kinesis Analytics' TOP_K_ITEMS_TUMBLING and COUNT_DISTINCT_ITEMS_TUMBLING (no K), as the queries they stand for. */
function parseItemsTumbling(c: Cursor, fn: 'TOP_K_ITEMS_TUMBLING' | 'COUNT_DISTINCT_ITEMS_TUMBLING', pos: SourcePos): SubqueryFrom {
  const topK = fn === 'TOP_K_ITEMS_TUMBLING';
  const usage = `TABLE(${fn}(CURSOR(SELECT STREAM * FROM s), 'column', ${topK ? '10, ' : ''}60))`;
  c.expectOp('(');
  c.expectWord('CURSOR', `The first argument is the input: ${usage}.`);
  c.expectOp('(');
  const cursor = parseSelect(c);
  c.expectOp(')');
  c.expectOp(',', `Then the column to count, in single quotes: ${usage}.`);
  const columnTok = c.next();
  if (columnTok.type !== 'string') throw c.errorAt(columnTok.pos, `${fn} names its column in single quotes`, `Write ${usage}.`);
  const whole = (what: string, min: number, max: number): number => {
    c.expectOp(',', `Then ${what}: ${usage}.`);
    const t = c.next();
    const n = Number(t.text);
    if (t.type !== 'number' || !Number.isInteger(n) || n < min || n > max) throw c.errorAt(t.pos, `${what} of ${fn} is a whole number from ${min} to ${max}`, `Write ${usage}.`);
    return n;
  };
  const k = topK ? whole('K, the number of values', 1, 100_000) : 0;
  const seconds = whole('the window size in seconds', 1, 3600);
  c.expectOp(')');
  c.expectOp(')');
  const query = topK ? topKItemsQuery(cursor, columnTok.text, k, seconds, pos) : countDistinctItemsQuery(cursor, columnTok.text, seconds, pos);
  return { kind: 'subquery', query, alias: parseAlias(c), pos };
}


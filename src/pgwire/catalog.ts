/**
 * Mismatches between PostgreSQL's catalog and DuckDB's `pg_catalog` that stop drivers and psql from listing
 * tables and columns, mended in the statement text before it reaches the warehouse:
 *
 *   - `'pg_class'::regclass`: DuckDB has no `regclass`; the literal becomes the relation's oid from `pg_class`;
 *   - `pg_catalog.pg_attribute`: DuckDB's `atttypid` holds its own type ids, which match no `pg_type.oid`, so
 *     every join of a column to its type finds nothing; the relation is read through a view of it whose
 *     `atttypid` is the PostgreSQL oid of the column's type (as the row description gives it, see types.ts);
 *   - psql's `pg_catalog.pg_get_userbyid(<column>)` (an owner's name; DuckDB has no owners: `tollstream`),
 *     `OPERATOR(pg_catalog.~)` (plain `~`: DuckDB's matches the whole text, and psql anchors its patterns) and
 *     `COLLATE pg_catalog.default` (dropped).
 *
 *   - `pg_catalog.pg_class`: DuckDB's lacks `relforcerowsecurity`, types `reloptions` as NULL, not a list, and
 *     gives tables its index method as `relam`; read through a view that adds the one (false), types the
 *     other (`VARCHAR[]`) and leaves `relam` NULL;
 *   - psql's `\dt+`: `pg_table_size` and its kin (DuckDB keeps no size per table: NULL, an empty Size);
 *   - psql's `\l`: `pg_catalog.pg_database` through a view with the columns psql reads (owner, UTF8, C
 *     collation, no ACL), without DuckDB's `system` and `temp`; `pg_encoding_to_char` is 'UTF8';
 *   - `pg_catalog.format_type(type, typmod)`: DuckDB's names its own type ids; with the PostgreSQL oids of the
 *     view above it must name those, as PostgreSQL does (`integer`, `character varying`, ...);
 *   - `pg_get_indexdef` (DuckDB has none, and no index rows to apply it to); `pg_catalog.unnest` and
 *     `pg_catalog.array_to_string` (DuckDB's are not in its `pg_catalog`);
 *   - `pg_get_expr(expr, relation, pretty)`: DuckDB's takes no third argument; casts to `pg_catalog.text`,
 *     `pg_catalog.regtype` and `pg_catalog.regclass` become casts to text (DuckDB has none of these names).
 *
 * pgjdbc's `DatabaseMetaData.getTables` and `getColumns` (DBeaver, Metabase) need the first two; psql's `\dt`
 * and `\dn` the third; psql's `\d NAME` the rest (with `\dt+` and `\l` their own), and `isEmptyCatalogQuery` for the catalog relations DuckDB
 * does not have.
 */
import { pgTypeOids } from './types.ts';

const REGCLASS_LITERAL = /'((?:[^']|'')+)'::regclass\b/gi;
const PG_ATTRIBUTE = /\bpg_catalog\.pg_attribute\b/gi;
/** Words that may follow a relation where no alias is given. */
const NOT_ALIAS = new Set(['WHERE', 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'NATURAL', 'ON', 'USING', 'GROUP', 'ORDER', 'LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'HAVING', 'WINDOW']);

const GET_USER_BY_ID = /\bpg_catalog\.pg_get_userbyid\s*\(\s*[\w.]+\s*\)/gi;
const OPERATOR_MATCH = /\bOPERATOR\s*\(\s*pg_catalog\s*\.\s*(!?~)\s*\)/gi;
const DEFAULT_COLLATION = /\s+COLLATE\s+pg_catalog\.(?:"default"|default)\b/gi;

export function mendCatalogQuery(sql: string): string {
  if (!/pg_attribute|regclass|pg_catalog\./i.test(sql)) return sql;
  let out = sql.replace(GET_USER_BY_ID, "'tollstream'").replace(OPERATOR_MATCH, (_m, op: string) => op).replace(DEFAULT_COLLATION, '');
  out = out.replace(REGCLASS_LITERAL, (_m, name: string) => {
    const relname = name.replaceAll("''", "'").split('.').pop()!.replaceAll("'", "''");
    return `(SELECT oid FROM pg_catalog.pg_class WHERE relname = '${relname}' LIMIT 1)`;
  });
  out = out.replace(PRETTY_GET_EXPR, 'pg_catalog.pg_get_expr($1, $2)').replace(TEXT_CASTS, '::VARCHAR');
  out = replaceCalls(out, FORMAT_TYPE, formatType);
  // DuckDB lists no index in pg_index, so psql's index footer has no row to show a definition for.
  out = replaceCalls(out, GET_INDEXDEF, () => 'NULL::VARCHAR').replace(CATALOG_UNNEST, '$1(');
  // DuckDB keeps no size per table (its blocks are shared by the file): psql's \dt+ shows the size empty.
  out = replaceCalls(out, TABLE_SIZE, () => 'NULL::BIGINT');
  // psql's \l: DuckDB's pg_database has the names alone; the warehouse is UTF-8 with C collation.
  out = replaceCalls(out, ENCODING_TO_CHAR, () => "'UTF8'");
  out = viewInstead(out, PG_DATABASE, 'pg_database', databaseView);
  out = viewInstead(out, PG_CLASS, 'pg_class', classView);
  out = viewInstead(out, PG_ATTRIBUTE, 'pg_attribute', attributeView);
  return out;
}

const PG_CLASS = /\bpg_catalog\.pg_class\b/gi;
const PRETTY_GET_EXPR = /\bpg_catalog\.pg_get_expr\s*\(\s*([\w.]+)\s*,\s*([\w.]+)\s*,\s*(?:true|false)\s*\)/gi;
const TEXT_CASTS = /(?:::pg_catalog\.(?:regtype|regclass|text))+/gi;
const FORMAT_TYPE = /\bpg_catalog\.format_type\s*\(/gi;
const GET_INDEXDEF = /\bpg_catalog\.pg_get_indexdef\s*\(/gi;
const ENCODING_TO_CHAR = /\bpg_catalog\.pg_encoding_to_char\s*\(/gi;
const PG_DATABASE = /\bpg_catalog\.pg_database\b/gi;
const TABLE_SIZE = /\bpg_catalog\.pg_(?:table|total_relation|relation)_size\s*\(/gi;
const CATALOG_UNNEST = /\bpg_catalog\.(unnest|array_to_string)\s*\(/gi;

/** Reads the catalog relation `pattern` names through `view`, keeping the alias the statement gives it (or its name). */
function viewInstead(sql: string, pattern: RegExp, name: string, view: () => string): string {
  return sql.replace(pattern, (m, offset: number, text: string) => {
    const next = /^\s+(?:AS\s+)?([A-Za-z_]\w*)/i.exec(text.slice(offset + m.length));
    const aliased = next !== null && !NOT_ALIAS.has(next[1]!.toUpperCase());
    return `(${view()})${aliased ? '' : ` AS ${name}`}`;
  });
}

function classView(): string {
  // relam: DuckDB names its index method (art) for tables too, where PostgreSQL has heap; it is left out.
  return 'SELECT * REPLACE (CAST(reloptions AS VARCHAR[]) AS reloptions, NULL::BIGINT AS relam), false AS relforcerowsecurity FROM pg_catalog.pg_class';
}

/** The columns of PostgreSQL's pg_database that psql's \l reads, with a warehouse's values. */
function databaseView(): string {
  return (
    "SELECT *, 10::BIGINT AS datdba, 6 AS encoding, 'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, " +
    "'c' AS datlocprovider, NULL::VARCHAR[] AS datacl, false AS datistemplate, true AS datallowconn FROM pg_catalog.pg_database " +
    // DuckDB's own catalogs, not databases a client can connect to.
    "WHERE datname NOT IN ('system', 'temp')"
  );
}

/** PostgreSQL's names of the types whose oids the attribute view gives (what `format_type` answers). */
const PG_TYPE_NAMES: ReadonlyArray<readonly [number, string]> = [
  [16, 'boolean'], [17, 'bytea'], [20, 'bigint'], [21, 'smallint'], [23, 'integer'], [25, 'text'], [114, 'json'],
  [700, 'real'], [701, 'double precision'], [1043, 'character varying'], [1082, 'date'], [1083, 'time without time zone'],
  [1114, 'timestamp without time zone'], [1184, 'timestamp with time zone'], [1186, 'interval'], [1700, 'numeric'], [2950, 'uuid'],
];

/** `pg_catalog.format_type(t, m)` -> a CASE over `t` that names PostgreSQL's types (the typmod is not shown). */
function formatType(args: readonly string[]): string {
  const cases = PG_TYPE_NAMES.map(([oid, name]) => `WHEN ${oid} THEN '${name}'`).join(' ');
  return `(CASE (${args[0]}) ${cases} ELSE 'text' END)`;
}

/** Every call of the function `pattern` (ending in its opening parenthesis) replaced by what `by` makes of its arguments. */
function replaceCalls(sql: string, pattern: RegExp, by: (args: readonly string[]) => string): string {
  let out = '';
  let from = 0;
  for (const m of sql.matchAll(pattern)) {
    if (m.index < from) continue;
    const args = balancedArguments(sql, m.index + m[0].length);
    if (!args) return sql;
    out += sql.slice(from, m.index) + by(args.list);
    from = args.end;
  }
  return out + sql.slice(from);
}

/** The top-level comma-separated arguments from `start` (just after an opening parenthesis) and the index after the closing one. */
function balancedArguments(sql: string, start: number): { list: string[]; end: number } | undefined {
  const list: string[] = [];
  let depth = 0;
  let quoted = false;
  let begin = start;
  for (let i = start; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quoted) {
      if (ch === "'") quoted = false;
      continue;
    }
    if (ch === "'") quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) {
        list.push(sql.slice(begin, i).trim());
        return { list, end: i + 1 };
      }
      depth--;
    } else if (ch === ',' && depth === 0) {
      list.push(sql.slice(begin, i).trim());
      begin = i + 1;
    }
  }
  return undefined;
}

function attributeView(): string {
  const oids = pgTypeOids()
    .map(([name, oid]) => `('${name}', ${oid})`)
    .join(', ');
  return (
    'SELECT a.* REPLACE (coalesce(m.oid, 25) AS atttypid) FROM pg_catalog.pg_attribute a ' +
    'LEFT JOIN duckdb_columns() col ON col.table_oid = a.attrelid AND col.column_index = a.attnum ' +
    `LEFT JOIN (VALUES ${oids}) m(name, oid) ON m.name = regexp_replace(col.data_type, '\\(.*\\)$', '')`
  );
}

/**
 * Catalog relations DuckDB does not have and a warehouse would hold no row of (no row-level security policies,
 * extended statistics, publications, inheritance, triggers, rules or partitions).
 */
const EMPTY_RELATIONS = ['pg_policy', 'pg_statistic_ext', 'pg_publication', 'pg_publication_rel', 'pg_publication_namespace', 'pg_inherits', 'pg_trigger', 'pg_rewrite', 'pg_partitioned_table', 'pg_foreign_table'];
const EMPTY_RELATION = new RegExp(`(?:\\bFROM|,|\\bINNER\\s+JOIN|(?<!LEFT|RIGHT|FULL|OUTER)\\s+JOIN)\\s+pg_catalog\\.(?:${EMPTY_RELATIONS.join('|')})\\b`, 'i');

/**
 * The output column names of a catalog query that reads, in every branch of its UNIONs, one of the relations
 * above as an inner part of its FROM clause: its answer has no rows, as PostgreSQL's would for a warehouse.
 * Undefined for any other statement.
 */
export function emptyCatalogAnswer(sql: string): string[] | undefined {
  if (!/pg_catalog\./i.test(sql)) return undefined;
  const branches = splitTopLevel(sql.trim().replace(/;\s*$/, ''), /\bUNION(?:\s+ALL)?\b/iy);
  if (!branches.every((b) => EMPTY_RELATION.test(b))) return undefined;
  const first = branches[0]!;
  const select = /^\s*\(?\s*SELECT\s+(?:DISTINCT\s+)?/i.exec(first);
  if (!select) return undefined;
  const list = splitTopLevel(first.slice(select[0].length), /,/y, /\bFROM\b/iy);
  return list.map(columnName);
}

/** The name PostgreSQL gives a select-list item: its alias, a column's or function's name, `case`, else `?column?`. */
function columnName(item: string): string {
  const alias = /\sAS\s+"?([A-Za-z_]\w*)"?\s*$/i.exec(item);
  if (alias) return alias[1]!;
  const expr = item.trim();
  const cast = /^(.*?)((?:::[\w.]+)+)$/s.exec(expr);
  if (cast) {
    const inner = columnName(cast[1]!);
    return inner !== '?column?' ? inner : cast[2]!.split('.').pop()!.replace(/^:+/, '');
  }
  if (/^CASE\b.*\bEND$/is.test(expr)) return 'case';
  const name = /^(?:[A-Za-z_]\w*\.)*([A-Za-z_]\w*)(\s*\(.*\))?$/s.exec(expr);
  return name ? name[1]! : '?column?';
}

/**
 * `text` split at `separator` where it is outside parentheses and quotes; with `stop`, only what comes before
 * the first top-level match of `stop`. Both patterns are sticky (`y`).
 */
function splitTopLevel(text: string, separator: RegExp, stop?: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let begin = 0;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0) {
      const atWord = i === 0 || !/\w/.test(text[i - 1]!);
      if (stop && atWord) {
        stop.lastIndex = i;
        if (stop.test(text)) {
          end = i;
          break;
        }
      }
      separator.lastIndex = i;
      if ((ch === ',' || atWord) && separator.test(text)) {
        parts.push(text.slice(begin, i).trim());
        begin = separator.lastIndex;
        i = separator.lastIndex - 1;
      }
    }
  }
  parts.push(text.slice(begin, end).trim());
  return parts;
}

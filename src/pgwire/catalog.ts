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
 * pgjdbc's `DatabaseMetaData.getTables` and `getColumns` (DBeaver, Metabase) need the first two; psql's `\dt`
 * and `\dn` the third.
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
  out = out.replace(PG_ATTRIBUTE, (_m, offset: number, text: string) => {
    const next = /^\s+(?:AS\s+)?([A-Za-z_]\w*)/i.exec(text.slice(offset + _m.length));
    const aliased = next !== null && !NOT_ALIAS.has(next[1]!.toUpperCase());
    return `(${attributeView()})${aliased ? '' : ' AS pg_attribute'}`;
  });
  return out;
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

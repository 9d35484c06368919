/**
 * Warehouse column types as PostgreSQL type OIDs, and query values in PostgreSQL's text format, so clients
 * parse them as they would a PostgreSQL server's (`pg` turns an int8 into a string, a timestamp into a Date).
 */
import type { QueryColumn, QueryValue } from '../warehouse/index.ts';
import type { ColumnDescription } from './messages.ts';

export const TEXT_OID = 25;

interface PgType {
  readonly oid: number;
  readonly size: number;
}

/** By the warehouse's type name (DuckDB's, or PostgreSQL's own), upper case, without its modifiers. */
const TYPES: Readonly<Record<string, PgType>> = {
  BOOLEAN: { oid: 16, size: 1 },
  BOOL: { oid: 16, size: 1 },
  BLOB: { oid: 17, size: -1 },
  BYTEA: { oid: 17, size: -1 },
  BIGINT: { oid: 20, size: 8 },
  INT8: { oid: 20, size: 8 },
  SMALLINT: { oid: 21, size: 2 },
  INT2: { oid: 21, size: 2 },
  TINYINT: { oid: 21, size: 2 },
  UTINYINT: { oid: 21, size: 2 },
  INTEGER: { oid: 23, size: 4 },
  INT4: { oid: 23, size: 4 },
  USMALLINT: { oid: 23, size: 4 },
  UINTEGER: { oid: 20, size: 8 },
  UBIGINT: { oid: 1700, size: -1 },
  HUGEINT: { oid: 1700, size: -1 },
  UHUGEINT: { oid: 1700, size: -1 },
  VARCHAR: { oid: 1043, size: -1 },
  TEXT: { oid: 25, size: -1 },
  FLOAT: { oid: 700, size: 4 },
  REAL: { oid: 700, size: 4 },
  FLOAT4: { oid: 700, size: 4 },
  DOUBLE: { oid: 701, size: 8 },
  'DOUBLE PRECISION': { oid: 701, size: 8 },
  FLOAT8: { oid: 701, size: 8 },
  DATE: { oid: 1082, size: 4 },
  TIME: { oid: 1083, size: 8 },
  TIMESTAMP: { oid: 1114, size: 8 },
  'TIMESTAMP WITHOUT TIME ZONE': { oid: 1114, size: 8 },
  'TIMESTAMP WITH TIME ZONE': { oid: 1184, size: 8 },
  TIMESTAMPTZ: { oid: 1184, size: 8 },
  INTERVAL: { oid: 1186, size: 16 },
  DECIMAL: { oid: 1700, size: -1 },
  NUMERIC: { oid: 1700, size: -1 },
  UUID: { oid: 2950, size: 16 },
  JSON: { oid: 114, size: -1 },
};

/** Every type name this table knows with its PostgreSQL oid, for catalog queries (catalog.ts). */
export function pgTypeOids(): Array<readonly [string, number]> {
  return Object.entries(TYPES).map(([name, t]) => [name, t.oid] as const);
}

/** Lists, structs, maps and anything unknown go out as text (JSON for the nested ones). */
export function pgType(typeName: string): PgType {
  const base = typeName.toUpperCase().replace(/\(.*\)$/, '').trim();
  if (base.endsWith('[]') || base.startsWith('STRUCT') || base.startsWith('MAP') || base.startsWith('UNION')) return { oid: TEXT_OID, size: -1 };
  return TYPES[base] ?? { oid: TEXT_OID, size: -1 };
}

export function describeColumns(columns: readonly QueryColumn[]): ColumnDescription[] {
  return columns.map((c) => {
    const t = pgType(c.type);
    return { name: c.name, typeOid: t.oid, typeSize: t.size };
  });
}

/** One value in PostgreSQL's text format for its column's type; null stays null (SQL NULL). */
export function textValue(value: QueryValue, typeOid: number): string | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (typeOid === 1114 || typeOid === 1184) {
    // The warehouse gives timestamps as ISO 8601 in UTC (`2026-11-26T10:00:00.000Z`).
    const m = /^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(value);
    if (m) {
      const fraction = m[3] && /[1-9]/.test(m[3]) ? m[3].replace(/0+$/, '') : '';
      return `${m[1]} ${m[2]}${fraction}${typeOid === 1184 ? '+00' : ''}`;
    }
  }
  return value;
}

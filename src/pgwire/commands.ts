/**
 * The statements a PostgreSQL client sends that are about the session rather than the data, answered here
 * without the warehouse: BI tools and drivers send them when they connect (`SET extra_float_digits = 3`,
 * `SHOW transaction isolation level`, `SELECT version()`), and the warehouse would refuse them as writes.
 * Everything else goes to the warehouse, read-only.
 */
import { TollstreamError } from '../core/errors.ts';
import type { QueryColumn, QueryValue } from '../warehouse/index.ts';
import { emptyCatalogAnswer } from './catalog.ts';

export interface SessionAnswer {
  /** The command tag of CommandComplete (`SET`, `SHOW`, `SELECT 1`). */
  readonly tag: string;
  /** Present when the statement returns rows. */
  readonly columns?: readonly QueryColumn[];
  readonly rows?: readonly (readonly QueryValue[])[];
  /** How the statement moves the transaction state that ReadyForQuery reports. */
  readonly transaction?: 'begin' | 'end';
}

export interface SessionState {
  /** Run-time parameters as `SHOW` reports them, by lower-case name. */
  readonly parameters: Map<string, string>;
  /** `version()`'s answer. */
  readonly version: string;
}

/** The parameters a PostgreSQL server reports at startup (ParameterStatus) and `SHOW` answers. */
export function initialParameters(user: string, applicationName: string): Map<string, string> {
  return new Map([
    ['server_version', '15.0'],
    ['server_version_num', '150000'],
    ['server_encoding', 'UTF8'],
    ['client_encoding', 'UTF8'],
    ['datestyle', 'ISO, MDY'],
    ['intervalstyle', 'postgres'],
    ['timezone', 'UTC'],
    ['integer_datetimes', 'on'],
    ['standard_conforming_strings', 'on'],
    ['is_superuser', 'off'],
    ['session_authorization', user],
    ['application_name', applicationName],
    ['transaction_isolation', 'read committed'],
    ['transaction_read_only', 'on'],
    ['default_transaction_read_only', 'on'],
    ['search_path', 'main'],
    ['max_identifier_length', '63'],
    ['extra_float_digits', '1'],
    ['lc_collate', 'C'],
    ['lc_ctype', 'C'],
  ]);
}

/** Those of `initialParameters` a client is told of at startup (the ones PostgreSQL reports). */
export const REPORTED_PARAMETERS = [
  'server_version',
  'server_encoding',
  'client_encoding',
  'datestyle',
  'intervalstyle',
  'timezone',
  'integer_datetimes',
  'standard_conforming_strings',
  'is_superuser',
  'session_authorization',
  'application_name',
] as const;

/** The display name PostgreSQL gives a parameter in ParameterStatus and SHOW's column. */
const DISPLAY_NAMES: Readonly<Record<string, string>> = { datestyle: 'DateStyle', intervalstyle: 'IntervalStyle', timezone: 'TimeZone' };

export function displayName(name: string): string {
  return DISPLAY_NAMES[name] ?? name;
}

/** Answers a session statement, or returns undefined for one the warehouse runs. */
export function answerSessionStatement(sql: string, state: SessionState): SessionAnswer | undefined {
  const text = sql.trim().replace(/;\s*$/, '').trim();
  const words = text.split(/\s+/);
  const first = (words[0] ?? '').toUpperCase();
  switch (first) {
    case 'BEGIN':
    case 'START':
      return /^(BEGIN|START\s+TRANSACTION)\b/i.test(text) ? { tag: 'BEGIN', transaction: 'begin' } : undefined;
    case 'COMMIT':
    case 'END':
      return { tag: 'COMMIT', transaction: 'end' };
    case 'ROLLBACK':
    case 'ABORT':
      return { tag: 'ROLLBACK', transaction: 'end' };
    case 'SET':
      return set(text, state);
    case 'RESET':
      return { tag: 'RESET' };
    case 'DISCARD':
      return { tag: 'DISCARD ALL' };
    case 'DEALLOCATE':
      return { tag: 'DEALLOCATE' };
    case 'UNLISTEN':
      return { tag: 'UNLISTEN' };
    case 'SHOW':
      return show(text.slice(4).trim(), state);
    case 'SELECT':
      // The version a client parses to learn what the server speaks; DuckDB would answer with its own.
      if (/^SELECT\s+(pg_catalog\s*\.\s*)?version\s*\(\s*\)(\s+AS\s+("?)\w+\3)?$/i.test(text)) {
        const alias = /\s+AS\s+"?(\w+)"?$/i.exec(text)?.[1] ?? 'version';
        return { tag: 'SELECT 1', columns: [{ name: alias, type: 'VARCHAR' }], rows: [[state.version]] };
      }
      return emptyCatalog(text);
    default:
      return undefined;
  }
}

/** A catalog query of relations a warehouse holds no row of (psql's `\\d` footers): no rows, as PostgreSQL answers. */
function emptyCatalog(text: string): SessionAnswer | undefined {
  const names = emptyCatalogAnswer(text);
  return names ? { tag: 'SELECT 0', columns: names.map((name) => ({ name, type: 'VARCHAR' })), rows: [] } : undefined;
}

function set(text: string, state: SessionState): SessionAnswer {
  // SET [SESSION | LOCAL] name { TO | = } value; SET TIME ZONE value; SET SESSION CHARACTERISTICS ... (ignored)
  const m = /^SET\s+(?:SESSION\s+|LOCAL\s+)?(?:(TIME\s+ZONE)|([A-Za-z_][\w.]*)\s*(?:=|\s+TO\s+))\s*(.*)$/is.exec(text);
  if (m) {
    const name = m[1] ? 'timezone' : m[2]!.toLowerCase();
    const value = m[3]!.trim().replace(/^'(.*)'$/s, '$1').replace(/''/g, "'");
    // The warehouse's answers are UTC and ISO whatever the client asks: keep what SHOW reports honest.
    if (name !== 'timezone' && name !== 'datestyle' && name !== 'client_encoding') state.parameters.set(name, value);
  }
  return { tag: 'SET' };
}

function show(what: string, state: SessionState): SessionAnswer {
  const key = what.toLowerCase().replace(/\s+/g, ' ');
  if (key === 'all') {
    const rows = [...state.parameters].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => [displayName(name), value, ''] as const);
    return { tag: 'SHOW', columns: [{ name: 'name', type: 'VARCHAR' }, { name: 'setting', type: 'VARCHAR' }, { name: 'description', type: 'VARCHAR' }], rows };
  }
  const name = key === 'transaction isolation level' ? 'transaction_isolation' : key === 'time zone' ? 'timezone' : key.replace(/^"(.*)"$/, '$1');
  const value = state.parameters.get(name);
  if (value === undefined) throw new TollstreamError('NOT_FOUND', `unrecognized configuration parameter "${name}"`, { context: { parameter: name } });
  return { tag: 'SHOW', columns: [{ name: displayName(name), type: 'VARCHAR' }], rows: [[value]] };
}

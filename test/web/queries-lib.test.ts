/** The console's queries helpers: the answer shapes match the server's, SQL error places, names and figures. */
import { describe, expect, it } from 'vitest';
import type { QueryInfo as ServerQueryInfo } from '../../src/queries/index.ts';
import { checkQueryName, formatAgo, formatDuration, formatRate, formatUtc, offsetOf, sqlErrorPlace, type QueryInfo } from '../../web/src/lib/queries.ts';

// The page reads what the server sends: if either shape changes, the type check of this file fails.
const serverToPage = (q: ServerQueryInfo): QueryInfo => q;
const pageToServerStats = (s: QueryInfo['stats']): ServerQueryInfo['stats'] => s;
void serverToPage;
void pageToServerStats;

describe('queries helpers', () => {
  it('finds the line and column of a SQL error, from its context or its message', () => {
    expect(sqlErrorPlace('SQL_SYNTAX', "line 2, column 20: expected ')'", { line: 2, column: 20, problem: "expected ')'" })).toEqual({ line: 2, column: 20 });
    expect(sqlErrorPlace('SQL_PLAN', 'line 7, column 3: unknown column nope', undefined)).toEqual({ line: 7, column: 3 });
    expect(sqlErrorPlace('SQL_PLAN', 'no inputs', { line: 0, column: 0 })).toBeUndefined();
    expect(sqlErrorPlace('QUERY_EXISTS', 'line 2, column 20: looks like a place', { line: 2, column: 20 })).toBeUndefined();
  });

  it('turns a line and column into an offset in the typed SQL, clamped to the text', () => {
    const sql = 'SELECT customer_id,\n  SUM(amount_cents FROM tolls';
    expect(sql.slice(offsetOf(sql, { line: 2, column: 20 }))).toBe('FROM tolls');
    expect(offsetOf(sql, { line: 1, column: 1 })).toBe(0);
    expect(offsetOf(sql, { line: 1, column: 99 })).toBe('SELECT customer_id,'.length);
    expect(offsetOf(sql, { line: 9, column: 1 })).toBeLessThanOrEqual(sql.length);
  });

  it('refuses the names the server refuses, with a sentence', () => {
    expect(checkQueryName('spend_10s-web')).toBeUndefined();
    expect(checkQueryName('')).toMatch(/Enter a name/);
    expect(checkQueryName('bad name!')).toMatch(/letters, digits/);
    expect(checkQueryName('a.b')).toMatch(/no spaces or dots/);
    expect(checkQueryName('x'.repeat(65))).toMatch(/at most 64/);
  });

  it('writes rates, durations and times the way an operator reads them', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(2.25)).toBe('2.3');
    expect(formatRate(3)).toBe('3');
    expect(formatRate(1234.4)).toBe('1,234');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
    expect(formatAgo('2026-11-26T10:00:00.000Z', Date.parse('2026-11-26T10:00:12.000Z'))).toBe('12 s ago');
    expect(formatAgo('2026-11-26T10:00:00.000Z', Date.parse('2026-11-26T10:00:00.300Z'))).toBe('just now');
    expect(formatUtc('2026-11-26T10:00:05.000Z')).toBe('2026-11-26 10:00:05Z');
    expect(formatUtc('2026-11-26T10:00:05.250Z')).toBe('2026-11-26 10:00:05.250Z');
  });
});

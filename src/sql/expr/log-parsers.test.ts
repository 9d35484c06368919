import { describe, expect, it } from 'vitest';
import type { Expr } from '../ast/index.ts';
import { prepareRowFunction, splitFields } from './log-parsers.ts';
import { RowError } from './types.ts';

const pos = { line: 1, column: 1, offset: 0 };
const text = (value: string | number): Expr => ({ kind: 'literal', type: typeof value === 'number' ? 'BIGINT' : 'VARCHAR', value, pos });
const parser = (name: string, ...literals: (string | number)[]) =>
  prepareRowFunction({ kind: 'call', name, args: [{ kind: 'column', qualifier: null, name: 'line', quoted: false, pos }, ...literals.map(text)], distinct: false, star: false, filter: null, ignoreNulls: false, over: null, pos });

describe('log parsers', () => {
  it('W3C_LOG_PARSE reads NCSA EXTENDED lines, quoted fields with escaped quotes and blanks kept whole', () => {
    const p = parser('W3C_LOG_PARSE', 'ncsa  extended');
    expect(p.columns.map((c) => c.name)).toEqual(['COLUMN1', 'COLUMN2', 'COLUMN3', 'COLUMN4', 'COLUMN5', 'COLUMN6', 'COLUMN7', 'COLUMN8', 'COLUMN9']);
    const line = '10.0.0.1 - - [02/Mar/2026:08:00:01 +0000] "GET /a?q=\\"x\\" HTTP/1.1" 200 512 "https://ref.example/" "Mozilla/5.0 (X11; Linux)"';
    expect(p.parse(line)).toEqual(['10.0.0.1', '-', '-', '[02/Mar/2026:08:00:01 +0000]', 'GET /a?q=\\"x\\" HTTP/1.1', '200', '512', 'https://ref.example/', 'Mozilla/5.0 (X11; Linux)']);
    expect(p.parse('not a log line')).toBeNull();
  });

  it('W3C_LOG_PARSE takes Apache specifiers; the last one takes the rest of the line', () => {
    expect(parser('W3C_LOG_PARSE', 'AGENT').parse('Mozilla/5.0 (X11; Linux)')).toEqual(['Mozilla/5.0 (X11; Linux)']);
    expect(parser('W3C_LOG_PARSE', '%[Referer]i ---> %U').parse('https://a.example/ ---> /index.html')).toEqual(['https://a.example/', '/index.html']);
    expect(parser('W3C_LOG_PARSE', '%h 100%% %>s').parse('h1 100% 404')).toEqual(['h1', '404']);
  });

  it("W3C_LOG_PARSE reads IIS lines: Microsoft's 15 fields, each ended by a comma", () => {
    const p = parser('W3C_LOG_PARSE', 'IIS');
    expect(p.columns).toHaveLength(15);
    expect(p.parse('192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif, -,')).toEqual([
      '192.168.114.201', '-', '03/20/01', '7:55:20', 'W3SVC2', 'SALES1', '172.21.13.45', '4502', '163', '3223', '200', '0', 'GET', '/DeptLogo.gif', '-',
    ]);
    // A line of another format, or one field short, gives no row.
    expect(p.parse('10.0.0.1 - - [02/Mar/2026:08:00:01 +0000] "GET / HTTP/1.1" 200 512')).toBeNull();
    expect(p.parse('192.168.114.201, -, 03/20/01, 7:55:20, W3SVC2, SALES1, 172.21.13.45, 4502, 163, 3223, 200, 0, GET, /DeptLogo.gif,')).toBeNull();
  });

  it('VARIABLE_COLUMN_LOG_PARSE splits at a delimiter string, with an escape and a begin and end quote', () => {
    expect(splitFields('a||b||[c||d]||e\\||f', '||', '\\', '[', ']')).toEqual(['a', 'b', 'c||d', 'e||f']);
    expect(splitFields('a,,b,', ',', '', '', '')).toEqual(['a', '', 'b', '']);
  });

  it('a typed column that cannot be converted sends the row to the error stream; NOT NULL refuses a missing or blank number', () => {
    const p = parser('VARIABLE_COLUMN_LOG_PARSE', 'plate TYPE VARCHAR(8), cents TYPE INTEGER NOT NULL', ',');
    expect(p.parse('AB-1,250')).toEqual(['AB-1', 250]);
    expect(() => p.parse('AB-1,lots')).toThrow(RowError);
    expect(() => p.parse('AB-1, ')).toThrow(RowError);
    expect(() => p.parse('AB-1')).toThrow(RowError);
    expect(p.parse(',250')).toEqual(['', 250]);
  });

  it('FIXED_COLUMN_LOG_PARSE counts START from 0 and names quoted columns as written', () => {
    const p = parser('FIXED_COLUMN_LOG_PARSE', '"Plaza" TYPE VARCHAR(3) START 0 FOR 3, amount TYPE DOUBLE START 3');
    expect(p.columns).toEqual([
      expect.objectContaining({ name: 'Plaza', type: 'VARCHAR' }),
      expect.objectContaining({ name: 'AMOUNT', type: 'DOUBLE' }),
    ]);
    expect(p.parse('P07 12.5 ')).toEqual(['P07', 12.5]);
    expect(p.parse('P0')).toEqual(['P0', null]);
  });
});

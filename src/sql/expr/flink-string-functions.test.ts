import { describe, expect, it } from 'vitest';
import type { QueryStmt } from '../ast/index.ts';
import type { PlanProblem } from '../diagnostics.ts';
import { parseSql } from '../parser/index.ts';
import { compileExpr } from './compile.ts';
import { Scope } from './scope.ts';
import type { Row, Value } from './types.ts';

const scope = new Scope([
  { name: 'n', type: 'BIGINT', qualifier: 't', hidden: false },
  { name: 'd', type: 'DOUBLE', qualifier: 't', hidden: false },
  { name: 's', type: 'VARCHAR', qualifier: 't', hidden: false },
  { name: 'ts', type: 'TIMESTAMP', qualifier: 't', hidden: false },
]);

/** One SQL expression over a row (n, d, s, ts), in the given dialect. */
function evaluate(expr: string, row: Row = [null, null, null, null], dialect: 'flink' | 'kinesis' = 'flink'): Value {
  const q = (parseSql(`SELECT ${expr} FROM t`).statements[0] as QueryStmt).query;
  const item = q.items[0]!;
  if (item.kind !== 'item') throw new Error('no expression');
  return compileExpr(item.expr, { scope, now: () => 0, dialect }).fn(row);
}
const NULLS: Row = [null, null, null, null];

describe("Flink's string functions", () => {
  it('PRINTF formats as Java does, NULL arguments as null and a refused format as NULL', () => {
    expect(evaluate("PRINTF('Hello World %d %s', 100, 'days')")).toBe('Hello World 100 days');
    expect(evaluate("PRINTF('%5.2f|%-4d|%04d|%x|%X|%o|%,d|%+d', 3.14159, 7, 42, 255, 255, 8, 1234567, 5)")).toBe(' 3.14|7   |0042|ff|FF|10|1,234,567|+5');
    expect(evaluate("PRINTF('%2$s %1$s %<s %%%n', 'a', 'b')")).toBe('b a a %\n');
    expect(evaluate("PRINTF('%e|%S|%b|%.3s', 12345.678, 'up', true, 'abcdef')")).toBe('1.234568e+04|UP|true|abc');
    expect(evaluate("PRINTF('%s and %d|%05d', s, n, n)", NULLS)).toBe('null and null| null');
    expect(evaluate('PRINTF(s, 1)', NULLS)).toBeNull();
    expect(evaluate("PRINTF('%d', d)", [null, 2.0, null, null])).toBeNull();
    expect(evaluate("PRINTF('%f', n)", [2, null, null, null])).toBeNull();
    expect(evaluate("PRINTF('%s %s', 'one')")).toBeNull();
    expect(evaluate("PRINTF('%q', 'x')")).toBeNull();
    expect(evaluate("PRINTF('%s', d)", [null, 2, null, null])).toBe('2.0');
    // Java rounds half up on the shortest decimal text of a double (C's printf on its binary value, to even).
    expect(evaluate("PRINTF('%.2f|%.2f|%.2f|%.1e|%.0f', 2365.625, 1.005, -0.125, 325.0, 0.5)")).toBe('2365.63|1.01|-0.13|3.3e+02|1');
    expect(evaluate("PRINTF('%.3g|%g|%g|%.2f', 1234567.0, 0.00001234, 99.5, 999.999)")).toBe('1.23e+06|1.23400e-05|99.5000|1000.00');
  });

  it('CHR gives the character of the lowest byte, ELT the n-th value', () => {
    expect([evaluate('CHR(97)'), evaluate('CHR(353)'), evaluate('CHR(-1)'), evaluate('CHR(n)', NULLS)]).toEqual(['a', 'a', '', null]);
    expect(evaluate("ELT(1, 'scala', 'java')")).toBe('scala');
    expect(evaluate("ELT(2, s, 'java')", NULLS)).toBe('java');
    expect([evaluate("ELT(3, 'scala', 'java')"), evaluate("ELT(0, 'a')"), evaluate("ELT(n, 'a')", NULLS)]).toEqual([null, null, null]);
  });

  it('ENCODE and DECODE carry text through the documented character sets', () => {
    for (const cs of ['US-ASCII', 'ISO-8859-1', 'UTF-8', 'UTF-16BE', 'UTF-16LE', 'UTF-16']) {
      expect(evaluate(`DECODE(ENCODE('Flink', '${cs}'), '${cs}')`)).toBe('Flink');
    }
    expect(evaluate("DECODE(ENCODE('café ✓', 'UTF-16'), 'UTF-16')")).toBe('café ✓');
    expect(evaluate("ENCODE('hi', 'UTF-8')")).toBe(Buffer.from('hi').toString('base64'));
    expect(evaluate("ENCODE('hi', 'UTF-16')")).toBe(Buffer.from([0xfe, 0xff, 0, 0x68, 0, 0x69]).toString('base64'));
    expect(evaluate("DECODE(ENCODE('é', 'US-ASCII'), 'US-ASCII')")).toBe('?');
    expect(evaluate("DECODE(ENCODE('é', 'ISO-8859-1'), 'UTF-8')")).toBe('\ufffd');
    expect(evaluate("ENCODE(s, 'UTF-8')", NULLS)).toBeNull();
    expect(() => evaluate("ENCODE('x', 'EBCDIC')")).toThrow(/unknown character set 'EBCDIC'/);
  });

  it('URL_ENCODE and URL_DECODE read and write form encoding, PARSE_URL a URL part', () => {
    expect(evaluate("URL_ENCODE('http://test?a=b&c=d')")).toBe('http%3A%2F%2Ftest%3Fa%3Db%26c%3Dd');
    expect(evaluate("URL_ENCODE('a b*~你')")).toBe('a+b*%7E%E4%BD%A0');
    expect(evaluate("URL_DECODE('http%3A%2F%2F%E4%BD%A0%E5%A5%BD')")).toBe('http://你好');
    expect(evaluate("URL_DECODE('a+b%20c')")).toBe('a b c');
    expect(evaluate("URL_DECODE('https%%3A%2F%2Fcalcite.apache.org')")).toBeNull();
    expect(evaluate('URL_DECODE(s)', NULLS)).toBeNull();
    const url = "'http://facebook.com/path1/p.php?k1=v1&k2=v2#Ref1'";
    expect(evaluate(`PARSE_URL(${url}, 'HOST')`)).toBe('facebook.com');
    expect(evaluate(`PARSE_URL(${url}, 'QUERY', 'k1')`)).toBe('v1');
    expect(evaluate(`PARSE_URL(${url}, 'QUERY', 'k3')`)).toBeNull();
    expect(evaluate(`PARSE_URL(${url}, 'QUERY')`)).toBe('k1=v1&k2=v2');
    expect(evaluate(`PARSE_URL(${url}, 'PATH')`)).toBe('/path1/p.php');
    expect(evaluate(`PARSE_URL(${url}, 'FILE')`)).toBe('/path1/p.php?k1=v1&k2=v2');
    expect(evaluate(`PARSE_URL(${url}, 'REF')`)).toBe('Ref1');
    expect(evaluate(`PARSE_URL(${url}, 'PROTOCOL')`)).toBe('http');
    expect(evaluate("PARSE_URL('https://ann:pw@example.com:8443/x', 'AUTHORITY')")).toBe('ann:pw@example.com:8443');
    expect(evaluate("PARSE_URL('https://ann:pw@example.com:8443/x', 'USERINFO')")).toBe('ann:pw');
    expect(evaluate("PARSE_URL('https://ann:pw@example.com:8443/x', 'HOST')")).toBe('example.com');
    expect(evaluate(`PARSE_URL(${url}, 'host')`)).toBeNull();
    expect(evaluate("PARSE_URL('nope://x/y', 'HOST')")).toBeNull();
    expect(evaluate("PARSE_URL(s, 'HOST')", NULLS)).toBeNull();
  });

  it('BTRIM, TRANSLATE and the REGEXP_ functions follow the documented examples', () => {
    expect(evaluate("BTRIM('  www.apache.org  ')")).toBe('www.apache.org');
    expect(evaluate("BTRIM('/www.apache.org/', '/')")).toBe('www.apache.org');
    expect(evaluate("BTRIM(s, '/')", NULLS)).toBeNull();
    expect(evaluate("TRANSLATE('www.apache.org', 'wapcheorg', ' APCHEcom')")).toBe('   .APACHE.com');
    expect(evaluate("TRANSLATE('AaBbCc', 'abc', '1')")).toBe('A1BC');
    expect([evaluate("TRANSLATE(s, 'a', 'b')", NULLS), evaluate("TRANSLATE('abc', s, 'x')", NULLS), evaluate("TRANSLATE('abc', 'b', s)", NULLS)]).toEqual([null, 'abc', 'ac']);
    const players = "'Steven Jones and Stephen Smith are the best players'";
    expect(evaluate(`REGEXP_COUNT(${players}, 'Ste(v|ph)en')`)).toBe(2);
    expect(evaluate("REGEXP_COUNT('Mary had a little lamb', 'Ste(v|ph)en')")).toBe(0);
    expect(evaluate(`REGEXP_INSTR(${players}, 'Ste(v|ph)en')`)).toBe(1);
    expect(evaluate("REGEXP_INSTR('😀 and Stephen', 'Ste(v|ph)en')")).toBe(7);
    expect(evaluate("REGEXP_INSTR('Mary had a little lamb', 'Ste(v|ph)en')")).toBe(0);
    expect(evaluate(`REGEXP_SUBSTR(${players}, 'Ste(v|ph)en')`)).toBe('Steven');
    expect(evaluate("REGEXP_SUBSTR('Mary had a little lamb', 'Ste(v|ph)en')")).toBeNull();
    expect([evaluate("REGEXP_COUNT('x', '(')"), evaluate("REGEXP_INSTR('x', '(')"), evaluate("REGEXP_SUBSTR('x', '(')")]).toEqual([null, null, null]);
    expect(evaluate("REGEXP_COUNT(s, 'a')", NULLS)).toBeNull();
  });

  it('IS_ALPHA, IS_DIGIT and IS_DECIMAL test the text, false for NULL; TYPEOF names the type', () => {
    expect([evaluate("IS_ALPHA('abcÉ')"), evaluate("IS_ALPHA('ab1')"), evaluate("IS_ALPHA('')"), evaluate('IS_ALPHA(s)', NULLS)]).toEqual([true, false, false, false]);
    expect([evaluate("IS_DIGIT('0123')"), evaluate("IS_DIGIT('1.5')"), evaluate("IS_DIGIT('')"), evaluate('IS_DIGIT(s)', NULLS)]).toEqual([true, false, false, false]);
    expect([evaluate("IS_DECIMAL('-1.5e3')"), evaluate("IS_DECIMAL('.5')"), evaluate("IS_DECIMAL('1.')"), evaluate("IS_DECIMAL('1,5')"), evaluate('IS_DECIMAL(s)', NULLS)]).toEqual([true, true, true, false, false]);
    expect([evaluate('TYPEOF(n)'), evaluate('TYPEOF(d)'), evaluate('TYPEOF(s)'), evaluate('TYPEOF(ts)'), evaluate('TYPEOF(n > 1, TRUE)')]).toEqual(['BIGINT', 'DOUBLE', 'STRING', 'TIMESTAMP(3)', 'BOOLEAN']);
  });

  it('OVERLAPS tells whether two periods share a moment, as the documented examples', () => {
    expect(evaluate("(TIME '02:55:00', INTERVAL '1' HOUR) OVERLAPS (TIME '03:30:00', INTERVAL '2' HOUR)")).toBe(true);
    expect(evaluate("(TIME '09:00:00', TIME '10:00:00') OVERLAPS (TIME '10:15:00', INTERVAL '3' HOUR)")).toBe(false);
    expect(evaluate("(TIME '10:00:00', TIME '09:00:00') OVERLAPS (TIME '09:30:00', TIME '09:45:00')")).toBe(true);
    expect(evaluate("(TIME '09:00:00', TIME '10:00:00') OVERLAPS (TIME '10:00:00', TIME '11:00:00')")).toBe(true);
    expect(evaluate("(ts, INTERVAL '1' HOUR) OVERLAPS (TIME '10:00:00', TIME '11:00:00')", NULLS)).toBeNull();
    expect(() => evaluate("(s, TIME '10:00:00') OVERLAPS (TIME '10:00:00', TIME '11:00:00')")).toThrow("OVERLAPS's argument 1 must be a time, this is VARCHAR");
    expect(() => evaluate("(TIME '10:00:00', TIME '11:00:00') + 1")).toThrow('OVERLAPS');
  });

  it('refuses a wrong argument count or type when the query is planned, naming the function', () => {
    expect(() => evaluate('CHR(97, 98)')).toThrow('CHR takes 1 argument(s), got 2');
    expect(() => evaluate('BTRIM()')).toThrow('BTRIM takes 1 to 2 argument(s), got 0');
    expect(() => evaluate("CHR('a')")).toThrow("CHR's argument 1 must be a number, this is VARCHAR");
    expect(() => evaluate('REGEXP_COUNT(n, s)')).toThrow("REGEXP_COUNT's argument 1 must be text, this is BIGINT");
    expect(() => evaluate("ELT('1', 'a')")).toThrow("ELT's argument 1 must be a number");
    expect(() => evaluate('URL_ENCODE(ts)')).toThrow("URL_ENCODE's argument 1 must be text, this is TIMESTAMP");
    expect(() => evaluate('PRINTF(1)')).toThrow("PRINTF's argument 1 must be text");
  });

  it('exist only in the Flink dialect', () => {
    expect(() => evaluate("BTRIM(' x ')", NULLS, 'kinesis')).toThrow('unknown function BTRIM');
    const hint = (dialect: 'flink' | 'kinesis') => {
      try {
        evaluate('NO_SUCH_FUNCTION(1)', NULLS, dialect);
      } catch (err) {
        return (err as PlanProblem).hint;
      }
      return '';
    };
    expect(hint('flink')).toMatch(/ BTRIM, .* TRANSLATE, /);
    expect(hint('kinesis')).not.toMatch(/BTRIM/);
  });
});

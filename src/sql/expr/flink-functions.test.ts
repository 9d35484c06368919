import { describe, expect, it } from 'vitest';
import { FLINK_SCALAR_FUNCTIONS } from './flink-functions.ts';
import type { Value } from './types.ts';

const call = (name: string, ...args: Value[]) => FLINK_SCALAR_FUNCTIONS[name]!.impl(args);
const ts = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);

describe("Flink's one-line built-in functions", () => {
  it("give the fields of the documentation's examples (1994-09-27 13:14:15 is a Tuesday of ISO week 39)", () => {
    const day = ts('1994-09-27 00:00:00');
    expect([call('YEAR', day), call('QUARTER', day), call('MONTH', day), call('WEEK', day)]).toEqual([1994, 3, 9, 39]);
    expect([call('DAYOFYEAR', day), call('DAYOFMONTH', day), call('DAYOFWEEK', day)]).toEqual([270, 27, 3]);
    const t = ts('1994-09-27 13:14:15');
    expect([call('HOUR', t), call('MINUTE', t), call('SECOND', t)]).toEqual([13, 14, 15]);
    expect(call('DAYOFWEEK', ts('2026-12-06 23:59:59'))).toBe(1);
  });

  it('pad, cut, trim, repeat and reverse text by characters', () => {
    expect(call('LPAD', 'hi', 4, '??')).toBe('??hi');
    expect(call('LPAD', 'hi', 1, '??')).toBe('h');
    expect(call('RPAD', 'hi', 4, '??')).toBe('hi??');
    expect(call('RPAD', 'hi', 5, 'ab')).toBe('hiaba');
    expect(call('RPAD', 'hi', 1, '??')).toBe('h');
    expect(call('LPAD', 'hi', -1, '?')).toBeNull();
    expect(call('LTRIM', '  This is a test String. ')).toBe('This is a test String. ');
    expect(call('RTRIM', ' This is a test String.  ')).toBe(' This is a test String.');
    expect(call('LTRIM', '\tx')).toBe('\tx');
    expect(call('REPEAT', 'ab', 3)).toBe('ababab');
    expect(call('REPEAT', 'ab', -1)).toBe('');
    expect(call('LEFT', 'Hello 😀', 7)).toBe('Hello 😀');
    expect(call('LEFT', 'Hello', 2)).toBe('He');
    expect(call('LEFT', 'Hello', -2)).toBe('');
    expect(call('RIGHT', 'Hello', 3)).toBe('llo');
    expect(call('RIGHT', 'Hello', 0)).toBe('');
    expect(call('RIGHT', 'Hello', 9)).toBe('Hello');
    expect(call('REVERSE', 'a😀b')).toBe('b😀a');
  });

  it('compute logarithms, angles and signs, refusing a logarithm of 0', () => {
    expect(call('LOG2', 8)).toBeCloseTo(3, 12);
    expect(call('LOG', Math.E)).toBeCloseTo(1, 12);
    expect(call('LOG', 2, 1024)).toBeCloseTo(10, 12);
    expect(() => call('LOG', 0)).toThrow('above 0');
    expect(() => call('LOG', 1, 5)).toThrow('base');
    expect(call('DEGREES', Math.PI)).toBeCloseTo(180, 12);
    expect(call('RADIANS', 90)).toBeCloseTo(Math.PI / 2, 12);
    expect(call('ATAN2', 1, 1)).toBeCloseTo(Math.PI / 4, 12);
    expect(call('COT', Math.PI / 4)).toBeCloseTo(1, 12);
    expect([call('SIGN', -2.5), call('SIGN', 0), call('SIGN', 3)]).toEqual([-1, 0, 1]);
  });

  it('IF takes the third value when the condition is false or NULL', () => {
    expect(call('IF', true, 'a', 'b')).toBe('a');
    expect(call('IF', false, 'a', 'b')).toBe('b');
    expect(call('IF', null, 'a', 'b')).toBe('b');
  });

  it('format and read dates, digest and encode text, and find text by characters', () => {
    expect(call('FROM_UNIXTIME', 44)).toBe('1970-01-01 00:00:44');
    expect(call('FROM_UNIXTIME', 1_767_225_600, 'dd/MM/yyyy HH:mm')).toBe('01/01/2026 00:00');
    expect(call('TO_DATE', '2026-03-02')).toBe(ts('2026-03-02 00:00:00'));
    expect(call('TO_DATE', '02/03/2026 10:30', 'dd/MM/yyyy HH:mm')).toBe(ts('2026-03-02 00:00:00'));
    expect(call('MD5', 'abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(call('SHA1', 'abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(call('SHA256', 'abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(call('SHA2', 'abc', 256)).toBe(call('SHA256', 'abc'));
    expect(() => call('SHA2', 'abc', 100)).toThrow('224, 256, 384 or 512');
    expect(call('TO_BASE64', 'hello world')).toBe('aGVsbG8gd29ybGQ=');
    expect(call('FROM_BASE64', 'aGVsbG8gd29ybGQ=')).toBe('hello world');
    expect(() => call('FROM_BASE64', 'not base64!')).toThrow('not base64');
    expect([call('ASCII', 'abc'), call('ASCII', '')]).toEqual([97, 0]);
    expect([call('INSTR', 'a😀bcb', 'b'), call('INSTR', 'abc', 'z')]).toEqual([3, 0]);
    expect([call('LOCATE', 'b', 'a😀bcb'), call('LOCATE', 'b', 'a😀bcb', 4), call('LOCATE', 'b', 'abc', 9)]).toEqual([3, 5, 0]);
    expect([call('SPLIT_INDEX', 'Jack,John,Mary', ',', 2), call('SPLIT_INDEX', 'a,b', ',', 2), call('SPLIT_INDEX', 'a,b', ',', -1)]).toEqual(['Mary', null, null]);
    expect([call('STARTSWITH', 'SparkSQL', 'Spark'), call('ENDSWITH', 'SparkSQL', 'Spark')]).toEqual([true, false]);
  });

  it('truncate decimals and write integers in base 2 and 16 as the documentation shows', () => {
    expect([call('TRUNCATE', 42.345, 2), call('TRUNCATE', 42.345), call('TRUNCATE', -1.13, 2), call('TRUNCATE', 1.13, 2)]).toEqual([42.34, 42, -1.13, 1.13]);
    expect(call('TRUNCATE', 1234, -2)).toBe(1200);
    expect([call('BIN', 12), call('BIN', 0), call('BIN', -1)]).toEqual(['1100', '0', '1'.repeat(64)]);
    expect([call('HEX', 20), call('HEX', 100), call('HEX', 'hello,world')]).toEqual(['14', '64', '68656C6C6F2C776F726C64']);
    expect(() => call('HEX', 1.5)).toThrow('whole number');
  });
});

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
});

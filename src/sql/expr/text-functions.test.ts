import { describe, expect, it } from 'vitest';
import { initcap, overlay, regexReplace } from './text-functions.ts';
import { RowError } from './types.ts';

describe('text functions', () => {
  it('INITCAP capitalizes each space-delimited word', () => {
    expect(initcap('hello  wORLD\tof sql')).toBe('Hello  World\tOf Sql');
  });

  it('OVERLAY counts characters, not UTF-16 units, and refuses a negative length', () => {
    expect(overlay('a😀c', 'X', 2)).toBe('aXc');
    expect(() => overlay('abc', 'X', 1, -1)).toThrow(RowError);
  });

  it('REGEX_REPLACE replaces one occurrence or all, from a start position, with Java group references', () => {
    expect(regexReplace('a1 b2 c3', /([a-z])(\d)/, '$2$1', 1, 0)).toBe('1a 2b 3c');
    expect(regexReplace('a1 b2 c3', /([a-z])(\d)/, '$2$1', 1, 2)).toBe('a1 2b c3');
    expect(regexReplace('a1 b2 c3', /([a-z])(\d)/, '<$0>', 4, 0)).toBe('a1 <b2> <c3>');
    expect(regexReplace('cost 5', /\d/, '\\$9', 1, 0)).toBe('cost $9');
    expect(regexReplace('abc', /b/, 'x', 9, 0)).toBe('abc');
    expect(() => regexReplace('abc', /b/, 'x', 0, 0)).toThrow(RowError);
    expect(() => regexReplace('abc', /b/, '$1', 1, 0)).toThrow(/group 1/);
  });
});

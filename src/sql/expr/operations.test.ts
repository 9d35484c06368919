import { describe, expect, it } from 'vitest';
import { likeRegex } from './operations.ts';
import { RowError } from './types.ts';

describe('LIKE and SIMILAR TO patterns', () => {
  const similar = (s: string, p: string) => likeRegex(p, null, true).test(s);

  it('SIMILAR TO reads a SQL regular expression over the whole text', () => {
    expect(similar('abc', '_b_')).toBe(true);
    expect(similar('abc', '%(b|d)%')).toBe(true);
    expect(similar('abc', '(b|c)%')).toBe(false);
    expect(similar('aaab11', 'a{3}b[0-9]+')).toBe(true);
    expect(similar('a.c', 'a.c')).toBe(true);
    expect(similar('abc', 'a.c')).toBe(false);
    expect(similar('a^$', 'a^$')).toBe(true);
  });

  it('an ESCAPE character makes the next one plain, in both', () => {
    expect(likeRegex('a!%', '!').test('a%')).toBe(true);
    expect(likeRegex('a!%', '!').test('ab')).toBe(false);
    expect(likeRegex('(a!|b)', '!', true).test('a|b')).toBe(true);
    expect(() => likeRegex('a!', '!')).toThrow(RowError);
    expect(() => likeRegex('a', '!!')).toThrow(/one character/);
  });

  it('refuses a SIMILAR TO pattern that is not a regular expression', () => {
    expect(() => likeRegex('(a', null, true)).toThrow(/not a valid SIMILAR TO pattern/);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCsvRows } from './csv.ts';

describe('parseCsvRows', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and CRLF rows', () => {
    expect(parseCsvRows('a,b,c\r\n"x, y","say ""hi""","line\nbreak"\r\n1,,3')).toEqual([
      ['a', 'b', 'c'],
      ['x, y', 'say "hi"', 'line\nbreak'],
      ['1', '', '3'],
    ]);
  });

  it('skips blank lines and keeps a last row without a line break', () => {
    expect(parseCsvRows('\nh\n\nv\n\n')).toEqual([['h'], ['v']]);
    expect(parseCsvRows('h\nv')).toEqual([['h'], ['v']]);
    expect(parseCsvRows('')).toEqual([]);
  });

  it('treats a quote inside an unquoted field as text', () => {
    expect(parseCsvRows('5" screen,x')).toEqual([['5" screen', 'x']]);
  });
});

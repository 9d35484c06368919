import { describe, expect, it } from 'vitest';
import type { MatchView } from '../expr/pattern-navigation.ts';
import type { Row } from '../expr/types.ts';
import type { PatternStep, RowPattern } from './row-pattern.ts';
import { matchAt } from './row-pattern.ts';

/** Rows are single letters; a variable accepts the rows of its own letter (lower case for a variable named so). */
const VARS = ['A', 'B', 'C'];
const letterIs = (v: string) => (view: MatchView) => view.rows[view.current]![0] === v;

function pattern(text: string, within: number | null = null): RowPattern {
  const steps: PatternStep[] = [];
  for (const m of text.matchAll(/([A-C])(\*|\+|\?|\{(\d*),?(\d*)\}|)(\??)/g)) {
    const [, v, q, lo, hi, lazy] = m;
    let [min, max] = [1, 1];
    if (q === '*') [min, max] = [0, Infinity];
    else if (q === '+') [min, max] = [1, Infinity];
    else if (q === '?') [min, max] = [0, 1];
    else if (q!.startsWith('{')) {
      min = lo === '' ? 0 : Number(lo);
      max = q!.includes(',') ? (hi === '' ? Infinity : Number(hi)) : min;
    }
    steps.push({ variable: VARS.indexOf(v!), min, max, greedy: lazy !== '?' });
  }
  return { steps, conditions: VARS.map((v) => letterIs(v)), within };
}

function run(p: RowPattern, letters: string, canGrow = false, start = 0) {
  const rows: Row[] = [...letters].map((l) => [l]);
  const times = rows.map((_, i) => i * 1000);
  const found = matchAt(p, rows, times, start, canGrow);
  if (found.kind !== 'match') return found.kind;
  return found.vars.map((v) => VARS[v]).join('');
}

describe('finding the match of a row pattern at a row', () => {
  it('maps rows one after another with no row between the variables', () => {
    expect(run(pattern('A B C'), 'ABC')).toBe('ABC');
    expect(run(pattern('A B C'), 'ABBC')).toBe('none');
    expect(run(pattern('A B C'), 'ABCA')).toBe('ABC');
  });

  it('counts rows as the quantifiers say', () => {
    expect(run(pattern('A{2} B'), 'AAB')).toBe('AAB');
    expect(run(pattern('A{2} B'), 'AB')).toBe('none');
    expect(run(pattern('A{2} B'), 'AAAB')).toBe('none');
    expect(run(pattern('A{2,} B'), 'AAAAB')).toBe('AAAAB');
    expect(run(pattern('A{2,3} B'), 'AAAAB')).toBe('none');
    expect(run(pattern('A{2,3} B'), 'AAAB')).toBe('AAAB');
    expect(run(pattern('A{,2} B'), 'B')).toBe('B');
    expect(run(pattern('A? B'), 'AB')).toBe('AB');
    expect(run(pattern('A? B'), 'B')).toBe('B');
    expect(run(pattern('A* B'), 'AAAB')).toBe('AAAB');
    expect(run(pattern('A+ B'), 'B')).toBe('none');
  });

  it('a greedy variable keeps every row it accepts, a reluctant one as few as the rest allow', () => {
    // C accepts C rows only, A accepts A rows only: the greedy/reluctant choice shows with a variable that
    // accepts anything, so give B no condition here.
    const anyB: RowPattern = { ...pattern('A B* C'), conditions: [letterIs('A'), null, letterIs('C')] };
    expect(run(anyB, 'ABCBC')).toBe('none'); // greedy B takes C rows too and never leaves them to C
    const lazyB: RowPattern = { ...pattern('A B*? C'), conditions: [letterIs('A'), null, letterIs('C')] };
    expect(run(lazyB, 'ABCBC')).toBe('ABC');
    const lazyPlus: RowPattern = { ...pattern('A B+? C'), conditions: [letterIs('A'), null, letterIs('C')] };
    expect(run(lazyPlus, 'ACCBC')).toBe('ABC');
  });

  it('waits while the preferred way needs a row that may still come, and decides once none can', () => {
    expect(run(pattern('A B+ C'), 'ABB', true)).toBe('wait');
    expect(run(pattern('A B+ C'), 'ABB', false)).toBe('none');
    // A greedy last variable keeps taking rows while they come.
    expect(run(pattern('A B*'), 'ABB', true)).toBe('wait');
    expect(run(pattern('A B*'), 'ABB', false)).toBe('ABB');
    expect(run(pattern('A B*'), 'ABBA', true)).toBe('ABB');
    // A row that rules the pattern out needs no later row.
    expect(run(pattern('A B C'), 'AC', true)).toBe('none');
  });

  it('does not take a row later than WITHIN after the first row of the match', () => {
    // Rows are 1 s apart: A A A B spans 3 s.
    expect(run(pattern('A+ B', 3000), 'AAAB')).toBe('AAAB');
    expect(run(pattern('A+ B', 2999), 'AAAB')).toBe('none');
    expect(run(pattern('A+ B', 2000), 'AAB', false, 0)).toBe('AAB');
  });

  it('a search that waited goes on from where it stood and finds what a new search would', () => {
    for (const [p, letters] of [
      [pattern('A B+ C'), 'ABBBBC'],
      [pattern('A B*? C'), 'ABBC'],
      [pattern('A{2,3} B? C'), 'AAACA'],
      [pattern('A+ B', 2000), 'AAAB'],
    ] as const) {
      const rows: Row[] = [];
      const times: number[] = [];
      let search;
      let found: ReturnType<typeof matchAt> = { kind: 'none' };
      for (const [i, l] of [...letters].entries()) {
        rows.push([l]);
        times.push(i * 1000);
        found = matchAt(p, rows, times, 0, true, search);
        if (found.kind !== 'wait') break;
        search = found.search;
      }
      if (found.kind === 'wait') found = matchAt(p, rows, times, 0, false, found.search);
      const fresh = matchAt(p, rows, times, 0, false);
      expect(found, letters).toEqual(fresh);
    }
  });

  it('starts at the row it is given', () => {
    expect(run(pattern('A B'), 'BAB', false, 1)).toBe('AB');
    expect(run(pattern('A B'), 'BAB', false, 0)).toBe('none');
  });

  it('keeps a run of a hundred thousand rows without deep recursion', () => {
    expect(run(pattern('A+ B'), `${'A'.repeat(100_000)}B`)).toHaveLength(100_001);
  });
});

import { describe, expect, it } from 'vitest';
import type { MatchRecognizeFrom, QueryStmt } from '../ast/index.ts';
import { parseSql } from './index.ts';

function clause(body: string, after = ''): MatchRecognizeFrom {
  const { statements } = parseSql(`SELECT * FROM Ticker MATCH_RECOGNIZE (${body.startsWith('PARTITION') ? body : `ORDER BY rowtime ${body}`}) ${after}`);
  const from = (statements[0] as QueryStmt).query.from;
  if (from?.kind !== 'matchRecognize') throw new Error(`parsed as ${from?.kind}`);
  return from;
}

const quantifiers = (m: MatchRecognizeFrom) => m.pattern.map((s) => [s.variable, s.min, s.max, s.greedy]);

describe('parsing MATCH_RECOGNIZE', () => {
  it('reads every quantifier, greedy or reluctant', () => {
    expect(quantifiers(clause('PATTERN (A B* C+ D? E{2} F{2,} G{2,4} H{,3})'))).toEqual([
      ['A', 1, 1, true],
      ['B', 0, Infinity, true],
      ['C', 1, Infinity, true],
      ['D', 0, 1, true],
      ['E', 2, 2, true],
      ['F', 2, Infinity, true],
      ['G', 2, 4, true],
      ['H', 0, 3, true],
    ]);
    expect(quantifiers(clause('PATTERN (A*? B+? C?? D{1,2}?)'))).toEqual([
      ['A', 0, Infinity, false],
      ['B', 1, Infinity, false],
      ['C', 0, 1, false],
      ['D', 1, 2, false],
    ]);
  });

  it('reads the clauses in order, the skip defaulting to past the last row, and the alias after the parenthesis', () => {
    const m = clause("PARTITION BY symbol ORDER BY rowtime MEASURES A.price AS p, LAST(B.price, 1) AS q ONE ROW PER MATCH PATTERN (A B+) WITHIN INTERVAL '1' HOUR DEFINE B AS B.price > A.price", 'AS T');
    expect(m.partitionBy.map((e) => e.kind === 'column' && e.name)).toEqual(['symbol']);
    expect(m.measures.map((x) => x.alias)).toEqual(['p', 'q']);
    expect(m.afterMatch).toEqual({ to: 'PAST LAST ROW' });
    expect(m.within?.millis).toBe(3_600_000);
    expect(m.define.map((d) => d.variable)).toEqual(['B']);
    expect(m.alias).toBe('T');
    expect(m.source).toMatchObject({ kind: 'tableRef', name: 'Ticker' });
  });

  it('reads each AFTER MATCH SKIP; SKIP TO a variable is SKIP TO LAST', () => {
    const skip = (s: string) => {
      const a = clause(`AFTER MATCH SKIP ${s} PATTERN (A B)`).afterMatch;
      return 'variable' in a ? [a.to, a.variable] : [a.to];
    };
    expect(skip('PAST LAST ROW')).toEqual(['PAST LAST ROW']);
    expect(skip('TO NEXT ROW')).toEqual(['NEXT ROW']);
    expect(skip('TO FIRST B')).toEqual(['FIRST', 'B']);
    expect(skip('TO LAST B')).toEqual(['LAST', 'B']);
    expect(skip('TO B')).toEqual(['LAST', 'B']);
  });

  it('refuses bounds that match no row', () => {
    expect(() => clause('PATTERN (A{3,2})')).toThrow(/matches no row/);
    expect(() => clause('PATTERN (A{0})')).toThrow(/matches no row/);
  });
});

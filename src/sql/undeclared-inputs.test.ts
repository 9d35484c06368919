import { describe, expect, it } from 'vitest';
import { undeclaredInputs } from './index.ts';

describe('undeclaredInputs', () => {
  it('lists the streams read in FROM, in joins and in subqueries of WHERE, but not those declared', () => {
    const sql = `
      CREATE TABLE c (k VARCHAR(8), ts TIMESTAMP(3), WATERMARK FOR ts AS ts);
      SELECT a.k FROM a JOIN c ON a.k = c.k AND c.ts BETWEEN a.ts AND a.ts
      WHERE EXISTS (SELECT 1 FROM b WHERE b.k = a.k AND b.ts = a.ts) AND a.k IN (SELECT k FROM (SELECT * FROM d) AS dd WHERE dd.ts = a.ts);`;
    expect(undeclaredInputs(sql)).toEqual(['a', 'b', 'd']);
  });
});

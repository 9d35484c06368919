/**
 * Flink's CURRENT_WATERMARK(ts): the watermark the query's rows are read under, NULL before the first one.
 * The input yields two arrays; each goes on with its watermark before the next, so the rows of the second
 * are read under the watermark the first set (its largest ts, 00:00:09, less the declared 1 s).
 */
import { describe, expect, it } from 'vitest';
import { runQuery } from '../../src/sql/index.ts';

const TRADES = `CREATE TABLE trades (ticker VARCHAR(8), ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND);`;

async function* twoArrays() {
  yield [
    { ticker: 'A', ts: '2026-01-01T00:00:05Z' },
    { ticker: 'B', ts: '2026-01-01T00:00:09Z' },
  ];
  yield [
    { ticker: 'C', ts: '2026-01-01T00:00:07Z' },
    { ticker: 'D', ts: '2026-01-01T00:00:08Z' },
    { ticker: 'E', ts: '2026-01-01T00:00:10Z' },
  ];
}

describe('CURRENT_WATERMARK', () => {
  it('reads NULL before the first watermark, then the watermark the rows came under', async () => {
    const result = await runQuery({ sql: `${TRADES} SELECT ticker, CURRENT_WATERMARK(ts) AS wm FROM trades;`, inputs: { trades: twoArrays() }, allowedLatenessMs: 5000 });
    expect(result.streams.result).toEqual([
      { ticker: 'A', wm: null },
      { ticker: 'B', wm: null },
      { ticker: 'C', wm: '2026-01-01T00:00:08.000Z' },
      { ticker: 'D', wm: '2026-01-01T00:00:08.000Z' },
      { ticker: 'E', wm: '2026-01-01T00:00:08.000Z' },
    ]);
  });

  it("filters out rows at or behind the watermark, as Flink's documentation does for late data", async () => {
    const result = await runQuery({
      sql: `${TRADES} SELECT ticker FROM trades WHERE CURRENT_WATERMARK(ts) IS NULL OR ts > CURRENT_WATERMARK(ts);`,
      inputs: { trades: twoArrays() },
      allowedLatenessMs: 5000,
    });
    // C (00:00:07) and D (00:00:08) are not after the watermark 00:00:08; the allowed lateness let them
    // through the source, the condition keeps them out.
    expect(result.streams.result!.map((r) => r.ticker)).toEqual(['A', 'B', 'E']);
  });

  it('is refused where no Calc keeps the watermark, naming the supported form', async () => {
    await expect(runQuery({ sql: `${TRADES} SELECT ticker, MAX(CURRENT_WATERMARK(ts)) FROM trades GROUP BY ticker;`, inputs: { trades: twoArrays() } })).rejects.toThrow(
      /CURRENT_WATERMARK is only supported in the select list and WHERE[\s\S]*WHERE CURRENT_WATERMARK\(ts\) IS NULL OR ts > CURRENT_WATERMARK\(ts\)/,
    );
  });
});

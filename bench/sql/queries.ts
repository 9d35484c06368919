/**
 * The benchmark's queries: our SQL (queries/*.sql), the inputs each reads, its target, the published Flink
 * per-core figure for scale, and how to check it against DuckDB: the same result computed in batch by
 * `reference` SQL over tables bid, auction and person (dateTime as epoch ms), compared either row for row
 * (`rows`: every output row, as the listed columns, sorted) or by totals (`totals`: the count and the sums
 * of the listed columns, for queries that emit every input row).
 */
import { readFileSync } from 'node:fs';

export type InputName = 'bid' | 'auction' | 'person';

export type Check =
  | { readonly kind: 'rows'; readonly columns: readonly string[] }
  | { readonly kind: 'totals'; readonly sums: readonly string[]; readonly relativeTolerance: number };

export interface BenchQuery {
  readonly name: string;
  readonly title: string;
  readonly sql: string;
  readonly inputs: readonly InputName[];
  /** Events per CPU-second this query should reach; null when it has none. */
  readonly targetPerCore: number | null;
  /** Apache Flink's published Nexmark events/s per core, for scale; null when none is quoted. */
  readonly flinkPerCore: number | null;
  /** What differs from the Nexmark original, in a line. */
  readonly deviation: string;
  readonly check: Check;
  /**
   * Run over the first this many Nexmark events only (cut by event time, the same cut for DuckDB), for a
   * query too slow to take the full count within the benchmark's time. Unset: every event.
   */
  readonly maxEvents?: number;
  /** DuckDB SQL giving the same result; for `totals`, one row `n` plus one column per sum (same names). */
  readonly reference: string;
}

const sqlFile = (name: string) => readFileSync(new URL(`./queries/${name}.sql`, import.meta.url), 'utf8');

/** Window start of a `size`-ms tumble, in DuckDB over epoch-ms BIGINTs. */
const tumble = (col: string, sizeMs: number) => `(${col} // ${sizeMs}) * ${sizeMs}`;

export const QUERIES: readonly BenchQuery[] = [
  {
    name: 'q0',
    title: 'pass-through',
    sql: sqlFile('q0'),
    inputs: ['bid'],
    targetPerCore: null,
    flinkPerCore: null,
    deviation: 'none',
    check: { kind: 'totals', sums: ['auction', 'bidder', 'price'], relativeTolerance: 0 },
    reference: `SELECT COUNT(*) AS n, SUM(auction) AS auction, SUM(bidder) AS bidder, SUM(price) AS price FROM bid`,
  },
  {
    name: 'q1',
    title: 'currency conversion',
    sql: sqlFile('q1'),
    inputs: ['bid'],
    targetPerCore: 2_000_000,
    flinkPerCore: 160_000,
    deviation: 'none (DOUBLE price * 0.908; integer variant in the file)',
    // Each row's product is the same IEEE double in both engines; only the order of the summation differs.
    check: { kind: 'totals', sums: ['auction', 'price'], relativeTolerance: 1e-9 },
    reference: `SELECT COUNT(*) AS n, SUM(auction) AS auction, SUM(price * CAST(0.908 AS DOUBLE)) AS price FROM bid`,
  },
  {
    name: 'q2',
    title: 'selection',
    sql: sqlFile('q2'),
    inputs: ['bid'],
    targetPerCore: 2_000_000,
    flinkPerCore: null,
    deviation: 'auction % 123 = 0 (the streaming form) instead of a list of ids',
    check: { kind: 'rows', columns: ['auction', 'price'] },
    reference: `SELECT auction, price FROM bid WHERE auction % 123 = 0`,
  },
  {
    name: 'q5',
    title: 'hot items (max-of-counts join)',
    sql: sqlFile('q5'),
    inputs: ['bid'],
    targetPerCore: 1_000_000,
    flinkPerCore: 41_000,
    deviation: 'max per window as a 2 s TUMBLE over the HOP output, interval-joined back on window_end (same result)',
    check: { kind: 'rows', columns: ['starttime', 'auction', 'num'] },
    reference: `
      WITH hops AS (SELECT ${tumble('dateTime', 2000)} - k * 2000 AS starttime, auction FROM bid CROSS JOIN range(0, 5) AS r(k)),
      auction_bids AS (SELECT starttime, auction, COUNT(*) AS num FROM hops GROUP BY starttime, auction),
      max_bids AS (SELECT starttime, MAX(num) AS maxn FROM auction_bids GROUP BY starttime)
      SELECT a.starttime, a.auction, a.num FROM auction_bids a JOIN max_bids m ON a.starttime = m.starttime AND a.num >= m.maxn`,
  },
  {
    name: 'q5-top1',
    title: 'hot items (ROW_NUMBER top-1)',
    sql: sqlFile('q5-top1'),
    inputs: ['bid'],
    targetPerCore: 1_000_000,
    flinkPerCore: 41_000,
    deviation: 'top-1 per window by ROW_NUMBER: one auction per window, ties to the smaller id',
    check: { kind: 'rows', columns: ['window_start', 'auction', 'num'] },
    reference: `
      WITH hops AS (SELECT ${tumble('dateTime', 2000)} - k * 2000 AS window_start, auction FROM bid CROSS JOIN range(0, 5) AS r(k)),
      auction_bids AS (SELECT window_start, auction, COUNT(*) AS num FROM hops GROUP BY window_start, auction)
      SELECT window_start, auction, num FROM auction_bids
      QUALIFY ROW_NUMBER() OVER (PARTITION BY window_start ORDER BY num DESC, auction) = 1`,
  },
  {
    name: 'q7',
    title: 'highest bid (max join)',
    sql: sqlFile('q7'),
    inputs: ['bid'],
    targetPerCore: 1_000_000,
    flinkPerCore: 17_600,
    deviation: 'none in result: bids interval-joined with the max price of their 10 s window',
    // The interval join rescans its whole buffer (20 s of bids) at every watermark: too slow for the full count.
    maxEvents: 400_000,
    check: { kind: 'rows', columns: ['window_start', 'auction', 'bidder', 'price', 'dateTime'] },
    reference: `
      WITH maxes AS (SELECT ${tumble('dateTime', 10_000)} AS window_start, MAX(price) AS maxprice FROM bid GROUP BY window_start)
      SELECT m.window_start, b.auction, b.bidder, b.price, b.dateTime
      FROM bid b JOIN maxes m ON ${tumble('b.dateTime', 10_000)} = m.window_start AND b.price = m.maxprice`,
  },
  {
    name: 'q7-top1',
    title: 'highest bid (ROW_NUMBER top-1)',
    sql: sqlFile('q7-top1'),
    inputs: ['bid'],
    targetPerCore: 1_000_000,
    flinkPerCore: 17_600,
    deviation: 'top-1 per window by ROW_NUMBER: one bid at the max price, ties by auction, bidder',
    check: { kind: 'rows', columns: ['window_start', 'auction', 'bidder', 'price', 'dateTime'] },
    reference: `
      SELECT ${tumble('dateTime', 10_000)} AS window_start, auction, bidder, price, dateTime FROM bid
      QUALIFY ROW_NUMBER() OVER (PARTITION BY ${tumble('dateTime', 10_000)} ORDER BY price DESC, auction, bidder) = 1`,
  },
  {
    name: 'q8',
    title: 'new users (window join)',
    sql: sqlFile('q8'),
    inputs: ['person', 'auction'],
    targetPerCore: null,
    flinkPerCore: null,
    deviation: 'interval join + same-window condition + DISTINCT instead of a window join',
    check: { kind: 'rows', columns: ['id', 'name', 'starttime'] },
    reference: `
      SELECT DISTINCT p.id, p.name, ${tumble('p.dateTime', 10_000)} AS starttime
      FROM person p JOIN auction a ON p.id = a.seller AND ${tumble('p.dateTime', 10_000)} = ${tumble('a.dateTime', 10_000)}`,
  },
];

/**
 * Checking a run against DuckDB: our output rows reduced while they stream out (the compared columns as a
 * sortable key, or a count and column sums), then compared with the reference query's rows.
 */
import { formatCount } from '../lib/stats.ts';
import type { Reference } from './duckdb-reference.ts';
import type { BenchQuery } from './queries.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Our output rows, reduced to what the check compares. */
export interface Sink {
  onRow: (stream: string, row: Record<string, unknown>) => void;
  /** `rows` checks: the compared columns of every row, as JSON. */
  readonly keys: string[];
  /** `totals` checks: the row count and the sums, in the order of the check's columns. */
  n: number;
  readonly sums: number[];
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
const normalize = (v: unknown) => (typeof v === 'string' && ISO.test(v) ? Date.parse(v) : v);
const rowKey = (row: Record<string, unknown>, columns: readonly string[]) => JSON.stringify(columns.map((c) => normalize(row[c])));

export function sinkFor(q: BenchQuery): Sink {
  const sink: Sink = { keys: [], n: 0, sums: [], onRow: () => {} };
  const check = q.check;
  if (check.kind === 'rows') {
    sink.onRow = (stream, row) => {
      if (stream === 'result') sink.keys.push(rowKey(row, check.columns));
    };
  } else {
    const sums = sink.sums;
    for (let i = 0; i < check.sums.length; i++) sums.push(0);
    sink.onRow = (stream, row) => {
      if (stream !== 'result') return;
      sink.n++;
      for (let i = 0; i < sums.length; i++) sums[i]! += row[check.sums[i]!] as number;
    };
  }
  return sink;
}

/** Runs the reference SQL and compares; error-stream rows count as a mismatch too. */
export async function checkAgainst(q: BenchQuery, sql: string, sink: Sink, reference: Reference, errorRows: number): Promise<{ check: CheckResult; ms: number; rows: number }> {
  const { rows, ms } = await reference.query(sql);
  const problems: string[] = [];
  if (errorRows > 0) problems.push(`${errorRows} error-stream rows`);
  if (q.check.kind === 'totals') {
    const expected = rows[0] ?? {};
    if (Number(expected.n) !== sink.n) problems.push(`count ${sink.n} vs DuckDB ${String(expected.n)}`);
    for (const [i, s] of q.check.sums.entries()) {
      const ours = sink.sums[i]!;
      const theirs = Number(expected[s]);
      const tolerance = q.check.relativeTolerance * Math.max(Math.abs(ours), Math.abs(theirs));
      if (!(Math.abs(ours - theirs) <= tolerance)) problems.push(`SUM(${s}) ${ours} vs DuckDB ${theirs}`);
    }
    const detail = problems.length ? problems.join('; ') : `count ${formatCount(sink.n)} and sums of ${q.check.sums.join(', ')} equal`;
    return { check: { ok: problems.length === 0, detail }, ms, rows: Number(expected.n) };
  }
  const columns = q.check.columns;
  const ours = [...sink.keys].sort();
  const theirs = rows.map((r) => rowKey(r, columns)).sort();
  if (ours.length !== theirs.length) problems.push(`${ours.length} rows vs DuckDB ${theirs.length}`);
  const theirSet = new Set(theirs);
  const ourSet = new Set(ours);
  const missing = theirs.filter((k) => !ourSet.has(k));
  const extra = ours.filter((k) => !theirSet.has(k));
  if (missing.length) problems.push(`${missing.length} DuckDB rows missing, e.g. ${missing[0]}`);
  if (extra.length) problems.push(`${extra.length} rows DuckDB does not have, e.g. ${extra[0]}`);
  if (!missing.length && !extra.length && ours.some((k, i) => k !== theirs[i])) problems.push('same rows, different multiplicities');
  if (theirs.length === 0) problems.push('empty result: nothing was compared');
  const detail = problems.length ? problems.join('; ') : `${formatCount(ours.length)} rows equal, row for row [${columns.join(', ')}]`;
  return { check: { ok: problems.length === 0, detail }, ms, rows: theirs.length };
}

/**
 * Flink's Top-N outside windows: `ROW_NUMBER() OVER (PARTITION BY k ORDER BY x DESC) ... WHERE rn <= N`,
 * ordered by anything but an ascending time (which `time-ordered-top-n` serves, append-only). Every row is
 * ranked in its partition as it comes; when it enters the top N the rows whose number changed are sent again
 * with their new number (an upsert stream keyed by the partition and the row number, as a GROUP BY without a
 * window sends each group's new row). With `enteringOnly` (the query around does not select the row number)
 * only the row that entered is sent: the rows it pushed down keep their place in the consumer's view, and
 * the one it pushed out is the worst of that partition's rows sent so far.
 *
 * Keep-last deduplication (`ORDER BY ts DESC`, `rn = 1`) is the case N = 1 where a row of the same time as
 * the kept one replaces it (`newestWinsTies`); otherwise equal rows keep their arrival order, the first ahead.
 *
 * State: per partition the best N rows, no more. The input is append-only, so a row pushed out can never
 * come back and nothing else is needed to send the changes.
 */
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { EntryKey, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import type { OrderKey } from './time-ordered-top-n.ts';
import { compareValues } from './time-ordered-top-n.ts';

interface Ranked {
  readonly row: Row;
  readonly keys: readonly Value[];
}

export interface UpdatingTopNMode {
  /** Send only the row that enters the top N (the query does not select the row number). */
  readonly enteringOnly: boolean;
  /** A row equal in every ORDER BY column to a kept one ranks ahead of it (keep-last deduplication). */
  readonly newestWinsTies: boolean;
}

export class UpdatingTopNOperator implements Operator {
  /** Partition key -> its best rows, best first, at most `limit`. */
  private readonly partitions = new Map<EntryKey, Ranked[]>();
  /** Partitions changed since the last checkpoint. */
  private readonly changed = new Set<EntryKey>();

  constructor(
    readonly description: string,
    private readonly partitionFns: readonly CompiledFn[],
    private readonly order: readonly OrderKey[],
    private readonly limit: number,
    private readonly mode: UpdatingTopNMode,
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      try {
        this.rank(row, out);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  private rank(row: Row, out: Output): void {
    const key = keyOf(this.partitionFns.map((f) => f(row)));
    const entry: Ranked = { row, keys: this.order.map((o) => o.fn(row)) };
    let list = this.partitions.get(key);
    if (!list) {
      list = [];
      this.partitions.set(key, list);
    }
    const at = this.placeOf(list, entry.keys);
    if (at >= this.limit) return;
    list.splice(at, 0, entry);
    if (list.length > this.limit) list.pop();
    this.changed.add(key);
    if (this.mode.enteringOnly) {
      out.emit([...row, at + 1]);
      return;
    }
    for (let i = at; i < list.length; i++) out.emit([...list[i]!.row, i + 1]);
  }

  /** The index the new row takes: after every row that ranks ahead of it (binary search, lists are sorted). */
  private placeOf(list: readonly Ranked[], keys: readonly Value[]): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compare(list[mid]!.keys, keys);
      const ahead = this.mode.newestWinsTies ? c < 0 : c <= 0;
      if (ahead) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compare(a: readonly Value[], b: readonly Value[]): number {
    for (let i = 0; i < this.order.length; i++) {
      const c = compareValues(a[i]!, b[i]!);
      if (c !== 0) return this.order[i]!.descending ? -c : c;
    }
    return 0;
  }

  handleWatermark(): void {}

  /** The partitions changed since the previous checkpoint, each with its kept rows (see runtime/keyed-state.ts). */
  handleCheckpoint(): KeyedState {
    const set: [EntryKey, Row[]][] = [];
    for (const key of this.changed) set.push([key, this.partitions.get(key)!.map((e) => e.row)]);
    this.changed.clear();
    return { keyed: 1, meta: null, dropped: [], sections: [{ name: 0, set, removed: [] }] };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return;
    for (const section of state.sections) {
      for (const [key, rows] of section.set) {
        this.partitions.set(key, (rows as Row[]).map((row) => ({ row, keys: this.order.map((o) => o.fn(row)) })));
      }
    }
  }

  handleEnd(): void {}
}

/**
 * Top-N per window: `ROW_NUMBER() OVER (PARTITION BY window_start, window_end, ... ORDER BY x DESC)`.
 * Rows of a window are held until the watermark passes its end, then numbered within each partition and
 * emitted with the number appended; only the best `limit` of each partition are kept when the query
 * around says `rn <= N`.
 */
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';

export interface SortKey {
  readonly fn: CompiledFn;
  readonly descending: boolean;
}

function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

export class WindowTopNOperator implements Operator {
  /** window end -> partition key -> rows (pruned to the best `limit` now and then). */
  private readonly pending = new Map<number, Map<unknown, Row[]>>();
  private readonly compare: (a: Row, b: Row) => number;
  /**
   * The previous row's partition values and key: rows of one window and partition come in runs, and equal
   * values give the same key, so a run computes its key (JSON text for two values or more) once.
   */
  private readonly partitionValues: Value[];
  private partitionKey: unknown = null;
  private hasPartitionKey = false;

  constructor(
    readonly description: string,
    private readonly windowEndFn: CompiledFn,
    private readonly partitionFns: readonly CompiledFn[],
    order: readonly SortKey[],
    private readonly limit: number,
  ) {
    this.partitionValues = new Array<Value>(partitionFns.length).fill(null);
    this.compare = (a, b) => {
      for (const o of order) {
        const c = compareValues(o.fn(a), o.fn(b));
        if (c !== 0) return o.descending ? -c : c;
      }
      return 0;
    };
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const end = this.windowEndFn(row);
      if (typeof end !== 'number') {
        out.error('NULL_TIME', 'ROW_NUMBER over windows needs window_end in the PARTITION BY', row);
        continue;
      }
      let parts = this.pending.get(end);
      if (!parts) {
        parts = new Map();
        this.pending.set(end, parts);
      }
      const k = this.keyOfPartition(row);
      let list = parts.get(k);
      if (!list) {
        list = [];
        parts.set(k, list);
      }
      list.push(row);
      // Amortized pruning: sort and cut only when twice the limit has piled up (the sort is stable).
      if (list.length >= 2 * this.limit + 16) parts.set(k, list.sort(this.compare).slice(0, this.limit));
    }
  }

  private keyOfPartition(row: Row): unknown {
    const fns = this.partitionFns;
    const values = this.partitionValues;
    let same = this.hasPartitionKey;
    // Unset while the values change, so a function that throws part-way leaves no key for mixed values.
    this.hasPartitionKey = false;
    for (let i = 0; i < fns.length; i++) {
      const v = fns[i]!(row);
      if (v !== values[i]) same = false;
      values[i] = v;
    }
    // `keyOf` reads the values and keeps none of them: the array is reused.
    if (!same) this.partitionKey = keyOf(values);
    this.hasPartitionKey = true;
    return this.partitionKey;
  }

  handleWatermark(time: number, out: Output): void {
    const due = [...this.pending.keys()].filter((e) => e <= time).sort((a, b) => a - b);
    for (const end of due) {
      const parts = this.pending.get(end)!;
      this.pending.delete(end);
      for (const list of parts.values()) {
        list.sort(this.compare);
        const n = Math.min(list.length, this.limit);
        for (let i = 0; i < n; i++) out.emit([...list[i]!, i + 1]);
      }
    }
  }

  handleCheckpoint(): unknown {
    return [...this.pending.values()].map((parts) => [...parts.values()].flat()).flat();
  }

  restoreState(state: unknown): void {
    this.processBatch(state as Row[], 0, { emit: () => {}, error: () => {} });
  }

  handleEnd(): void {}
}

/**
 * Top-N per window: `ROW_NUMBER() OVER (PARTITION BY window_start, window_end, ... ORDER BY x DESC)`.
 * Rows of a window are held until the watermark passes its end, then numbered within each partition and
 * emitted with the number appended; only the first `limit` of each partition are kept when a limit is known.
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
  private readonly pending = new Map<number, Row[]>();

  constructor(
    readonly description: string,
    private readonly windowEndFn: CompiledFn,
    private readonly partitionFns: readonly CompiledFn[],
    private readonly order: readonly SortKey[],
    private readonly limit: number,
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const end = this.windowEndFn(row);
      if (typeof end !== 'number') {
        out.error('NULL_TIME', 'ROW_NUMBER over windows needs window_end in the PARTITION BY', row);
        continue;
      }
      const list = this.pending.get(end);
      if (list) list.push(row);
      else this.pending.set(end, [row]);
    }
  }

  handleWatermark(time: number, out: Output): void {
    const due = [...this.pending.keys()].filter((e) => e <= time).sort((a, b) => a - b);
    for (const end of due) {
      const rows = this.pending.get(end)!;
      this.pending.delete(end);
      const parts = new Map<unknown, Row[]>();
      for (const r of rows) {
        const k = keyOf(this.partitionFns.map((f) => f(r)));
        const p = parts.get(k);
        if (p) p.push(r);
        else parts.set(k, [r]);
      }
      for (const p of parts.values()) {
        p.sort((a, b) => {
          for (const o of this.order) {
            const c = compareValues(o.fn(a), o.fn(b));
            if (c !== 0) return o.descending ? -c : c;
          }
          return 0;
        });
        const n = Math.min(p.length, this.limit);
        for (let i = 0; i < n; i++) out.emit([...p[i]!, i + 1]);
      }
    }
  }

  handleCheckpoint(): unknown {
    return [...this.pending.entries()].map(([end, rows]) => ({ end, rows }));
  }

  handleEnd(): void {}
}

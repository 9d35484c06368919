/**
 * Kinesis Analytics sliding windows, `AGG(x) OVER (PARTITION BY k RANGE INTERVAL '1' MINUTE PRECEDING)`:
 * every row is emitted at once with aggregates over its partition's rows of the last `range` (by time,
 * the row itself included). Rows are taken in arrival order.
 *
 * Whether a row exactly `range` older than the current one is in the window depends on the dialect: the
 * Kinesis Analytics walk-through of a 5-second window drops the row 5 s old (the window is (t - range, t]),
 * while Flink keeps every row "at most" `range` older ([t - range, t]). A zero range keeps the rows of the
 * same time in both.
 */
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { CompiledLag } from '../expr/lag.ts';
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import type { FrameTest } from './lag-buffer.ts';
import { LagBuffer } from './lag-buffer.ts';

export interface OverWindow {
  readonly partitionFns: readonly CompiledFn[];
  readonly range: number;
  /** A row window (`ROWS n PRECEDING`): the current row and the n before it, whatever their times; null for a range. */
  readonly rows: number | null;
  /** True when a row exactly `range` old is still in the window (Flink); false to drop it (Kinesis Analytics). */
  readonly includesOldestBound: boolean;
  readonly aggs: readonly CompiledAggregate[];
  /** LAG over the window; their values follow the aggregates' in the output row. */
  readonly lags: readonly CompiledLag[];
}

/** Whether a row LAG reaches back to is still in the window's frame (the same bounds as `dropOutOfRange`). */
export function frameTest(w: OverWindow): FrameTest {
  if (w.rows !== null) {
    const rows = w.rows;
    return (_time, rowsBack) => rowsBack <= rows;
  }
  const range = w.range;
  if (w.includesOldestBound || range === 0) return (time, _rowsBack, t) => t - time <= range;
  return (time, _rowsBack, t) => t - time < range;
}

/** One LAG buffer per LAG of each window; `tracksChanges` for an operator that checkpoints by change. */
export function lagBuffers(windows: readonly OverWindow[], tracksChanges = false): LagBuffer[][] {
  return windows.map((w) => w.lags.map((l) => new LagBuffer(l, frameTest(w), tracksChanges)));
}

/** A partition's rows in time order; rows before `head` have left the range. */
export interface RangeRows {
  times: number[];
  rows: Row[];
  head: number;
}

/** Moves `head` past the rows that are out of the window of a row at time `t`, and compacts now and then. */
export function dropOutOfRange(w: OverWindow, b: RangeRows, t: number): void {
  const oldest = t - w.range;
  if (w.rows !== null) b.head = Math.max(b.head, b.times.length - 1 - w.rows);
  else if (w.includesOldestBound || w.range === 0) while (b.head < b.times.length && b.times[b.head]! < oldest) b.head++;
  else while (b.head < b.times.length && b.times[b.head]! <= oldest) b.head++;
  if (b.head > 256 && b.head * 2 > b.times.length) {
    b.times.splice(0, b.head);
    b.rows.splice(0, b.head);
    b.head = 0;
  }
}

export class OverAggregateOperator implements Operator {
  private readonly buffers: Map<unknown, RangeRows>[];
  private readonly lagBuffers: LagBuffer[][];

  constructor(
    readonly description: string,
    private readonly timeFn: CompiledFn,
    private readonly windows: readonly OverWindow[],
  ) {
    this.buffers = windows.map(() => new Map());
    this.lagBuffers = lagBuffers(windows);
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      try {
        const t = this.timeFn(row);
        if (typeof t !== 'number') {
          out.error('NULL_TIME', 'the row has no time to slide a window over', row);
          continue;
        }
        const result: Row = row.slice();
        this.windows.forEach((w, wi) => {
          const k = keyOf(w.partitionFns.map((f) => f(row)));
          if (w.aggs.length > 0) {
            const map = this.buffers[wi]!;
            let b = map.get(k);
            if (!b) {
              b = { times: [], rows: [], head: 0 };
              map.set(k, b);
            }
            b.times.push(t);
            b.rows.push(row);
            dropOutOfRange(w, b, t);
            for (const a of w.aggs) {
              const acc = a.create();
              for (let i = b.head; i < b.rows.length; i++) if (b.times[i]! <= t) a.add(acc, b.rows[i]!, t - b.times[i]!);
              result.push(a.result(acc));
            }
          }
          for (const l of this.lagBuffers[wi]!) result.push(l.take(k, t, row));
        });
        out.emit(result);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(): void {}

  handleCheckpoint(): unknown {
    return {
      buffers: this.buffers.map((m) => [...m.entries()].map(([k, b]) => ({ key: k, times: b.times.slice(b.head), rows: b.rows.slice(b.head) }))),
      lags: this.lagBuffers.map((ls) => ls.map((l) => l.snapshot())),
    };
  }

  restoreState(state: unknown): void {
    // A checkpoint taken before LAG existed holds the buffers alone.
    const s = (Array.isArray(state) ? { buffers: state, lags: [] } : state) as { buffers: { key: unknown; times: number[]; rows: Row[] }[][]; lags: unknown[][] };
    s.buffers.forEach((entries, i) => {
      for (const e of entries) this.buffers[i]!.set(e.key, { times: e.times, rows: e.rows, head: 0 });
    });
    s.lags.forEach((ls, wi) => ls.forEach((l, li) => this.lagBuffers[wi]![li]!.restore(l)));
  }

  handleEnd(): void {}
}

/**
 * OVER windows ordered by an event-time column, Flink's
 * `AGG(x) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)`: a row
 * waits until the watermark, less how far behind it `ts` can still come (`holdBack`: the allowed lateness
 * for a source's WATERMARK column), passes its `ts`, so every row of the range has arrived, then rows leave in `ts` order, each with aggregates over its partition's rows from `ts - range` to
 * `ts` (rows of the same `ts` included, whichever came first). The answer depends on the data alone, not on
 * the order or speed rows arrive in. A row whose `ts` the operator already passed is late.
 */
import type { Acc } from '../expr/aggregates.ts';
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { HeldRows } from './held-rows.ts';
import type { LagBuffer } from './lag-buffer.ts';
import type { OverWindow, RangeRows } from './over-aggregate.ts';
import { dropOutOfRange, lagBuffers } from './over-aggregate.ts';


export class EventTimeOverAggregateOperator implements Operator {
  /** Rows waiting for the watermark to pass their time. */
  private readonly held: HeldRows;
  private readonly histories: Map<unknown, RangeRows>[];
  private readonly lagBuffers: LagBuffer[][];

  constructor(
    readonly description: string,
    timeFn: CompiledFn,
    private readonly windows: readonly OverWindow[],
    holdBack: number,
  ) {
    this.held = new HeldRows(timeFn, holdBack, {
      noTime: 'the row has no value in the ORDER BY column of its OVER window',
      late: (t, wm) => `the ORDER BY time ${t} is behind the watermark ${wm}: the rows after it already left. Order the OVER window by the WATERMARK column, or raise its delay (or the allowed lateness).`,
    });
    this.histories = windows.map(() => new Map());
    this.lagBuffers = lagBuffers(windows);
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.held.holdAll(rows, out);
  }

  handleWatermark(time: number, out: Output): void {
    // Rows of one time keep their arrival order.
    const due = this.held.release(time);
    for (let i = 0; i < due.length; ) {
      let j = i;
      while (j < due.length && due[j]!.time === due[i]!.time) j++;
      this.emitPeers(due.slice(i, j), out);
      i = j;
    }
  }

  /**
   * Rows of one time. In a RANGE window all of them join their partitions' rows first, so each sees its
   * peers; in a ROWS window they join one at a time, each seeing the rows before it (peers in arrival order).
   */
  private emitPeers(peers: readonly { time: number; row: Row }[], out: Output): void {
    const t = peers[0]!.time;
    const failed = new Map<number, RowError>();
    const perWindow = this.windows.map((w, wi) => {
      const map = this.histories[wi]!;
      const keys = peers.map((p) => keyOf(w.partitionFns.map((f) => f(p.row))));
      const historyOf = (k: unknown): RangeRows => {
        let h = map.get(k);
        if (!h) {
          h = { times: [], rows: [], head: 0 };
          map.set(k, h);
        }
        return h;
      };
      const accs: (Acc[] | null)[] = new Array(peers.length).fill(null);
      if (w.aggs.length === 0) return accs;
      const aggregateFor = (pi: number, h: RangeRows) => {
        try {
          accs[pi] = this.aggregate(w, h, t);
        } catch (err) {
          if (!(err instanceof RowError)) throw err;
          failed.set(pi, err);
        }
      };
      if (w.rows !== null) {
        peers.forEach((p, pi) => {
          const h = historyOf(keys[pi]);
          h.times.push(t);
          h.rows.push(p.row);
          aggregateFor(pi, h);
        });
      } else {
        peers.forEach((p, pi) => {
          const h = historyOf(keys[pi]);
          h.times.push(t);
          h.rows.push(p.row);
        });
        const byKey = new Map<unknown, number>();
        peers.forEach((_p, pi) => {
          const first = byKey.get(keys[pi]);
          if (first === undefined) {
            byKey.set(keys[pi], pi);
            aggregateFor(pi, map.get(keys[pi])!);
          } else {
            accs[pi] = accs[first]!;
            if (failed.has(first)) failed.set(pi, failed.get(first)!);
          }
        });
      }
      return accs;
    });
    peers.forEach((p, pi) => {
      const err = failed.get(pi);
      if (err) {
        out.error(err.errorName, err.message, p.row);
        return;
      }
      const result: Row = p.row.slice();
      try {
        this.windows.forEach((w, wi) => {
          const accs = perWindow[wi]![pi]!;
          w.aggs.forEach((a, ai) => result.push(a.result(accs[ai]!)));
          const lags = this.lagBuffers[wi]!;
          if (lags.length > 0) {
            const k = keyOf(w.partitionFns.map((f) => f(p.row)));
            for (const l of lags) result.push(l.take(k, t, p.row));
          }
        });
        out.emit(result);
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        out.error(e.errorName, e.message, p.row);
      }
    });
  }

  /** Drops the partition's rows that left the range of time `t`, then aggregates the rest. */
  private aggregate(w: OverWindow, h: RangeRows, t: number): Acc[] {
    dropOutOfRange(w, h, t);
    const accs = w.aggs.map((a) => a.create());
    for (let i = h.head; i < h.rows.length; i++) w.aggs.forEach((a, ai) => a.add(accs[ai]!, h.rows[i]!, t - h.times[i]!));
    return accs;
  }

  handleCheckpoint(): unknown {
    return {
      ...this.held.snapshot(),
      histories: this.histories.map((m) => [...m.entries()].map(([key, h]) => ({ key, times: h.times.slice(h.head), rows: h.rows.slice(h.head) }))),
      lags: this.lagBuffers.map((ls) => ls.map((l) => l.snapshot())),
    };
  }

  restoreState(state: unknown): void {
    const s = state as { doneBefore: unknown; pending: [number, Row][]; histories: { key: unknown; times: number[]; rows: Row[] }[][]; lags?: unknown[][] };
    this.held.restore(s);
    s.histories.forEach((entries, i) => {
      for (const e of entries) this.histories[i]!.set(e.key, { times: e.times, rows: e.rows, head: 0 });
    });
    s.lags?.forEach((ls, wi) => ls.forEach((l, li) => this.lagBuffers[wi]![li]!.restore(l)));
  }

  handleEnd(): void {}
}

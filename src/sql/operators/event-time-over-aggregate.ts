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
import { TollstreamError } from '../../core/errors.ts';
import type { EntryKey, KeyedSection, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { HeldRows } from './held-rows.ts';
import type { LagBuffer } from './lag-buffer.ts';
import type { OverWindow, RangeRows } from './over-aggregate.ts';
import { dropOutOfRange, lagBuffers } from './over-aggregate.ts';

/** A partition's rows, with what an incremental checkpoint needs to report it when it changed. */
interface History extends RangeRows {
  readonly key: EntryKey;
  /** Rows joined it since the last checkpoint (it is in `changedHistories`). */
  changed: boolean;
}

/** A partition's rows as a checkpoint keeps them: those still in range when it was taken. */
interface StoredHistory {
  readonly times: number[];
  readonly rows: Row[];
}

/** Section names of the keyed state: the held rows, each window's partitions, each LAG's partitions. */
const HELD = 'held';
const historySection = (wi: number) => `rows:${wi}`;
const lagSection = (wi: number, li: number) => `lag:${wi}:${li}`;

export class EventTimeOverAggregateOperator implements Operator {
  /** Rows waiting for the watermark to pass their time. */
  private readonly held: HeldRows;
  private readonly histories: Map<unknown, History>[];
  /** Per window, the partitions rows joined since the last checkpoint, each once. */
  private changedHistories: History[][];
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
    this.changedHistories = windows.map(() => []);
    this.lagBuffers = lagBuffers(windows, true);
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
      const changed = this.changedHistories[wi]!;
      const keys = peers.map((p) => keyOf(w.partitionFns.map((f) => f(p.row))));
      // The partition a row is about to join: it changes.
      const historyOf = (k: EntryKey): History => {
        let h = map.get(k);
        if (!h) {
          h = { key: k, times: [], rows: [], head: 0, changed: false };
          map.set(k, h);
        }
        if (!h.changed) {
          h.changed = true;
          changed.push(h);
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
          const h = historyOf(keys[pi]!);
          h.times.push(t);
          h.rows.push(p.row);
          aggregateFor(pi, h);
        });
      } else {
        peers.forEach((p, pi) => {
          const h = historyOf(keys[pi]!);
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

  /**
   * Incremental (see runtime/keyed-state.ts): the rows held since the last checkpoint and those released,
   * the partitions rows joined (with their rows still in range), and the LAG partitions taken from. A
   * partition no row joined is as the last checkpoint left it: rows leave its range only when one joins.
   */
  handleCheckpoint(): KeyedState {
    const held = this.held.takeChanges();
    const sections: KeyedSection[] = [];
    if (held.set.length > 0 || held.removed.length > 0) sections.push({ name: HELD, set: held.set, removed: held.removed });
    this.changedHistories.forEach((changed, wi) => {
      if (changed.length === 0) return;
      const set = new Array<[EntryKey, StoredHistory]>(changed.length);
      for (let i = 0; i < changed.length; i++) {
        const h = changed[i]!;
        h.changed = false;
        set[i] = [h.key, { times: h.times.slice(h.head), rows: h.rows.slice(h.head) }];
      }
      this.changedHistories[wi] = [];
      sections.push({ name: historySection(wi), set, removed: [] });
    });
    this.lagBuffers.forEach((ls, wi) =>
      ls.forEach((l, li) => {
        const set = l.takeChanges();
        if (set.length > 0) sections.push({ name: lagSection(wi, li), set, removed: [] });
      }),
    );
    return { keyed: 1, meta: { doneBefore: this.held.releasedBefore }, dropped: [], sections };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return this.restoreWholeState(state);
    const meta = state.meta as { doneBefore: unknown };
    const sections = new Map(state.sections.map((s) => [s.name, s.set]));
    this.held.restoreChanges(meta.doneBefore, sections.get(HELD) ?? []);
    sections.delete(HELD);
    this.windows.forEach((w, wi) => {
      const name = historySection(wi);
      for (const [key, value] of sections.get(name) ?? []) {
        const stored = value as StoredHistory;
        this.histories[wi]!.set(key, { key, times: stored.times, rows: stored.rows, head: 0, changed: false });
      }
      sections.delete(name);
      w.lags.forEach((_l, li) => {
        const lag = lagSection(wi, li);
        this.lagBuffers[wi]![li]!.restoreChanges(sections.get(lag) ?? []);
        sections.delete(lag);
      });
    });
    const [stray] = sections.keys();
    if (stray !== undefined) {
      throw new TollstreamError('STATE_CORRUPT', `a checkpoint of ${this.description} holds a part '${String(stray)}' this query's OVER windows do not have: it was written by another query`, {
        context: { operator: this.description, section: stray },
      });
    }
  }

  /** A checkpoint written before incremental checkpoints, every part whole: all of it counts as changed. */
  private restoreWholeState(state: unknown): void {
    const s = state as { doneBefore: unknown; pending: [number, Row][]; histories: { key: EntryKey; times: number[]; rows: Row[] }[][]; lags?: unknown[][] };
    this.held.restore(s);
    s.histories.forEach((entries, i) => {
      for (const e of entries) {
        const h: History = { key: e.key, times: e.times, rows: e.rows, head: 0, changed: true };
        this.histories[i]!.set(e.key, h);
        this.changedHistories[i]!.push(h);
      }
    });
    s.lags?.forEach((ls, wi) => ls.forEach((l, li) => this.lagBuffers[wi]![li]!.restore(l)));
  }

  handleEnd(): void {}
}

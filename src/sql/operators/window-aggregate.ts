/**
 * GROUP BY over fixed windows (TUMBLE, HOP, CUMULATE; Kinesis STEP and FLOOR): one final row per window and
 * group, emitted when the watermark passes the window end (plus allowed lateness). A row whose every window
 * already closed is late and goes to the error stream.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import type { KeyedSection, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { restoredTime } from '../runtime/operator.ts';
import { GroupTable } from './group-table.ts';

/**
 * Calls `each(start, end)` for every window holding time `ts`. With a `period`, every time of one period
 * (the same `Math.floor(ts / period)`) is held by the same windows.
 */
export type WindowAssigner = ((ts: number, each: (start: number, end: number) => void) => void) & { readonly period?: number };

export function tumbling(size: number): WindowAssigner {
  const assign = (ts: number, each: (start: number, end: number) => void) => {
    const start = Math.floor(ts / size) * size;
    each(start, start + size);
  };
  return Object.assign(assign, { period: size });
}

export function hopping(slide: number, size: number): WindowAssigner {
  const assign = (ts: number, each: (start: number, end: number) => void) => {
    for (let start = Math.floor(ts / slide) * slide; start > ts - size; start -= slide) each(start, start + size);
  };
  // The windows change only at multiples of the slide when the size is one.
  return size % slide === 0 ? Object.assign(assign, { period: slide }) : assign;
}

export function cumulating(step: number, max: number): WindowAssigner {
  const assign = (ts: number, each: (start: number, end: number) => void) => {
    const start = Math.floor(ts / max) * max;
    for (let end = start + Math.floor((ts - start) / step) * step + step; end <= start + max; end += step) each(start, end);
  };
  return max % step === 0 ? Object.assign(assign, { period: step }) : assign;
}

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  readonly table: GroupTable;
}

export class WindowAggregateOperator implements Operator {
  private readonly windows = new Map<number, OpenWindow>();
  private watermark = Number.NEGATIVE_INFINITY;
  /** Windows closed since the previous checkpoint (by end): a checkpoint drops them whole. */
  private closed: number[] = [];

  constructor(
    readonly description: string,
    private readonly assign: WindowAssigner,
    private readonly timeFn: CompiledFn,
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
    private readonly allowedLateness: number,
    /** The aggregates read the window's columns: each row gets window_start, window_end, window_time appended as it is placed. */
    private readonly withWindowColumns = false,
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    const closedBefore = this.watermark - this.allowedLateness;
    for (const row of rows) {
      try {
        this.processRow(row, closedBefore, out);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  /** The windows that took the row being placed: state of `place`, bound once instead of a closure per row. */
  private placedIn: OpenWindow[] = [];
  private closedBefore = Number.NEGATIVE_INFINITY;
  /**
   * The windows that took the previous row, and its period (see `WindowAssigner.period`): a row of the same
   * period goes to the same windows without assigning it again. Forgotten when a watermark closes windows.
   */
  private periodIndex = Number.NaN;
  private periodWindows: OpenWindow[] = [];

  private readonly place = (start: number, end: number): void => {
    if (end <= this.closedBefore) return;
    let w = this.windows.get(end);
    if (!w) {
      w = { start, end, table: new GroupTable(this.keyFns, this.aggs) };
      this.windows.set(end, w);
    }
    this.placedIn.push(w);
  };

  private addTo(w: OpenWindow, row: Row): void {
    if (this.withWindowColumns) {
      row = row.slice();
      row.push(w.start, w.end, w.end - 1);
    }
    const group = w.table.groupFor(row);
    w.table.add(group, row);
  }

  private processRow(row: Row, closedBefore: number, out: Output): void {
    const ts = this.timeFn(row);
    if (typeof ts !== 'number') {
      out.error('NULL_TIME', 'the row has no event time, so no window can hold it', row);
      return;
    }
    const period = this.assign.period;
    const index = period === undefined ? Number.NaN : Math.floor(ts / period);
    let windows = this.periodWindows;
    if (index !== this.periodIndex) {
      this.placedIn = [];
      this.closedBefore = closedBefore;
      this.assign(ts, this.place);
      windows = this.placedIn;
      this.periodWindows = windows;
      this.periodIndex = index;
    }
    for (let i = 0; i < windows.length; i++) this.addTo(windows[i]!, row);
    if (windows.length === 0) {
      out.error(
        'LATE_ROW',
        `event time ${formatTimestamp(ts)} is behind the watermark ${formatTimestamp(this.watermark)}: its window already closed. Raise the WATERMARK delay (or allowed lateness) if such rows are expected.`,
        row,
      );
    }
  }

  handleWatermark(time: number, out: Output): void {
    this.watermark = time;
    this.periodIndex = Number.NaN;
    const limit = time - this.allowedLateness;
    const due = [...this.windows.values()].filter((w) => w.end <= limit).sort((a, b) => a.end - b.end);
    for (const w of due) {
      this.windows.delete(w.end);
      this.closed.push(w.end);
      const extra = [w.start, w.end, w.end - 1, w.end];
      for (const g of w.table.groups.values()) out.emit(w.table.resultRow(g, extra));
    }
  }

  /** Incremental (see runtime/keyed-state.ts): one section per open window, holding its groups changed since the previous checkpoint. */
  handleCheckpoint(): KeyedState {
    const sections: KeyedSection[] = [];
    const bounds: { start: number; end: number }[] = [];
    for (const w of this.windows.values()) {
      bounds.push({ start: w.start, end: w.end });
      const set = w.table.takeChanges();
      if (set.length > 0) sections.push({ name: w.end, set, removed: [] });
    }
    const dropped = this.closed;
    this.closed = [];
    return { keyed: 1, meta: { watermark: this.watermark, windows: bounds }, dropped, sections };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return this.restoreWholeState(state);
    const meta = state.meta as { watermark: unknown; windows: { start: number; end: number }[] };
    this.watermark = restoredTime(meta.watermark);
    for (const w of meta.windows) this.windows.set(w.end, { start: w.start, end: w.end, table: new GroupTable(this.keyFns, this.aggs) });
    for (const section of state.sections) {
      const w = this.windows.get(section.name as number);
      if (!w) throw new TollstreamError('STATE_CORRUPT', `a checkpoint holds groups of a window ending at ${section.name} that it does not list as open`, { context: { window: section.name } });
      w.table.restore(section.set);
    }
  }

  /** A checkpoint written before incremental checkpoints: every window with every group. */
  private restoreWholeState(state: unknown): void {
    const s = state as { watermark: unknown; windows: { start: number; end: number; groups: Parameters<GroupTable['restore']>[0] }[] };
    this.watermark = restoredTime(s.watermark);
    for (const w of s.windows) {
      const table = new GroupTable(this.keyFns, this.aggs);
      table.restore(w.groups);
      this.windows.set(w.end, { start: w.start, end: w.end, table });
    }
  }

  handleEnd(): void {}
}

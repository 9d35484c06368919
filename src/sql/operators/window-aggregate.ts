/**
 * GROUP BY over fixed windows (TUMBLE, HOP, CUMULATE; Kinesis STEP and FLOOR): one final row per window and
 * group, emitted when the watermark passes the window end (plus allowed lateness). A row whose every window
 * already closed is late and goes to the error stream.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import type { KeyedSection, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { restoredTime } from '../runtime/operator.ts';
import { GroupTable } from './group-table.ts';
import type { PaneGroups } from './pane-groups.ts';
import { PaneGroupStore } from './pane-groups.ts';

/**
 * Calls `each(start, end)` for every window holding time `ts`. With a `period`, every time of one period
 * (the same `Math.floor(ts / period)`) is held by the same windows.
 */
export type WindowAssigner = ((ts: number, each: (start: number, end: number) => void) => void) & {
  readonly period?: number;
  /** A hop whose size is a multiple of its slide (and more than one): each window is the union of size / slide panes of one slide. */
  readonly panes?: { readonly slide: number; readonly size: number };
};

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
  if (size % slide !== 0) return assign;
  return size > slide ? Object.assign(assign, { period: slide, panes: { slide, size } }) : Object.assign(assign, { period: slide });
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
  /**
   * Panes instead of windows (`WindowAssigner.panes`), when every aggregate merges exactly and none reads the
   * window's columns: a row goes to one group of one pane instead of one group in each of size / slide
   * windows, and a window's result is its panes' groups merged when it closes. A hop of 10 s every 2 s
   * keeps a fifth of the groups and does a fifth of the lookups. Null: one group table per window.
   */
  private paneMode: { readonly slide: number; readonly size: number } | null;
  /** The panes' groups (in columns, see pane-groups.ts), and the open panes by end. */
  private readonly paneGroups: PaneGroupStore;
  private readonly panes = new Map<number, PaneGroups>();
  private pane: PaneGroups | null = null;
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
    /**
     * The select list after the aggregate, folded in when it only picks columns: output column k is column
     * `outputSlots[k]` of the result row (keys, aggregates, window_start, window_end, window_time, ROWTIME).
     * Null: the result row as it is.
     */
    private readonly outputSlots: readonly number[] | null = null,
  ) {
    this.paneMode = assign.panes && !withWindowColumns && aggs.every((a) => a.exactMerge === true) ? assign.panes : null;
    this.paneGroups = new PaneGroupStore(keyFns, aggs);
  }

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
    if (this.paneMode) return this.addToPane(row, ts, closedBefore, out);
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

  /** Pane mode: the row goes to its slide's pane, unless every window holding it closed. */
  private addToPane(row: Row, ts: number, closedBefore: number, out: Output): void {
    const { slide, size } = this.paneMode!;
    const index = Math.floor(ts / slide);
    let pane = this.pane;
    if (index !== this.periodIndex || pane === null) {
      // The last window holding the row ends at its slide's start plus the size.
      if (index * slide + size <= closedBefore) {
        this.periodIndex = Number.NaN;
        out.error(
          'LATE_ROW',
          `event time ${formatTimestamp(ts)} is behind the watermark ${formatTimestamp(this.watermark)}: its window already closed. Raise the WATERMARK delay (or allowed lateness) if such rows are expected.`,
          row,
        );
        return;
      }
      const end = (index + 1) * slide;
      pane = this.panes.get(end) ?? null;
      if (pane === null) {
        pane = this.paneGroups.newPane(end);
        this.panes.set(end, pane);
      }
      this.pane = pane;
      this.periodIndex = index;
    }
    this.paneGroups.add(pane, row);
  }

  /** Pane mode: emits the windows ending in (before, limit], oldest first, and drops the panes no open window holds. */
  private closePanes(before: number, limit: number, out: Output): void {
    const { slide, size } = this.paneMode!;
    const ends = new Set<number>();
    for (const p of this.panes.keys()) {
      // Pane [p - slide, p) is in the windows ending at p, p + slide, ... up to p + size - slide.
      for (let e = p; e < p + size; e += slide) if (e > before && e <= limit) ends.add(e);
    }
    const nk = this.keyFns.length;
    const width = nk + this.aggs.length + 4;
    const slots = this.outputSlots;
    // With a folded select list the full row is a scratch row, copied once into the selected columns.
    const scratch: Row | null = slots === null ? null : new Array<Value>(width);
    const inWindow: PaneGroups[] = [];
    for (const end of [...ends].sort((a, b) => a - b)) {
      inWindow.length = 0;
      for (let p = end - size + slide; p <= end; p += slide) {
        const pane = this.panes.get(p);
        if (pane) inWindow.push(pane);
      }
      // A key's groups of the window's panes merged, oldest pane first, in the order the keys were first seen.
      const merged = this.paneGroups.merge(inWindow);
      const start = end - size;
      for (let m = 0; m < merged.count; m++) {
        // Written at its final length: keys, aggregate results, window_start, window_end, window_time, ROWTIME.
        const row: Row = scratch ?? new Array<Value>(width);
        merged.write(m, row);
        row[width - 4] = start;
        row[width - 3] = end;
        row[width - 2] = end - 1;
        row[width - 1] = end;
        out.emit(slots === null ? row : pick(row, slots));
      }
    }
    for (const p of [...this.panes.keys()]) {
      if (p + size - slide > limit) continue;
      this.paneGroups.drop(this.panes.get(p)!);
      this.panes.delete(p);
      this.closed.push(p);
    }
    this.pane = null;
  }

  handleWatermark(time: number, out: Output): void {
    const before = this.watermark - this.allowedLateness;
    this.watermark = time;
    this.periodIndex = Number.NaN;
    const limit = time - this.allowedLateness;
    if (this.paneMode) return this.closePanes(before, limit, out);
    const due = [...this.windows.values()].filter((w) => w.end <= limit).sort((a, b) => a.end - b.end);
    for (const w of due) {
      this.windows.delete(w.end);
      this.closed.push(w.end);
      const extra = [w.start, w.end, w.end - 1, w.end];
      const slots = this.outputSlots;
      for (const g of w.table.groups.values()) {
        const row = w.table.resultRow(g, extra);
        out.emit(slots === null ? row : pick(row, slots));
      }
    }
  }

  /** Incremental (see runtime/keyed-state.ts): one section per open window, holding its groups changed since the previous checkpoint. */
  handleCheckpoint(): KeyedState {
    if (this.paneMode) {
      // One section per pane (by its end); `panes` in the meta tells this layout from the one per window.
      const sections: KeyedSection[] = [];
      const ends: number[] = [];
      for (const p of this.panes.values()) {
        ends.push(p.end);
        const set = this.paneGroups.takeChanges(p);
        if (set.length > 0) sections.push({ name: p.end, set, removed: [] });
      }
      const dropped = this.closed;
      this.closed = [];
      return { keyed: 1, meta: { watermark: this.watermark, panes: ends }, dropped, sections };
    }
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
    const meta = state.meta as { watermark: unknown; windows?: { start: number; end: number }[]; panes?: number[] };
    this.watermark = restoredTime(meta.watermark);
    if (meta.panes) return this.restorePanes(meta.panes, state.sections);
    // A checkpoint with a group table per window (written before panes, or by a query whose aggregates cannot
    // be combined): its open windows continue as they are, so this operator keeps to windows from here on.
    if (meta.windows!.length > 0) this.paneMode = null;
    this.restoreWindows(meta.windows!, state.sections);
  }

  private restorePanes(ends: readonly number[], sections: readonly KeyedSection[]): void {
    if (!this.paneMode) {
      throw new TollstreamError('STATE_CORRUPT', `a checkpoint of ${this.description} holds panes of a hop, but this query's windows are not combined from panes: it was written by another query`, {
        context: { operator: this.description },
      });
    }
    for (const end of ends) this.panes.set(end, this.paneGroups.newPane(end));
    for (const section of sections) {
      const pane = this.panes.get(section.name as number);
      if (!pane) throw new TollstreamError('STATE_CORRUPT', `a checkpoint holds groups of a pane ending at ${section.name} that it does not list`, { context: { pane: section.name } });
      this.paneGroups.restore(pane, section.set);
    }
  }

  private restoreWindows(windows: readonly { start: number; end: number }[], sections: readonly KeyedSection[]): void {
    for (const w of windows) this.windows.set(w.end, { start: w.start, end: w.end, table: new GroupTable(this.keyFns, this.aggs) });
    for (const section of sections) {
      const w = this.windows.get(section.name as number);
      if (!w) throw new TollstreamError('STATE_CORRUPT', `a checkpoint holds groups of a window ending at ${section.name} that it does not list as open`, { context: { window: section.name } });
      w.table.restore(section.set);
    }
  }

  /** A checkpoint written before incremental checkpoints: every window with every group. */
  private restoreWholeState(state: unknown): void {
    const s = state as { watermark: unknown; windows: { start: number; end: number; groups: Parameters<GroupTable['restore']>[0] }[] };
    this.watermark = restoredTime(s.watermark);
    if (s.windows.length > 0) this.paneMode = null;
    for (const w of s.windows) {
      const table = new GroupTable(this.keyFns, this.aggs);
      table.restore(w.groups);
      this.windows.set(w.end, { start: w.start, end: w.end, table });
    }
  }

  handleEnd(): void {}
}

/** The columns `slots` of `row`, in that order. */
function pick(row: Row, slots: readonly number[]): Row {
  const out: Row = new Array<Value>(slots.length);
  for (let i = 0; i < slots.length; i++) out[i] = row[slots[i]!]!;
  return out;
}

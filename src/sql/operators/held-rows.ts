/**
 * Rows that wait for the watermark: an operator that must see every row of an event time before it acts
 * (OVER windows in event-time order, temporal joins, deduplication and ORDER BY time) holds each row until
 * the watermark, less how far behind it the row's time can still come (`holdBack`), passes that time. A row
 * without a time, or with one the operator already passed, goes to the error stream (NULL_TIME, LATE_ROW).
 */
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import { restoredTime } from '../runtime/operator.ts';

export interface HeldRow {
  readonly time: number;
  readonly row: Row;
}

interface Held extends HeldRow {
  /** Arrival number: the entry key of an incremental checkpoint, and the order of rows of one time. */
  readonly id: number;
}

/** What `takeChanges` reports: rows held since the last call, and the ids of reported rows released since. */
export interface HeldRowChanges {
  readonly set: [EntryKey, [number, Row]][];
  readonly removed: number[];
}

export interface HeldRowsMessages {
  /** Why a row without a time is refused. */
  readonly noTime: string;
  /** Why a row behind the watermark is refused, given its time and the watermark. */
  readonly late: (time: string, watermark: string) => string;
}

export class HeldRows {
  /** In arrival order (ids ascending). */
  private pending: Held[] = [];
  /** Every row before this time has been released: a row that comes now with an earlier time is late. */
  private doneBefore = Number.NEGATIVE_INFINITY;
  private nextId = 0;
  /**
   * Rows with an id below this were reported by `takeChanges` (or restored from such a report): releasing one
   * is a removal the next report lists. 0 until the first report, so an operator that checkpoints its rows
   * whole (`snapshot`) never collects removals.
   */
  private reportedBelow = 0;
  private releasedIds: number[] = [];

  constructor(
    private readonly timeFn: CompiledFn,
    private readonly holdBack: number,
    private readonly messages: HeldRowsMessages,
  ) {}

  /** Holds each row until its time is released (a row whose time cannot be computed goes to the error stream). */
  holdAll(rows: readonly Row[], out: Output): void {
    for (const row of rows) {
      try {
        this.hold(row, out);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  /** Holds `row` until its time is released; a RowError of the time expression is the caller's. */
  hold(row: Row, out: Output): void {
    const t = this.timeFn(row);
    if (typeof t !== 'number') {
      out.error('NULL_TIME', this.messages.noTime, row);
      return;
    }
    if (t < this.doneBefore) {
      out.error('LATE_ROW', this.messages.late(formatTimestamp(t), formatTimestamp(this.doneBefore + this.holdBack)), row);
      return;
    }
    this.pending.push({ time: t, row, id: this.nextId++ });
  }

  /** The rows the watermark `time` releases, in time order (rows of one time in the order they came). */
  release(time: number): HeldRow[] {
    const limit = time - this.holdBack;
    if (limit <= this.doneBefore) return [];
    this.doneBefore = limit;
    const due: HeldRow[] = [];
    const waiting: Held[] = [];
    const reported = this.reportedBelow;
    for (const p of this.pending) {
      if (p.time >= limit) waiting.push(p);
      else {
        due.push(p);
        if (p.id < reported) this.releasedIds.push(p.id);
      }
    }
    this.pending = waiting;
    return due.sort((a, b) => a.time - b.time);
  }

  /** Every row before this time has been released. */
  get releasedBefore(): number {
    return this.doneBefore;
  }

  snapshot(): { doneBefore: number; pending: [number, Row][] } {
    return { doneBefore: this.doneBefore, pending: this.pending.map((p) => [p.time, p.row]) };
  }

  /** Every row held, whole; after it, `takeChanges` reports every row again. */
  restore(state: { doneBefore: unknown; pending: [number, Row][] }): void {
    this.doneBefore = restoredTime(state.doneBefore);
    this.pending = state.pending.map(([time, row], id) => ({ time, row, id }));
    this.nextId = this.pending.length;
    this.reportedBelow = 0;
  }

  /**
   * For an incremental checkpoint (runtime/keyed-state.ts): the rows held since the last call, by id, and the
   * ids of rows reported before and released since. A row held and released between two calls is in neither.
   */
  takeChanges(): HeldRowChanges {
    const set: [EntryKey, [number, Row]][] = [];
    // Pending is in id order: the rows not reported yet are at its end.
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.id >= this.reportedBelow) i--;
    for (; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      set.push([p.id, [p.time, p.row]]);
    }
    const removed = this.releasedIds;
    this.releasedIds = [];
    this.reportedBelow = this.nextId;
    return { set, removed };
  }

  /** Takes back what `takeChanges` reported, merged (entries of any order); they count as reported. */
  restoreChanges(doneBefore: unknown, entries: Iterable<readonly [EntryKey, unknown]>): void {
    this.doneBefore = restoredTime(doneBefore);
    const pending: Held[] = [];
    for (const [id, value] of entries) {
      const [time, row] = value as [number, Row];
      pending.push({ time, row, id: id as number });
    }
    pending.sort((a, b) => a.id - b.id);
    this.pending = pending;
    this.nextId = pending.length === 0 ? 0 : pending[pending.length - 1]!.id + 1;
    this.reportedBelow = this.nextId;
  }
}

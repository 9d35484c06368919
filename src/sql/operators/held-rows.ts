/**
 * Rows that wait for the watermark: an operator that must see every row of an event time before it acts
 * (OVER windows in event-time order, temporal joins, deduplication and ORDER BY time) holds each row until
 * the watermark, less how far behind it the row's time can still come (`holdBack`), passes that time. A row
 * without a time, or with one the operator already passed, goes to the error stream (NULL_TIME, LATE_ROW).
 */
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import type { Output } from '../runtime/operator.ts';
import { restoredTime } from '../runtime/operator.ts';

export interface HeldRow {
  readonly time: number;
  readonly row: Row;
}

export interface HeldRowsMessages {
  /** Why a row without a time is refused. */
  readonly noTime: string;
  /** Why a row behind the watermark is refused, given its time and the watermark. */
  readonly late: (time: string, watermark: string) => string;
}

export class HeldRows {
  private pending: HeldRow[] = [];
  /** Every row before this time has been released: a row that comes now with an earlier time is late. */
  private doneBefore = Number.NEGATIVE_INFINITY;

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
    this.pending.push({ time: t, row });
  }

  /** The rows the watermark `time` releases, in time order (rows of one time in the order they came). */
  release(time: number): HeldRow[] {
    const limit = time - this.holdBack;
    if (limit <= this.doneBefore) return [];
    this.doneBefore = limit;
    const due: HeldRow[] = [];
    const waiting: HeldRow[] = [];
    for (const p of this.pending) (p.time < limit ? due : waiting).push(p);
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

  restore(state: { doneBefore: unknown; pending: [number, Row][] }): void {
    this.doneBefore = restoredTime(state.doneBefore);
    this.pending = state.pending.map(([time, row]) => ({ time, row }));
  }
}

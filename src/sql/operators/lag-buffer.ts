/**
 * The rows LAG can still reach, per partition of one OVER window: the last `offset` rows (with IGNORE NULLS
 * the last `offset` rows whose value is not NULL), each with its time and its position in the partition,
 * so a row the window's frame no longer holds (older than the range, or more rows back than ROWS n) gives
 * the default. Rows are fed in the window's order, one at a time, so rows of the same time are told apart
 * by the order they came in.
 */
import type { CompiledLag } from '../expr/lag.ts';
import type { Row, Value } from '../expr/types.ts';

/** True when a row at `time`, `rowsBack` rows before the current row at `t`, is in the current row's frame. */
export type FrameTest = (time: number, rowsBack: number, t: number) => boolean;

interface Partition {
  /** The position the next row of the partition gets. */
  next: number;
  /** [time, position, value], oldest first, at most `offset` of them. */
  entries: [number, number, Value][];
}

export class LagBuffer {
  private readonly partitions = new Map<unknown, Partition>();

  constructor(
    readonly lag: CompiledLag,
    private readonly inFrame: FrameTest,
  ) {}

  /** The LAG of `row` (at time `t`, of partition `key`); then the row joins its partition. */
  take(key: unknown, t: number, row: Row): Value {
    const { offset, ignoreNulls } = this.lag;
    const v = this.lag.value(row);
    let p = this.partitions.get(key);
    if (!p) {
      p = { next: 0, entries: [] };
      this.partitions.set(key, p);
    }
    const position = p.next++;
    let result: Value;
    if (offset === 0) result = v;
    else {
      const e = p.entries.length >= offset ? p.entries[p.entries.length - offset]! : null;
      result = e !== null && this.inFrame(e[0], position - e[1], t) ? e[2] : this.lag.fallback(row);
    }
    if (offset > 0 && !(ignoreNulls && v === null)) {
      p.entries.push([t, position, v]);
      if (p.entries.length > offset) p.entries.shift();
    }
    return result;
  }

  snapshot(): unknown {
    return [...this.partitions].map(([key, p]) => ({ key, next: p.next, entries: p.entries }));
  }

  restore(state: unknown): void {
    for (const s of state as { key: unknown; next: number; entries: [number, number, Value][] }[]) this.partitions.set(s.key, { next: s.next, entries: s.entries });
  }
}

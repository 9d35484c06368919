/**
 * The set operations that can run on streams without taking rows back.
 *
 * `a INTERSECT [ALL] b` on streams: a row leaves once both inputs have brought it (its visible columns equal),
 * at the moment the second one does, with that row's ROWTIME; with ALL, the n-th copy leaves once both
 * inputs have brought it n times. Rows never leave and come back, so the output is append-only. The counts
 * per distinct row are kept for as long as the query runs (and in checkpoints).
 */
import type { Row, Value } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';

/** How often each input brought a row, and how often it left. */
interface Seen {
  left: number;
  right: number;
  sent: number;
}

type Key = ReturnType<typeof keyOf>;

export class IntersectOperator implements Operator {
  private seen = new Map<Key, Seen>();

  constructor(
    readonly description: string,
    private readonly all: boolean,
    /** The visible columns, which decide whether two rows are the same (ROWTIME after them does not). */
    private readonly width: number,
  ) {}

  processBatch(rows: readonly Row[], input: number, out: Output): void {
    for (const row of rows) {
      const key = keyOf(row.slice(0, this.width));
      let s = this.seen.get(key);
      if (!s) this.seen.set(key, (s = { left: 0, right: 0, sent: 0 }));
      if (input === 0) s.left++;
      else s.right++;
      const due = this.all ? Math.min(s.left, s.right) : s.left > 0 && s.right > 0 ? 1 : 0;
      for (; s.sent < due; s.sent++) out.emit(row);
    }
  }

  handleWatermark(): void {}

  handleCheckpoint(): unknown {
    return { seen: [...this.seen] };
  }

  restoreState(state: unknown): void {
    this.seen = new Map((state as { seen: [Key, Seen][] }).seen.map(([k, s]) => [k, { ...s }]));
  }

  handleEnd(): void {}
}

/**
 * `a EXCEPT [ALL] b` where b is constant rows, known when the query is planned: a row of a leaves the first
 * time it comes if b does not have it; with ALL, its n-th copy leaves if b has fewer than n. So the output
 * is append-only, and only a's counts per distinct row are kept (in checkpoints too).
 */
export class ExceptOperator implements Operator {
  private readonly taken = new Map<Key, number>();
  private seen = new Map<Key, number>();

  constructor(
    readonly description: string,
    private readonly all: boolean,
    private readonly width: number,
    rows: readonly (readonly Value[])[],
  ) {
    for (const r of rows) {
      const key = keyOf(r.slice(0, width));
      this.taken.set(key, (this.taken.get(key) ?? 0) + 1);
    }
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const key = keyOf(row.slice(0, this.width));
      const n = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, n);
      const taken = this.taken.get(key) ?? 0;
      if (this.all ? n > taken : n === 1 && taken === 0) out.emit(row);
    }
  }

  handleWatermark(): void {}

  handleCheckpoint(): unknown {
    return { seen: [...this.seen] };
  }

  restoreState(state: unknown): void {
    this.seen = new Map((state as { seen: [Key, number][] }).seen);
  }

  handleEnd(): void {}
}

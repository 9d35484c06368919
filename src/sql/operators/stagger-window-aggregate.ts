/**
 * Kinesis Analytics `WINDOWED BY STAGGER (PARTITION BY keys RANGE interval)`: a key's window opens at the
 * ROWTIME of its first row and closes `range` later; the row for it is emitted when the watermark passes
 * the close. A row after the close opens the key's next window, so no row is late here.
 */
import type { CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { Acc } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';

interface StaggerWindow {
  readonly keys: Value[];
  readonly opened: number;
  readonly accs: Acc[];
}

export class StaggerWindowAggregateOperator implements Operator {
  private readonly open = new Map<unknown, StaggerWindow>();

  constructor(
    readonly description: string,
    private readonly range: number,
    private readonly rowtimeFn: CompiledFn,
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      try {
        const t = this.rowtimeFn(row);
        if (typeof t !== 'number') {
          out.error('NULL_TIME', 'the row has no ROWTIME', row);
          continue;
        }
        const keys = this.keyFns.map((f) => f(row));
        const k = keyOf(keys);
        let w = this.open.get(k);
        if (w && t >= w.opened + this.range) {
          this.emit(w, out);
          w = undefined;
        }
        if (!w) {
          w = { keys, opened: t, accs: this.aggs.map((a) => a.create()) };
          this.open.set(k, w);
        }
        for (let i = 0; i < this.aggs.length; i++) this.aggs[i]!.add(w.accs[i]!, row);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  private emit(w: StaggerWindow, out: Output): void {
    const row: Row = w.keys.slice();
    for (let i = 0; i < this.aggs.length; i++) row.push(this.aggs[i]!.result(w.accs[i]!));
    const close = w.opened + this.range;
    row.push(w.opened, close, close - 1, close);
    out.emit(row);
  }

  handleWatermark(time: number, out: Output): void {
    const due = [...this.open.entries()].filter(([, w]) => w.opened + this.range <= time).sort((a, b) => a[1].opened - b[1].opened);
    for (const [k, w] of due) {
      this.open.delete(k);
      this.emit(w, out);
    }
  }

  handleCheckpoint(): unknown {
    return [...this.open.values()].map((w) => ({ keys: w.keys, opened: w.opened, accs: snapshotAccs(w.accs) }));
  }

  restoreState(state: unknown): void {
    for (const w of state as { keys: Value[]; opened: number; accs: unknown }[]) {
      this.open.set(keyOf(w.keys), { keys: w.keys, opened: w.opened, accs: restoreAccs(w.accs) });
    }
  }

  handleEnd(): void {}
}

/**
 * Kinesis Analytics `GROUP BY MONOTONIC(e), ...`: the query declares that `e` never turns back (the values
 * of e come in runs, ascending or descending), so the groups of one value of e are complete when a row with
 * another value arrives. They are emitted then, with that row's ROWTIME (the time they became complete),
 * and the groups still open are emitted when the input ends. The declaration is trusted, as the reference
 * says: a value of e that comes back starts new groups.
 */
import type { CompiledAggregate } from '../expr/aggregates.ts';
import { snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { GroupTable } from './group-table.ts';

export class MonotonicGroupAggregateOperator implements Operator {
  private table: GroupTable;
  /** The key (keyOf) of the monotonic value of the open groups; undefined before the first row. */
  private current: unknown = undefined;
  private lastRowtime: Value = null;

  constructor(
    readonly description: string,
    private readonly keyFns: readonly CompiledFn[],
    /** Which of `keyFns` is the expression declared MONOTONIC. */
    private readonly monotonicKey: number,
    private readonly aggs: readonly CompiledAggregate[],
    private readonly rowtimeFn: CompiledFn,
  ) {
    this.table = new GroupTable(keyFns, aggs);
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      try {
        const rowtime = this.rowtimeFn(row);
        const k = keyOf([this.keyFns[this.monotonicKey]!(row)]);
        if (this.current !== undefined && k !== this.current) this.flush(rowtime, out);
        this.current = k;
        this.lastRowtime = rowtime;
        this.table.add(this.table.groupFor(row), row);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  /** Emits every open group (in the order they opened) with `rowtime`, and starts an empty table. */
  private flush(rowtime: Value, out: Output): void {
    for (const group of this.table.groups.values()) out.emit(this.table.resultRow(group, [rowtime]));
    this.table = new GroupTable(this.keyFns, this.aggs);
  }

  handleWatermark(): void {}

  /** The open groups, whole: they are few (those of one value of the monotonic expression). */
  handleCheckpoint(): unknown {
    this.table.takeChanges();
    const groups = [...this.table.groups.values()].map((g) => [g.key, { keys: g.keys, accs: snapshotAccs(g.accs) }]);
    return { started: this.current !== undefined, current: this.current ?? null, lastRowtime: this.lastRowtime, groups };
  }

  restoreState(state: unknown): void {
    const s = state as { started: boolean; current: unknown; lastRowtime: Value; groups: Parameters<GroupTable['restore']>[0] };
    this.current = s.started ? s.current : undefined;
    this.lastRowtime = s.lastRowtime;
    this.table.restore(s.groups);
  }

  handleEnd(out: Output): void {
    if (this.current !== undefined) this.flush(this.lastRowtime, out);
  }
}

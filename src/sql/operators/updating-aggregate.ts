/**
 * GROUP BY without a window: the result changes with every row, so each row that changes a group emits the
 * group's updated row (an upsert stream keyed by the group keys). DISTINCT without aggregates emits only
 * the first row of each group.
 */
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { GroupTable } from './group-table.ts';

export class UpdatingAggregateOperator implements Operator {
  private readonly table: GroupTable;

  constructor(
    readonly description: string,
    keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
    private readonly rowtimeFn: CompiledFn,
  ) {
    this.table = new GroupTable(keyFns, aggs);
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    const onlyNew = this.aggs.length === 0;
    for (const row of rows) {
      try {
        const { group, isNew } = this.table.groupOf(row);
        this.table.add(group, row);
        if (onlyNew && !isNew) continue;
        out.emit(this.table.resultRow(group, [this.rowtimeFn(row)]));
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(): void {}
  /** The groups changed since the previous checkpoint (incremental: see runtime/keyed-state.ts). */
  handleCheckpoint(): KeyedState {
    return { keyed: 1, meta: null, dropped: [], sections: [{ name: 0, set: this.table.takeChanges(), removed: [] }] };
  }
  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return this.table.restore(state as Parameters<GroupTable['restore']>[0]);
    for (const section of state.sections) this.table.restore(section.set);
  }
  handleEnd(): void {}
}

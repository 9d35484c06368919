/**
 * Stream-to-table join against reference data: each stream row probes a hash index on the equality keys;
 * LEFT JOIN keeps unmatched rows with NULLs; SEMI (IN, EXISTS) emits a stream row once if it matches, ANTI
 * (NOT EXISTS) if it does not, both without the table's columns. The table may change while the query runs (a reloaded file, a
 * changelog stream): the index is rebuilt when its version moves, so a row is joined with the table as it
 * is when the row is processed (processing-time lookup). Where every table key is a plain column the index
 * is a `RowIndex` over the table's columns (or the changelog table's own index on its key, kept current as
 * records arrive, so nothing is rebuilt); otherwise the keys are computed per row into a map.
 */
import type { ColumnarRows } from '../columnar-rows.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { ReferenceTable } from '../reference-table.ts';
import { RowIndex } from '../row-index.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE, keyOf } from '../runtime/operator.ts';

export class LookupJoinOperator implements Operator {
  private data: ColumnarRows | null = null;
  private index: RowIndex | null = null;
  /** Slots by key, where a table key is an expression rather than a column. */
  private computed = new Map<unknown, number[]>();
  private indexedVersion = -1;
  private readonly keys: Value[];

  constructor(
    readonly description: string,
    private readonly table: ReferenceTable,
    private readonly tableKeyFns: readonly CompiledFn[],
    private readonly streamKeyFns: readonly CompiledFn[],
    private readonly tableWidth: number,
    /** The full ON condition over the joined row (stream columns, then table columns). */
    private readonly condition: ((row: Row) => boolean) | null,
    private readonly mode: 'INNER' | 'LEFT' | 'SEMI' | 'ANTI',
    /** The table column each table key reads, or null when a key is an expression. */
    private readonly tableKeyColumns: readonly number[] | null = null,
  ) {
    this.keys = streamKeyFns.map(() => null);
  }

  private refreshIndex(): void {
    const version = this.table.version;
    if (version === this.indexedVersion && this.data !== null) return;
    const data = this.table.data();
    this.data = data;
    this.indexedVersion = version;
    if (this.tableKeyColumns !== null) {
      this.index = this.table.keyIndex?.(this.tableKeyColumns) ?? RowIndex.build(data, this.tableKeyColumns);
      return;
    }
    const computed = new Map<unknown, number[]>();
    for (let s = 0; s < data.slots; s++) {
      if (!data.isLive(s)) continue;
      const r = data.row(s);
      const keys = this.tableKeyFns.map((f) => f(r));
      if (keys.includes(null)) continue;
      const k = keyOf(keys);
      const list = computed.get(k);
      if (list) list.push(s);
      else computed.set(k, [s]);
    }
    this.computed = computed;
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.refreshIndex();
    for (const row of rows) {
      try {
        const keys = this.keys;
        let hasNull = false;
        for (let i = 0; i < keys.length; i++) {
          keys[i] = this.streamKeyFns[i]!(row);
          if (keys[i] === null) hasNull = true;
        }
        const mode = this.mode;
        let matched = false;
        if (!hasNull) {
          const index = this.index;
          if (index !== null) {
            for (let t = index.first(keys); t !== -1; t = index.following(t, keys)) {
              if (this.matches(row, t, out)) {
                matched = true;
                if (mode === 'SEMI' || mode === 'ANTI') break;
              }
            }
          } else {
            for (const t of this.computed.get(keyOf(keys)) ?? []) {
              if (this.matches(row, t, out)) {
                matched = true;
                if (mode === 'SEMI' || mode === 'ANTI') break;
              }
            }
          }
        }
        if (matched ? mode === 'SEMI' : mode === 'ANTI') out.emit(row);
        else if (!matched && mode === 'LEFT') out.emit(this.join(row, null));
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  /** Whether the table row at `slot` passes the condition; an inner or left join emits the joined row. */
  private matches(row: Row, slot: number, out: Output): boolean {
    const joined = this.join(row, slot);
    if (this.condition !== null && !this.condition(joined)) return false;
    if (this.mode === 'INNER' || this.mode === 'LEFT') out.emit(joined);
    return true;
  }

  private join(streamRow: Row, slot: number | null): Row {
    const out = streamRow.slice();
    if (slot !== null) this.data!.appendRow(slot, out);
    else for (let i = 0; i < this.tableWidth; i++) out.push(null);
    return out;
  }

  handleWatermark(): void {}
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(): void {}
}

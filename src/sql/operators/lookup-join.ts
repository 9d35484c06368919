/**
 * Stream-to-table join against reference data: each stream row probes a hash index on the equality keys;
 * LEFT JOIN keeps unmatched rows with NULLs; SEMI (IN, EXISTS) emits a stream row once if it matches, ANTI
 * (NOT EXISTS) if it does not, both without the table's columns. The table may change while the query runs (a reloaded file, a
 * changelog stream): the index is rebuilt when its version moves, so a row is joined with the table as it
 * is when the row is processed (processing-time lookup).
 */
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { ReferenceTable } from '../reference-table.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE, keyOf } from '../runtime/operator.ts';

export class LookupJoinOperator implements Operator {
  private index = new Map<unknown, Row[]>();
  private indexedVersion = -1;

  constructor(
    readonly description: string,
    private readonly table: ReferenceTable,
    private readonly tableKeyFns: readonly CompiledFn[],
    private readonly streamKeyFns: readonly CompiledFn[],
    private readonly tableWidth: number,
    /** The full ON condition over the joined row (stream columns, then table columns). */
    private readonly condition: ((row: Row) => boolean) | null,
    private readonly mode: 'INNER' | 'LEFT' | 'SEMI' | 'ANTI',
  ) {}

  private refreshIndex(): void {
    const version = this.table.version;
    if (version === this.indexedVersion) return;
    const index = new Map<unknown, Row[]>();
    for (const r of this.table.rows()) {
      const keys = this.tableKeyFns.map((f) => f(r));
      if (keys.includes(null)) continue;
      const k = keyOf(keys);
      const list = index.get(k);
      if (list) list.push(r);
      else index.set(k, [r]);
    }
    this.index = index;
    this.indexedVersion = version;
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.refreshIndex();
    for (const row of rows) {
      try {
        const keys: Value[] = this.streamKeyFns.map((f) => f(row));
        const matches = keys.includes(null) ? undefined : this.index.get(keyOf(keys));
        const mode = this.mode;
        let matched = false;
        if (matches) {
          for (const t of matches) {
            const joined = this.join(row, t);
            if (this.condition === null || this.condition(joined)) {
              matched = true;
              if (mode === 'SEMI' || mode === 'ANTI') break;
              out.emit(joined);
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

  private join(streamRow: Row, tableRow: Row | null): Row {
    const out = streamRow.slice();
    if (tableRow) for (const v of tableRow) out.push(v);
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

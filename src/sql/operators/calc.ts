/** Filter and projection fused: a predicate, then the select list, both compiled closures. */
import type { CompiledFn, Row, WatermarkCell } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { NO_STATE } from '../runtime/operator.ts';

export class CalcOperator implements Operator {
  private readonly project: ((row: Row) => Row) | null;

  constructor(
    readonly description: string,
    private readonly predicate: ((row: Row) => boolean) | null,
    projections: readonly CompiledFn[] | null,
    /** Written on each watermark, for CURRENT_WATERMARK in the predicate and projections. */
    private readonly watermark: WatermarkCell | null = null,
  ) {
    this.project = projections ? projector(projections) : null;
    if (watermark !== null) watermark.current = null;
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    const pred = this.predicate;
    const project = this.project;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      try {
        if (pred !== null && !pred(row)) continue;
        out.emit(project === null ? row : project(row));
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(time: number): void {
    if (this.watermark !== null && Number.isFinite(time)) this.watermark.current = time;
  }
  handleCheckpoint(): unknown {
    return NO_STATE;
  }
  restoreState(): void {}
  handleEnd(): void {}
}

export function projector(fns: readonly CompiledFn[]): (row: Row) => Row {
  const n = fns.length;
  if (n === 1) {
    const [a] = fns as [CompiledFn];
    return (row) => [a(row)];
  }
  if (n === 2) {
    const [a, b] = fns as [CompiledFn, CompiledFn];
    return (row) => [a(row), b(row)];
  }
  if (n === 3) {
    const [a, b, c] = fns as [CompiledFn, CompiledFn, CompiledFn];
    return (row) => [a(row), b(row), c(row)];
  }
  return (row) => {
    const out: Row = new Array(n);
    for (let i = 0; i < n; i++) out[i] = fns[i]!(row);
    return out;
  };
}

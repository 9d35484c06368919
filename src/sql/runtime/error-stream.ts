/**
 * The error stream, shaped like Kinesis Data Analytics' `error_stream`: rows that could not be processed
 * (late, unparsable, failed expression) with why. Nothing is dropped silently; each kind is counted.
 */
export interface ErrorRow {
  readonly ERROR_TIME: string;
  readonly ERROR_LEVEL: 'ERROR';
  readonly ERROR_NAME: string;
  readonly MESSAGE: string;
  /** The row as JSON text. */
  readonly DATA_ROW: string;
  /** The pump (or INSERT target) the row was flowing through; null for a source. */
  readonly PUMP_NAME: string | null;
}

export const ERROR_STREAM = 'error_stream';

export class ErrorStream {
  readonly rows: ErrorRow[] = [];
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly now: () => number,
    private readonly listener?: (row: ErrorRow) => void,
    /** Keep the rows in `rows` (a bounded run); a live run passes them on only. */
    private readonly keep = true,
  ) {}

  add(errorName: string, message: string, dataRow: unknown, pumpName: string | null): void {
    const row: ErrorRow = {
      ERROR_TIME: new Date(this.now()).toISOString(),
      ERROR_LEVEL: 'ERROR',
      ERROR_NAME: errorName,
      MESSAGE: message,
      DATA_ROW: JSON.stringify(dataRow),
      PUMP_NAME: pumpName,
    };
    this.counts[errorName] = (this.counts[errorName] ?? 0) + 1;
    if (this.keep) this.rows.push(row);
    this.listener?.(row);
  }
}

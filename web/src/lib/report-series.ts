/**
 * One chartable series out of a result table: x is the first time column (else the first text column as
 * categories), y is the sum of the last numeric column per x. Plain TypeScript, tested under Node.
 */

export interface Column {
  readonly name: string;
  readonly type: string;
}

export interface Series {
  /** Epoch seconds for a time axis; 0..n-1 for categories. */
  readonly x: number[];
  readonly y: number[];
  readonly xName: string;
  readonly yName: string;
  readonly time: boolean;
  /** The category of each x, when not a time axis. */
  readonly categories: string[];
}

const TIME_TYPE = /TIMESTAMP|DATE/i;
const NUMERIC_TYPE = /INT|DECIMAL|DOUBLE|FLOAT|REAL|NUMERIC|HUGEINT/i;

export function seriesOf(columns: readonly Column[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Series | undefined {
  const timeIndex = columns.findIndex((c) => TIME_TYPE.test(c.type));
  const numericIndexes = columns.map((c, i) => (NUMERIC_TYPE.test(c.type) && i !== timeIndex ? i : -1)).filter((i) => i >= 0);
  const yIndex = numericIndexes[numericIndexes.length - 1];
  if (yIndex === undefined || rows.length === 0) return undefined;
  const xIndex = timeIndex >= 0 ? timeIndex : columns.findIndex((c, i) => i !== yIndex && !NUMERIC_TYPE.test(c.type));
  if (xIndex < 0) return undefined;
  const sums = new Map<string, number>();
  for (const row of rows) {
    const key = String(row[xIndex] ?? '');
    const v = Number(row[yIndex] ?? 0);
    if (Number.isFinite(v)) sums.set(key, (sums.get(key) ?? 0) + v);
  }
  const time = timeIndex >= 0;
  let keys = [...sums.keys()];
  if (time) {
    keys = keys.filter((k) => Number.isFinite(Date.parse(k))).sort((a, b) => Date.parse(a) - Date.parse(b));
  }
  return {
    x: time ? keys.map((k) => Date.parse(k) / 1000) : keys.map((_k, i) => i),
    y: keys.map((k) => sums.get(k)!),
    xName: columns[xIndex]!.name,
    yName: columns[yIndex]!.name,
    time,
    categories: time ? [] : keys,
  };
}

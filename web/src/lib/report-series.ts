/**
 * One chartable series out of a result table: x is the first time column (else the first text column as
 * categories), y is the sum of the last numeric column per x. Plain TypeScript, tested under Node.
 */
import { formatCents, groupThousands } from './money.ts';

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

/** A column of integer cents (`revenue_cents`, `spend_cents`): shown as money, not as a count. */
export function isMoneyColumn(name: string): boolean {
  return /_cents$/.test(name);
}

/**
 * The text of a value axis tick: money for a cents column (whole dollars from $10,000 up), else a
 * grouped number. Long labels are what used to be clipped: the axis takes its width from these texts.
 */
export function axisLabel(value: number, money: boolean, currency = 'USD'): string {
  if (!Number.isFinite(value)) return '';
  if (money) {
    const cents = Math.round(value);
    const text = formatCents(cents, currency);
    return Math.abs(cents) >= 1_000_000 ? text.replace(/\.\d\d$/, '') : text;
  }
  return Number.isInteger(value) ? groupThousands(value) : String(Number(value.toPrecision(4)));
}

/** The width in px a value axis needs for its longest label (about 7 px a character at the console's font). */
export function axisWidth(labels: readonly string[]): number {
  const longest = labels.reduce((m, l) => Math.max(m, l.length), 0);
  return Math.max(40, Math.ceil(longest * 7.5) + 18);
}

/** A category label that fits under a bar: the whole text up to `max` characters, else cut with an ellipsis. */
export function shortCategory(text: string, max = 14): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

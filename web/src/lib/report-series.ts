/**
 * What to chart of a result table: the report's own chart declaration when it has one, else a rule (x is the
 * first time column, else the first text column as categories; y is the money column, else the first number that is
 * not an id, a threshold or a position in time, summed per x). Plain TypeScript, tested under Node.
 */
import { formatCents, groupThousands } from './money.ts';

export interface Column {
  readonly name: string;
  readonly type: string;
}

/** A report's chart as the server lists it (see `ReportChart` in src/reports/catalog.ts). */
export interface ChartSpec {
  readonly x: string;
  readonly values: readonly string[];
  readonly unit: 'money' | 'count';
  readonly seriesBy?: string;
  readonly top?: number;
  readonly thresholds?: readonly string[];
}

export interface ChartLine {
  /** The legend text: the column, and the series value when rows are split (`vehicles`, `revenue_cents P01`). */
  readonly label: string;
  /** One value per x; null where the series has no row. */
  readonly values: (number | null)[];
  /** A threshold is drawn as a dashed line, never as a bar. */
  readonly threshold: boolean;
}

export interface ReportChartData {
  /** Epoch seconds for a time axis; 0..n-1 for categories. */
  readonly x: number[];
  readonly xName: string;
  readonly time: boolean;
  /** The category of each x, when not a time axis. */
  readonly categories: string[];
  readonly lines: ChartLine[];
  readonly money: boolean;
}

const TIME_TYPE = /TIMESTAMP|DATE/i;
const NUMERIC_TYPE = /INT|DECIMAL|DOUBLE|FLOAT|REAL|NUMERIC|HUGEINT/i;
/** Columns a chart made without a declaration never draws: identifiers, limits and positions in time. */
const NOT_A_VALUE = /(^|_)(id|threshold|slot|day_of_week|hour_of_day)$|^vehicle_class$/i;
/** Series drawn when a declaration splits rows without saying how many. */
const DEFAULT_TOP = 5;

/** The chart a report declares, or the one the rule picks; undefined when there is nothing to chart. */
export function chartOf(columns: readonly Column[], rows: ReadonlyArray<ReadonlyArray<unknown>>, spec?: ChartSpec): ReportChartData | undefined {
  const chosen = spec ?? fallbackSpec(columns);
  if (!chosen || rows.length === 0) return undefined;
  const at = (name: string) => columns.findIndex((c) => c.name === name);
  const xIndex = at(chosen.x);
  const valueIndexes = chosen.values.map(at);
  const thresholdIndexes = (chosen.thresholds ?? []).map(at);
  const seriesIndex = chosen.seriesBy === undefined ? -1 : at(chosen.seriesBy);
  // A declaration naming a column the result lacks draws nothing rather than a wrong chart.
  if (xIndex < 0 || valueIndexes.length === 0 || [...valueIndexes, ...thresholdIndexes].some((i) => i < 0) || (chosen.seriesBy !== undefined && seriesIndex < 0)) return undefined;

  const time = TIME_TYPE.test(columns[xIndex]!.type);
  const keyOf = (row: ReadonlyArray<unknown>) => String(row[xIndex] ?? '');
  let keys = [...new Set(rows.map(keyOf))];
  if (time) keys = keys.filter((k) => Number.isFinite(Date.parse(k))).sort((a, b) => Date.parse(a) - Date.parse(b));
  const position = new Map(keys.map((k, i) => [k, i]));

  // The series: every row in one group, or one group per value of `seriesBy`, the largest totals first.
  let groups: (string | undefined)[] = [undefined];
  if (seriesIndex >= 0) {
    const totals = new Map<string, number>();
    for (const row of rows) {
      const g = String(row[seriesIndex] ?? '');
      totals.set(g, (totals.get(g) ?? 0) + valueIndexes.reduce((sum, i) => sum + numberOf(row[i]), 0));
    }
    groups = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, chosen.top ?? DEFAULT_TOP).map(([g]) => g);
  }

  const lines: ChartLine[] = [];
  for (const group of groups) {
    const member = (row: ReadonlyArray<unknown>) => group === undefined || String(row[seriesIndex] ?? '') === group;
    const line = (index: number, threshold: boolean): ChartLine => {
      const values: (number | null)[] = keys.map(() => null);
      for (const row of rows) {
        const p = position.get(keyOf(row));
        const v = row[index];
        if (p === undefined || !member(row) || v === null || v === undefined) continue;
        values[p] = (values[p] ?? 0) + numberOf(v);
      }
      return { label: group === undefined ? columns[index]!.name : `${columns[index]!.name} ${group}`, values, threshold };
    };
    lines.push(...valueIndexes.map((i) => line(i, false)), ...thresholdIndexes.map((i) => line(i, true)));
  }
  return {
    x: time ? keys.map((k) => Date.parse(k) / 1000) : keys.map((_k, i) => i),
    xName: columns[xIndex]!.name,
    time,
    categories: time ? [] : keys,
    lines,
    money: chosen.unit === 'money',
  };
}

/** The chart of a report that declares none: one value column summed per x. */
function fallbackSpec(columns: readonly Column[]): ChartSpec | undefined {
  const timeColumn = columns.find((c) => TIME_TYPE.test(c.type));
  const candidates = columns.filter((c) => NUMERIC_TYPE.test(c.type) && !NOT_A_VALUE.test(c.name));
  const value = candidates.find((c) => isMoneyColumn(c.name)) ?? candidates[0];
  if (!value) return undefined;
  const x = timeColumn ?? columns.find((c) => c !== value && !NUMERIC_TYPE.test(c.type) && !TIME_TYPE.test(c.type));
  if (!x) return undefined;
  return { x: x.name, values: [value.name], unit: isMoneyColumn(value.name) ? 'money' : 'count' };
}

/** A number of a cell: BIGINTs may arrive as strings; anything else counts as nothing. */
function numberOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : 0;
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

/** Running a named report: parameters checked and bound, the result with the warehouse's freshness. */
import { TollstreamError } from '../core/errors.ts';
import type { QueryColumn, QueryParams, QueryValue, Warehouse } from '../warehouse/index.ts';
import { REPORTS, type ParameterName, type ReportChart, type ReportDefinition } from './catalog.ts';

/** Report parameters as a caller gives them: typed values, or strings straight from a command line. */
export interface ReportParams {
  /** Start of the event-time range, inclusive (ISO 8601 or a Date). @default 24 hours before `to` */
  readonly from?: string | Date;
  /** End of the event-time range, exclusive. @default now */
  readonly to?: string | Date;
  readonly plaza?: string;
  /** 1 to 5. */
  readonly vehicleClass?: number | string;
  /** Rows of `top_customers`. @default 10 */
  readonly limit?: number | string;
}

export interface ReportResult {
  readonly report: string;
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly (readonly QueryValue[])[];
  /** Seconds between now and the newest row loaded into the warehouse; null when nothing was loaded yet. */
  readonly freshnessSeconds: number | null;
}

export interface ReportInfo {
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly ParameterName[];
  /** What a parameter left out means: `from` is `to` minus `rangeHours`, `to` is now, `limit` is `limit`. */
  readonly defaults: { readonly rangeHours: number; readonly limit: number };
  /** How the console charts the result, when the report says. */
  readonly chart?: ReportChart;
}

const SQL_NAMES: Record<ParameterName, string> = { from: 'from', to: 'to', plaza: 'plaza', vehicleClass: 'vehicle_class', limit: 'limit' };
/** The range a report covers when `from` is left out, in hours back from `to`. */
const DEFAULT_RANGE_HOURS = 24;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 10_000;

/**
 * The platform's reports followed by `extra` (the apps' own). A name given twice is refused: a report would
 * silently hide another.
 */
export function reportCatalog(extra: readonly ReportDefinition[] = []): readonly ReportDefinition[] {
  const catalog = [...REPORTS, ...extra];
  const seen = new Set<string>();
  for (const { name } of catalog) {
    if (seen.has(name)) throw new TollstreamError('CONFIG_INVALID', `two reports are named '${name}'`, { context: { report: name } });
    seen.add(name);
  }
  for (const report of catalog) {
    const problem = report.chart === undefined ? undefined : chartProblem(report.chart);
    if (problem) throw new TollstreamError('CONFIG_INVALID', `the chart of report '${report.name}' ${problem}`, { context: { report: report.name } });
  }
  return catalog;
}

/** What is wrong with a chart declaration (an app's module is plain JavaScript too), or undefined. */
function chartProblem(chart: ReportChart): string | undefined {
  const isName = (v: unknown) => typeof v === 'string' && v !== '';
  const isNames = (v: unknown) => Array.isArray(v) && v.every(isName);
  if (!isName(chart.x)) return "must name its 'x' column";
  if (!isNames(chart.values) || chart.values.length === 0) return "must name one or more 'values' columns";
  if (chart.unit !== 'money' && chart.unit !== 'count') return "must have 'unit' 'money' or 'count'";
  if (chart.seriesBy !== undefined && !isName(chart.seriesBy)) return "must name its 'seriesBy' column";
  if (chart.top !== undefined && !(Number.isInteger(chart.top) && chart.top >= 1)) return "must have 'top' a whole number from 1";
  if (chart.thresholds !== undefined && !isNames(chart.thresholds)) return "must name its 'thresholds' columns";
  return undefined;
}

/** The reports of `catalog` (the platform's when not given). */
export function listReports(catalog: readonly ReportDefinition[] = REPORTS): ReportInfo[] {
  return catalog.map(({ name, description, parameters, chart }) => ({ name, description, parameters, defaults: { rangeHours: DEFAULT_RANGE_HOURS, limit: DEFAULT_LIMIT }, ...(chart ? { chart } : {}) }));
}

/** Runs report `name` of `catalog` (the platform's when not given). */
export async function runReport(
  warehouse: Warehouse,
  name: string,
  params: ReportParams = {},
  now: () => number = Date.now,
  catalog: readonly ReportDefinition[] = REPORTS,
): Promise<ReportResult> {
  const report = catalog.find((r) => r.name === name);
  if (!report) {
    throw new TollstreamError('NOT_FOUND', `no report named '${name}'; reports: ${catalog.map((r) => r.name).join(', ')}`, { context: { report: name } });
  }
  const bound = bindParams(report, params, now);
  const [result, freshness] = await Promise.all([warehouse.query(report.sql(warehouse.dialect), bound), warehouse.freshness()]);
  return { report: report.name, columns: result.columns, rows: result.rows, freshnessSeconds: freshness.seconds };
}

function bindParams(report: ReportDefinition, params: ReportParams, now: () => number): QueryParams {
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!report.parameters.includes(key as ParameterName)) {
      throw new TollstreamError('INVALID_ARGUMENT', `report '${report.name}' takes no parameter '${key}'; it takes: ${report.parameters.join(', ')}`, { context: { report: report.name, parameter: key } });
    }
  }
  const to = params.to === undefined ? new Date(now()) : toDate('to', params.to);
  const from = params.from === undefined ? new Date(to.getTime() - DEFAULT_RANGE_HOURS * 3_600_000) : toDate('from', params.from);
  if (from.getTime() >= to.getTime()) {
    throw new TollstreamError('INVALID_ARGUMENT', `'from' (${from.toISOString()}) must be before 'to' (${to.toISOString()})`);
  }
  const values: Record<ParameterName, string | number | Date | null> = {
    from,
    to,
    plaza: params.plaza === undefined || params.plaza === '' ? null : String(params.plaza),
    vehicleClass: params.vehicleClass === undefined ? null : toInteger('vehicleClass', params.vehicleClass, 1, 5),
    limit: params.limit === undefined ? DEFAULT_LIMIT : toInteger('limit', params.limit, 1, MAX_LIMIT),
  };
  const bound: Record<string, string | number | Date | null> = {};
  for (const p of report.parameters) bound[SQL_NAMES[p]] = values[p];
  return bound;
}

function toDate(name: string, value: string | Date): Date {
  const date = value instanceof Date ? value : new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) {
    throw new TollstreamError('INVALID_ARGUMENT', `'${name}' must be an ISO 8601 date or date-time (e.g. 2026-11-26T10:00:00Z), got '${String(value)}'`, { context: { parameter: name } });
  }
  return date;
}

function toInteger(name: string, value: number | string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TollstreamError('INVALID_ARGUMENT', `'${name}' must be an integer from ${min} to ${max}, got '${String(value)}'`, { context: { parameter: name } });
  }
  return n;
}

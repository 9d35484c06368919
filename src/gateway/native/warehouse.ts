/**
 * The warehouse routes of the native API: named reports, read-only SQL and the station reference data.
 * Every answer that holds warehouse rows carries `freshnessSeconds`, the age of the newest loaded row.
 */
import { appendStationReference } from '../../apps/station-alerts/index.ts';
import { TollstreamError } from '../../core/errors.ts';
import type { StreamLog } from '../../log/index.ts';
import { formatCsv, listReports, loadStationReference, runReport, type ReportParams } from '../../reports/index.ts';
import type { QueryParams, Warehouse } from '../../warehouse/index.ts';
import { readBody, send, type Request, type Response } from '../http.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** A SQL request is a statement and a few parameters: 1 MiB is plenty and bounds what is parsed. */
const MAX_QUERY_BODY_BYTES = 1024 * 1024;

/** Report parameters as the HTTP API names them, and the names `runReport` takes. */
const REPORT_QUERY_PARAMS: Readonly<Record<string, keyof ReportParams>> = {
  from: 'from',
  to: 'to',
  plaza: 'plaza',
  class: 'vehicleClass',
  limit: 'limit',
};
const HTTP_NAME: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(REPORT_QUERY_PARAMS).map(([http, name]) => [name, http]));

export interface WarehouseRouteContext {
  /** Absent when the server runs without a warehouse (`warehouse.enabled: false`). */
  readonly warehouse: Warehouse | undefined;
  readonly maxBodyBytes: number;
  /** Where station reference rows are also appended (stream `station_reference`), for the queries that follow it. */
  readonly log?: StreamLog;
}

export function listReportsRoute(res: Response): void {
  const reports = listReports().map((r) => ({ ...r, parameters: r.parameters.map((p) => HTTP_NAME[p] ?? p) }));
  send(res, 200, JSON_HEADERS, JSON.stringify({ reports }));
}

export async function runReportRoute(ctx: WarehouseRouteContext, res: Response, name: string, query: URLSearchParams): Promise<void> {
  const warehouse = requireWarehouse(ctx);
  const format = query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') {
    throw new TollstreamError('INVALID_ARGUMENT', `format must be json or csv, got '${format}'`, { context: { parameter: 'format' } });
  }
  const info = listReports().find((r) => r.name === name);
  const accepted = new Set(info?.parameters.map((p) => HTTP_NAME[p] ?? p));
  const params: Record<string, string> = {};
  for (const [key, value] of query) {
    if (key === 'format') continue;
    const mapped = REPORT_QUERY_PARAMS[key];
    if (mapped === undefined || (info && !accepted.has(key))) {
      const takes = info ? [...accepted, 'format'].join(', ') : Object.keys(REPORT_QUERY_PARAMS).join(', ');
      throw new TollstreamError('INVALID_ARGUMENT', `report '${name}' takes no parameter '${key}'; it takes: ${takes}`, { context: { report: name, parameter: key } });
    }
    params[mapped] = value;
  }
  const result = await runReport(warehouse, name, params);
  if (format === 'csv') {
    const freshness = result.freshnessSeconds === null ? 'none' : String(result.freshnessSeconds);
    send(res, 200, { 'content-type': 'text/csv; charset=utf-8', 'x-tollstream-freshness-seconds': freshness }, formatCsv(result));
    return;
  }
  send(res, 200, JSON_HEADERS, toJson({ report: result.report, columns: result.columns, rows: result.rows, freshnessSeconds: result.freshnessSeconds }));
}

export async function queryRoute(ctx: WarehouseRouteContext, req: Request, res: Response): Promise<void> {
  const warehouse = requireWarehouse(ctx);
  const { sql, params } = queryRequest(await readBody(req, MAX_QUERY_BODY_BYTES));
  const [result, freshness] = await Promise.all([warehouse.query(sql, params), warehouse.freshness()]);
  send(res, 200, JSON_HEADERS, toJson({ columns: result.columns, rows: result.rows, freshnessSeconds: freshness.seconds }));
}

export async function replaceStationsRoute(ctx: WarehouseRouteContext, req: Request, res: Response): Promise<void> {
  const warehouse = requireWarehouse(ctx);
  const text = (await readBody(req, ctx.maxBodyBytes)).toString('utf8');
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  // Without a telling content type, a body that starts like a JSON array is JSON; anything else is CSV.
  const json = contentType.includes('json') || (!contentType.includes('csv') && text.trimStart().startsWith('['));
  const previous = ctx.log ? await referenceRows(warehouse, 'plaza_id, day_of_week, slot') : [];
  const loaded = await loadStationReference(warehouse, json ? { json: text } : { csv: text });
  if (ctx.log) {
    // The stream gets what the warehouse now holds, and a deletion for each key the load left out.
    await appendStationReference(ctx.log, await referenceRows(warehouse, 'plaza_id, day_of_week, slot, expected_count, alert_threshold'), previous);
  }
  send(res, 200, JSON_HEADERS, JSON.stringify(loaded));
}

async function referenceRows(warehouse: Warehouse, columns: string): Promise<Record<string, unknown>[]> {
  const result = await warehouse.query(`SELECT ${columns} FROM station_reference`);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i]])));
}

function requireWarehouse(ctx: WarehouseRouteContext): Warehouse {
  if (!ctx.warehouse) {
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'this server runs without a warehouse (warehouse.enabled is false); enable it in the config and restart');
  }
  return ctx.warehouse;
}

const QUERY_KEYS = new Set(['sql', 'params']);

function queryRequest(body: Buffer): { sql: string; params: QueryParams } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new TollstreamError('MALFORMED_REQUEST', `the body is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TollstreamError('MALFORMED_REQUEST', 'the body must be a JSON object { sql, params? }');
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((k) => !QUERY_KEYS.has(k));
  if (unknown !== undefined) throw invalid(`unknown field '${unknown}'; allowed: sql, params`, unknown);
  if (typeof v.sql !== 'string' || v.sql.trim() === '') throw invalid('sql must be a non-empty string', 'sql');
  const params: Record<string, string | number | boolean | null> = {};
  if (v.params !== undefined) {
    if (typeof v.params !== 'object' || v.params === null || Array.isArray(v.params)) {
      throw invalid('params must be an object of named values ($name in the SQL is params.name)', 'params');
    }
    for (const [name, p] of Object.entries(v.params)) {
      if (!(p === null || typeof p === 'string' || typeof p === 'boolean' || (typeof p === 'number' && Number.isFinite(p)))) {
        throw invalid(`params.${name} must be a string, number, boolean or null`, `params.${name}`);
      }
      params[name] = p as string | number | boolean | null;
    }
  }
  return { sql: v.sql, params };
}

/** JSON where a bigint (money is integer cents) is a number when exact, else a decimal string. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v));
}

const invalid = (message: string, field: string) => new TollstreamError('INVALID_ARGUMENT', message, { context: { field } });

/**
 * The warehouse routes of the native API: named reports, read-only SQL and the apps' reference data.
 * Every answer that holds warehouse rows carries `freshnessSeconds`, the age of the newest loaded row.
 */
import http2 from 'node:http2';
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { csvLine, formatCsv, listReports, loadReference, referenceRows, runReport, type ReferenceTable, type ReportDefinition, type ReportParams } from '../../reports/index.ts';
import { type QueryColumn, type QueryParams, type QueryValue, type Warehouse } from '../../warehouse/index.ts';
import { asResponse, ClientGoneError, readBody, send, writeChunk, type Request, type Response } from '../http.ts';
import { callerOf, type QuerySlots } from './query-slots.ts';
import { invalidField, invalidParameter, isObject, jsonObject, onlyFields, stringField } from '../validate.ts';

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
  /** The reports served: the platform's and the apps'. */
  readonly reports: readonly ReportDefinition[];
  /** The reference tables the apps declare, served at `PUT /v1/reference/{name}`. */
  readonly references?: readonly ReferenceTable[];
  /** Bounds the queries (SQL and reports) running at once, per caller and in all. */
  readonly querySlots: QuerySlots;
  readonly logger: Logger;
}

/** Answers of `POST /v1/warehouse/query`: one JSON document (row-capped), or rows streamed as they come. */
const QUERY_FORMATS = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
} as const;
type QueryFormat = keyof typeof QUERY_FORMATS;

export function listReportsRoute(ctx: WarehouseRouteContext, res: Response): void {
  const reports = listReports(ctx.reports).map((r) => ({ ...r, parameters: r.parameters.map((p) => HTTP_NAME[p] ?? p) }));
  send(res, 200, JSON_HEADERS, JSON.stringify({ reports }));
}

export async function runReportRoute(ctx: WarehouseRouteContext, req: Request, res: Response, name: string, query: URLSearchParams): Promise<void> {
  const warehouse = requireWarehouse(ctx);
  const format = query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') {
    throw invalidParameter('format', `format must be json or csv, got '${format}'`);
  }
  const info = listReports(ctx.reports).find((r) => r.name === name);
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
  const release = ctx.querySlots.acquire(callerOf(req));
  let result;
  try {
    result = await runReport(warehouse, name, params, Date.now, ctx.reports);
  } finally {
    release();
  }
  if (format === 'csv') {
    const freshness = result.freshnessSeconds === null ? 'none' : String(result.freshnessSeconds);
    send(res, 200, { 'content-type': 'text/csv; charset=utf-8', 'x-tollstream-freshness-seconds': freshness }, formatCsv(result));
    return;
  }
  send(res, 200, JSON_HEADERS, toJson({ report: result.report, columns: result.columns, rows: result.rows, freshnessSeconds: result.freshnessSeconds }));
}

export async function queryRoute(ctx: WarehouseRouteContext, req: Request, res: Response, query: URLSearchParams): Promise<void> {
  const warehouse = requireWarehouse(ctx);
  const format = query.get('format') ?? 'json';
  if (!Object.hasOwn(QUERY_FORMATS, format)) {
    throw invalidParameter('format', `format must be json, ndjson or csv, got '${format}'`);
  }
  const { sql, params } = queryRequest(await readBody(req, MAX_QUERY_BODY_BYTES));
  const release = ctx.querySlots.acquire(callerOf(req));
  // The caller leaving stops its query: nobody is left to read the rows.
  const gone = new AbortController();
  const onClose = () => gone.abort(new ClientGoneError());
  asResponse(res).once('close', onClose);
  try {
    if (format === 'json') {
      const [result, freshness] = await Promise.all([warehouse.query(sql, params, { signal: gone.signal }), warehouse.freshness()]);
      send(res, 200, JSON_HEADERS, toJson({ columns: result.columns, rows: result.rows, freshnessSeconds: freshness.seconds }));
    } else {
      await streamAnswer(ctx, warehouse, res, sql, params, format as Exclude<QueryFormat, 'json'>, gone.signal);
    }
  } catch (err) {
    throw gone.signal.aborted ? new ClientGoneError() : err;
  } finally {
    asResponse(res).removeListener('close', onClose);
    release();
  }
}

/**
 * Streams the rows a chunk at a time, each written once the client took the one before (backpressure). The
 * status goes out with the first chunk; a failure after that cuts the response off, so a client never takes a
 * partial answer for a whole one (HTTP/1.1: no last chunk; HTTP/2: the stream is reset).
 */
async function streamAnswer(
  ctx: WarehouseRouteContext,
  warehouse: Warehouse,
  res: Response,
  sql: string,
  params: QueryParams,
  format: Exclude<QueryFormat, 'json'>,
  signal: AbortSignal,
): Promise<void> {
  const freshness = await warehouse.freshness();
  const r = asResponse(res);
  let names: readonly string[] = [];
  try {
    await warehouse.streamQuery(
      sql,
      params,
      {
        async columns(columns) {
          names = uniqueNames(columns);
          r.writeHead(200, {
            'content-type': QUERY_FORMATS[format],
            'x-tollstream-freshness-seconds': freshness.seconds === null ? 'none' : String(freshness.seconds),
          });
          if (format === 'csv') await writeChunk(res, csvLine(names));
        },
        async rows(rows) {
          let text = '';
          for (const row of rows) text += format === 'csv' ? csvLine(row) : ndjsonLine(names, row);
          await writeChunk(res, text);
        },
      },
      { signal },
    );
    if (!r.headersSent) r.writeHead(200, { 'content-type': QUERY_FORMATS[format] });
    r.end();
  } catch (err) {
    if (!r.headersSent) throw err;
    if (!signal.aborted) ctx.logger.warn('a streamed warehouse answer failed after it started; the response is cut off', { err: err instanceof Error ? err : String(err) });
    cutOff(res);
  }
}

/** Ends a started response as failed: HTTP/1.1 closes the connection before the last chunk, HTTP/2 resets the stream. */
function cutOff(res: Response): void {
  if ('stream' in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

function ndjsonLine(names: readonly string[], row: readonly QueryValue[]): string {
  const object: Record<string, QueryValue> = {};
  for (let i = 0; i < names.length; i++) object[names[i]!] = row[i] ?? null;
  return JSON.stringify(object) + '\n';
}

/** Column names as keys: a repeated name gets `_1`, `_2`... (`SELECT a, a` has keys `a` and `a_1`). */
function uniqueNames(columns: readonly QueryColumn[]): string[] {
  const taken = new Set<string>();
  return columns.map((c) => {
    let name = c.name;
    for (let n = 1; taken.has(name); n++) name = `${c.name}_${n}`;
    taken.add(name);
    return name;
  });
}

export async function replaceReferenceRoute(ctx: WarehouseRouteContext, req: Request, res: Response, name: string): Promise<void> {
  const references = ctx.references ?? [];
  const reference = references.find((r) => r.name === name);
  if (reference === undefined) {
    const known = references.map((r) => r.name).join(', ') || 'none';
    throw new TollstreamError('NOT_FOUND', `no reference data '${name}'; the apps declare: ${known}`, { context: { reference: name } });
  }
  const warehouse = requireWarehouse(ctx);
  const text = (await readBody(req, ctx.maxBodyBytes)).toString('utf8');
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  // Without a telling content type, a body that starts like a JSON array is JSON; anything else is CSV.
  const json = contentType.includes('json') || (!contentType.includes('csv') && text.trimStart().startsWith('['));
  const previous = reference.replaced ? await referenceRows(warehouse, reference) : [];
  const loaded = await loadReference(warehouse, reference, json ? { json: text } : { csv: text });
  // The app gets what the warehouse now holds, and what it held, to delete each key the load left out.
  if (reference.replaced) await reference.replaced(await referenceRows(warehouse, reference), previous);
  send(res, 200, JSON_HEADERS, JSON.stringify(loaded));
}

function requireWarehouse(ctx: WarehouseRouteContext): Warehouse {
  if (!ctx.warehouse) {
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'this server runs without a warehouse (warehouse.enabled is false); enable it in the config and restart');
  }
  return ctx.warehouse;
}

function queryRequest(body: Buffer): { sql: string; params: QueryParams } {
  const v = onlyFields(jsonObject(body, 'a JSON object { sql, params? }'), ['sql', 'params']);
  const sql = stringField(v, 'sql', { required: true, nonEmpty: true });
  const params: Record<string, string | number | boolean | null> = {};
  if (v.params !== undefined) {
    if (!isObject(v.params)) throw invalidField('params', 'params must be an object of named values ($name in the SQL is params.name)', v.params);
    for (const [name, p] of Object.entries(v.params)) {
      if (!(p === null || typeof p === 'string' || typeof p === 'boolean' || (typeof p === 'number' && Number.isFinite(p)))) {
        throw invalidField(`params.${name}`, `params.${name} must be a string, number, boolean or null`, p);
      }
      params[name] = p;
    }
  }
  return { sql, params };
}

/** JSON where a bigint (money is integer cents) is a number when exact, else a decimal string. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v));
}


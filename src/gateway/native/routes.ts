/** The native HTTP API under /v1 (see docs/gateway.md): streams, record ingest, tail, and the warehouse's reports, SQL and reference data. */
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { STREAM_NAME, type DedupeConfig, type StreamConfig, type StreamLog } from '../../log/index.ts';
import type { QueryManager } from '../../queries/index.ts';
import type { ReferenceTable, ReportDefinition } from '../../reports/index.ts';
import type { Warehouse } from '../../warehouse/index.ts';
import { readBody, send, type Request, type Response, type ServedRoute } from '../http.ts';
import { parseJsonArray, parseNdjson, type IngestOptions, type RecordError } from './ingest.ts';
import { handleQueryRoute, QUERY_ROUTES, type QueryRoute } from './queries.ts';
import { handleReferenceFileRoute, REFERENCE_FILE_ROUTES, type ReferenceFileRoute } from './reference-files.ts';
import type { QuerySlots } from './query-slots.ts';
import { createRouter, methodNotAllowedError } from '../router.ts';
import { integerField, invalidField, invalidParameter, isObject, jsonObject, onlyFields } from '../validate.ts';
import { tail, type TailFilter, type TailStart } from './tail.ts';
import { listReportsRoute, queryRoute, replaceReferenceRoute, runReportRoute } from './warehouse.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

export interface NativeContext {
  readonly log: StreamLog;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly randomPartitionKey: () => string;
  readonly shutdown: AbortSignal;
  /** Serves the report, query and reference routes; absent, they answer 503 WAREHOUSE_UNAVAILABLE. */
  readonly warehouse: Warehouse | undefined;
  /** Serves the continuous-query routes; absent, they answer 404. */
  readonly queries: QueryManager | undefined;
  /** Bounds the warehouse queries (SQL and reports) running at once. */
  readonly querySlots: QuerySlots;  /** The reports of `/v1/reports`: the platform's and the apps'. */
  readonly reports: readonly ReportDefinition[];
  /** The apps' reference data, replaced by `PUT /v1/reference/{name}`. */
  readonly references: readonly ReferenceTable[];
}

/** A route's name for metrics, e.g. `POST /v1/streams/{name}/records`. */
export type NativeRoute =
  | 'listStreams'
  | 'createStream'
  | 'describeStream'
  | 'describeShards'
  | 'deleteStream'
  | 'putRecords'
  | 'tail'
  | 'listReports'
  | 'runReport'
  | 'queryWarehouse'
  | 'replaceReference'
  | QueryRoute
  | ReferenceFileRoute
  | 'unknown';

export interface ParsedPath {
  readonly route: NativeRoute;
  /** The path's parameters, decoded: `stream`, `report`, `reference`, `queryName`, `fileName`. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
}

/** The /v1 routes the gateway answers itself (route modules answer theirs first). */
const NATIVE_ROUTES = createRouter<NativeRoute>([
  { pattern: 'GET /v1/streams', route: 'listStreams' },
  { pattern: 'POST /v1/streams', route: 'createStream' },
  { pattern: 'GET /v1/streams/:stream', route: 'describeStream' },
  { pattern: 'DELETE /v1/streams/:stream', route: 'deleteStream' },
  { pattern: 'POST /v1/streams/:stream/records', route: 'putRecords' },
  // A tail never ends, so HEAD on it would hold the connection open with nothing to send.
  { pattern: 'GET /v1/streams/:stream/tail', route: 'tail', noHead: true },
  { pattern: 'GET /v1/streams/:stream/shards', route: 'describeShards' },
  { pattern: 'GET /v1/reports', route: 'listReports' },
  { pattern: 'GET /v1/reports/:report', route: 'runReport' },
  { pattern: 'POST /v1/warehouse/query', route: 'queryWarehouse' },
  // `files` is the queries' reference files (below): the literal segment wins over the name.
  { pattern: 'PUT /v1/reference/:reference', route: 'replaceReference' },
  ...QUERY_ROUTES,
  ...REFERENCE_FILE_ROUTES,
]);

/** The /v1 routes the gateway answers itself, parameters as `{name}`. */
export function nativeRoutes(): readonly ServedRoute[] {
  return NATIVE_ROUTES.list().map(({ method, path }) => ({ method, path }));
}

/** Matches `url` (path and query, as received) against the /v1 routes; 400 MALFORMED_REQUEST when a percent-escape in its path is broken. */
export function matchRoute(method: string, url: string): ParsedPath {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const found = NATIVE_ROUTES.find(method, path);
  return found ? { route: found.route, params: found.params, query } : { route: 'unknown', params: {}, query };
}

export async function handleNative(ctx: NativeContext, req: Request, res: Response, match: ParsedPath): Promise<void> {
  switch (match.route) {
    case 'listStreams':
      return send(res, 200, JSON_HEADERS, JSON.stringify({ streams: await ctx.log.listStreams() }));
    case 'createStream': {
      const { name, config } = streamRequest(await readBody(req, ctx.maxBodyBytes));
      return send(res, 201, JSON_HEADERS, JSON.stringify(await ctx.log.createStream(name, config)));
    }
    case 'describeStream':
      return send(res, 200, JSON_HEADERS, JSON.stringify(await ctx.log.describeStream(match.params.stream!)));
    case 'describeShards':
      return send(res, 200, JSON_HEADERS, JSON.stringify(await describeShards(ctx.log, match.params.stream!)));
    case 'deleteStream':
      await ctx.log.deleteStream(match.params.stream!);
      return send(res, 204, {}, '');
    case 'putRecords':
      return putRecords(ctx, req, res, match.params.stream!, match.query);
    case 'tail': {
      const { from, filter } = tailQuery(match.query);
      return tail(req, res, { log: ctx.log, logger: ctx.logger, stream: match.params.stream!, from, filter, shutdown: ctx.shutdown });
    }
    case 'listReports':
      return listReportsRoute(ctx, res);
    case 'runReport':
      return runReportRoute(ctx, req, res, match.params.report!, match.query);
    case 'queryWarehouse':
      return queryRoute(ctx, req, res, match.query);
    case 'replaceReference':
      return replaceReferenceRoute(ctx, req, res, match.params.reference!);
    case 'listQueries':
    case 'createQuery':
    case 'describeQuery':
    case 'explainQuery':
    case 'dropQuery':
    case 'stopQuery':
    case 'resumeQuery':
      return handleQueryRoute(ctx.queries, req, res, match.route, match.params.queryName);
    case 'listReferenceFiles':
    case 'putReferenceFile':
    case 'deleteReferenceFile':
      return handleReferenceFileRoute(ctx.queries, ctx.maxBodyBytes, req, res, match.route, match.params.fileName);
    case 'unknown':
      throw new TollstreamError('NOT_FOUND', `no route ${req.method} ${req.url?.split('?')[0]}; see docs/gateway.md for the native API`);
  }
}

/** 405 when `url` is a route for other methods than `method`, else undefined. */
export function methodNotServed(method: string, url: string): TollstreamError | undefined {
  const path = url.split('?', 1)[0]!;
  const allow = NATIVE_ROUTES.allowed(path);
  return allow.length === 0 ? undefined : methodNotAllowedError(method, path, allow);
}

/** The methods the gateway's routes answer (HEAD is answered as GET). */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

async function putRecords(ctx: NativeContext, req: Request, res: Response, stream: string, query: URLSearchParams): Promise<void> {
  const body = await readBody(req, ctx.maxBodyBytes);
  const partitionKeyField = query.get('partitionKeyField') ?? undefined;
  const idempotencyKeyField = query.get('idempotencyKeyField') ?? undefined;
  const options: IngestOptions = { partitionKeyField, idempotencyKeyField, randomPartitionKey: ctx.randomPartitionKey };
  const contentType = req.headers['content-type'] ?? '';
  const parsed = contentType.startsWith('application/json') ? parseJsonArray(body, options) : parseNdjson(body, options);
  const results = parsed.records.length > 0 ? await ctx.log.append(stream, parsed.records) : [];
  if (parsed.records.length === 0) await ctx.log.describeStream(stream); // an unknown stream is an error even for an empty body

  // Built as one string: the per-shard prefix is escaped once, not once per record.
  const prefixes = new Map<string, string>();
  let out = '';
  let failed = 0;
  for (let i = 0; i < parsed.outcomes.length; i++) {
    const outcome = parsed.outcomes[i]!;
    if (i > 0) out += ',';
    if (typeof outcome !== 'number') {
      failed++;
      out += errorItem(outcome);
      continue;
    }
    const r = results[outcome]!;
    if (r.ok) {
      let prefix = prefixes.get(r.shardId);
      if (prefix === undefined) {
        prefix = `{"shardId":${JSON.stringify(r.shardId)},"sequenceNumber":"`;
        prefixes.set(r.shardId, prefix);
      }
      out += prefix + r.sequenceNumber + (r.duplicate ? '","duplicate":true}' : '","duplicate":false}');
    } else {
      failed++;
      out += errorItem({ code: r.errorCode === 'ProvisionedThroughputExceededException' ? 'THROUGHPUT_EXCEEDED' : 'IO_ERROR', message: r.errorMessage });
    }
  }
  send(res, 200, JSON_HEADERS, `{"failedRecordCount":${failed},"records":[${out}]}`);
}

function errorItem(error: RecordError): string {
  return JSON.stringify({ error });
}

const CREATE_KEYS = new Set(['name', 'shardCount', 'retentionHours', 'retentionBytes', 'dedupe']);

function streamRequest(body: Buffer): { name: string; config: StreamConfig } {
  const v = onlyFields(jsonObject(body, 'a JSON object { name, shardCount?, retentionHours?, retentionBytes?, dedupe? }'), CREATE_KEYS);
  if (typeof v.name !== 'string' || !STREAM_NAME.test(v.name)) throw invalidField('name', `name must match ${STREAM_NAME}`, v.name);
  const config: { -readonly [K in keyof StreamConfig]: StreamConfig[K] } = {};
  if (v.shardCount !== undefined) config.shardCount = integerField(v.shardCount, 'shardCount', 1, 1024);
  if (v.retentionHours !== undefined) config.retentionHours = integerField(v.retentionHours, 'retentionHours', 1, 8760);
  if (v.retentionBytes !== undefined) config.retentionBytes = integerField(v.retentionBytes, 'retentionBytes', 1, Number.MAX_SAFE_INTEGER);
  if (v.dedupe !== undefined) config.dedupe = dedupe(v.dedupe);
  return { name: v.name, config };
}

function dedupe(value: unknown): DedupeConfig {
  if (!isObject(value)) throw invalidField('dedupe', 'dedupe must be an object { mode, field?, windowSeconds? }', value);
  const d = onlyFields(value, ['mode', 'field', 'windowSeconds'], 'dedupe.');
  if (d.mode !== 'field' && d.mode !== 'key') throw invalidField('dedupe.mode', "dedupe.mode must be 'field' or 'key'", d.mode);
  if (d.mode === 'field' && (typeof d.field !== 'string' || d.field === '')) throw invalidField('dedupe.field', "dedupe.field is required with mode 'field'");
  if (d.mode === 'key' && d.field !== undefined) throw invalidField('dedupe.field', "dedupe.field conflicts with mode 'key'");
  const windowSeconds = d.windowSeconds === undefined ? undefined : integerField(d.windowSeconds, 'dedupe.windowSeconds', 1, 31 * 24 * 3600);
  return {
    mode: d.mode,
    ...(d.mode === 'field' ? { field: d.field as string } : {}),
    ...(windowSeconds !== undefined ? { windowSeconds } : {}),
  };
}

/**
 * The tail's query string: `from` LATEST (default), TRIM_HORIZON, AT_TIMESTAMP (with `timestamp`, ISO 8601 or
 * ms since the epoch) or AT_SEQUENCE_NUMBER (with `sequenceNumber` and `shard`); filters `shard`, `key` (the
 * partition key) and `field` with `value` (a top-level field of JSON records).
 */
export function tailQuery(query: URLSearchParams): { from: TailStart; filter: TailFilter } {
  const type = query.get('from') ?? 'LATEST';
  const shardId = query.get('shard') ?? undefined;
  let from: TailStart;
  if (type === 'LATEST' || type === 'TRIM_HORIZON') from = { type };
  else if (type === 'AT_TIMESTAMP') {
    const text = query.get('timestamp');
    if (text === null) throw invalidParameter('timestamp', 'from=AT_TIMESTAMP needs timestamp (ISO 8601, or ms since the epoch)');
    const timestamp = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isSafeInteger(timestamp)) throw invalidParameter('timestamp', `timestamp must be ISO 8601 (2026-12-07T08:00:00Z) or ms since the epoch, got '${text}'`);
    from = { type, timestamp };
  } else if (type === 'AT_SEQUENCE_NUMBER') {
    const sequenceNumber = query.get('sequenceNumber');
    if (sequenceNumber === null || !/^\d{1,128}$/.test(sequenceNumber)) throw invalidParameter('sequenceNumber', 'from=AT_SEQUENCE_NUMBER needs sequenceNumber, a sequence number of the shard');
    if (shardId === undefined) throw invalidParameter('shard', 'from=AT_SEQUENCE_NUMBER needs shard: a sequence number belongs to one shard');
    from = { type, sequenceNumber };
  } else {
    throw invalidParameter('from', `from must be LATEST, TRIM_HORIZON, AT_TIMESTAMP or AT_SEQUENCE_NUMBER, got '${type}'`);
  }
  const field = query.get('field');
  const value = query.get('value');
  if ((field === null) !== (value === null)) throw invalidParameter(field === null ? 'field' : 'value', 'field and value go together: field=plaza_id&value=P01');
  const key = query.get('key');
  return {
    from,
    filter: {
      ...(shardId === undefined ? {} : { shardId }),
      ...(key === null ? {} : { partitionKey: key }),
      ...(field === null || value === null ? {} : { field: { name: field, value } }),
    },
  };
}

/**
 * `GET /v1/streams/{name}/shards`: each shard's place (hash key range, parents, open or closed) with what the log
 * counts for it since it opened: records and bytes in, bytes held, and its newest record's sequence number and
 * arrival time, so a reader sees the span of sequence numbers it holds.
 */
async function describeShards(log: StreamLog, stream: string): Promise<unknown> {
  const description = await log.describeStream(stream);
  const stats = new Map(log.stats().shards.filter((s) => s.stream === stream).map((s) => [s.shardId, s]));
  return {
    stream,
    shards: description.shards.map((shard) => {
      const s = stats.get(shard.shardId);
      return {
        ...shard,
        open: shard.endingSequenceNumber === undefined,
        recordsIn: s?.recordsIn ?? 0,
        bytesIn: s?.bytesIn ?? 0,
        storedBytes: s?.storedBytes ?? 0,
        ...(s?.latestSequenceNumber === undefined ? {} : { latestSequenceNumber: s.latestSequenceNumber }),
        ...(s?.latestArrivalTime === undefined ? {} : { latestArrivalTime: new Date(s.latestArrivalTime).toISOString() }),
      };
    }),
  };
}

/**
 * A small client of the native HTTP API (docs/native-api in the gateway docs) for the CLI commands.
 */
import type { StreamDescription, StreamSummary } from '../log/index.ts';
import { stringFlag, type CommandInput } from './command.ts';
import type { CreateQueryRequest, QueryInfo } from '../queries/index.ts';
import type { FunctionInfo, FunctionLogLine, FunctionSettings } from '../functions/index.ts';
import type { Item, QueryResult, TableDescription } from '../tables/index.ts';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4566';

/** An error answered by the server, in the API's `{ error: { code, message, context } }` shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly context?: Readonly<Record<string, unknown>>,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
  }
}

export interface RecordOutcome {
  readonly shardId?: string;
  readonly sequenceNumber?: string;
  readonly duplicate?: boolean;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface PutRecordsResponse {
  readonly failedRecordCount: number;
  readonly records: readonly RecordOutcome[];
}

export interface CreateStreamRequest {
  readonly name: string;
  readonly shardCount?: number;
  readonly retentionHours?: number;
  readonly dedupe?: { readonly mode: 'field' | 'key'; readonly field?: string };
}

/** A report as the server lists it; `parameters` are the HTTP names (`class`, not vehicleClass). */
export interface ReportSummary {
  readonly name: string;
  readonly description: string;
  readonly parameters: readonly string[];
}

/** Rows of a report or a query, as the server answers them: JSON-safe values, money in integer cents. */
export interface WarehouseAnswer {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  readonly rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null>>;
  /** Age of the newest row loaded into the warehouse, in seconds; null before anything was loaded. */
  readonly freshnessSeconds: number | null;
}

export class NativeClient {
  readonly endpoint: string;
  private readonly apiKey: string | undefined;

  constructor(endpoint: string, apiKey: string | undefined) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.apiKey = apiKey;
  }

  /** From `--endpoint`/`--api-key`, then `TOLLSTREAM_ENDPOINT`/`TOLLSTREAM_API_KEY`, then the default port. */
  static fromInput(input: CommandInput): NativeClient {
    const endpoint = stringFlag(input.values, 'endpoint') ?? input.io.env.TOLLSTREAM_ENDPOINT ?? DEFAULT_ENDPOINT;
    const apiKey = stringFlag(input.values, 'api-key') ?? input.io.env.TOLLSTREAM_API_KEY;
    return new NativeClient(endpoint, apiKey || undefined);
  }

  /** Resolves when the server answers `/health` at all (any status); UNREACHABLE when nothing answers. */
  async reachable(): Promise<void> {
    const res = await this.request('GET', '/health', { headers: {} });
    await res.body?.cancel();
  }

  listStreams(): Promise<{ streams: StreamSummary[] }> {
    return this.json('GET', '/v1/streams');
  }

  createStream(request: CreateStreamRequest): Promise<StreamDescription> {
    return this.json('POST', '/v1/streams', JSON.stringify(request), 'application/json');
  }

  describeStream(name: string): Promise<StreamDescription> {
    return this.json('GET', `/v1/streams/${encodeURIComponent(name)}`);
  }

  async deleteStream(name: string): Promise<void> {
    await this.json('DELETE', `/v1/streams/${encodeURIComponent(name)}`);
  }

  /** Sends NDJSON lines (one record each). */
  putRecords(stream: string, ndjson: string, query: Readonly<Record<string, string>>): Promise<PutRecordsResponse> {
    const qs = new URLSearchParams(query).toString();
    return this.json('POST', `/v1/streams/${encodeURIComponent(stream)}/records${qs ? '?' + qs : ''}`, ndjson, 'application/x-ndjson');
  }

  listReports(): Promise<{ reports: ReportSummary[] }> {
    return this.json('GET', '/v1/reports');
  }

  /** Runs a named report; `params` are the HTTP parameters (from, to, plaza, class, limit). */
  runReport(name: string, params: Readonly<Record<string, string>>): Promise<WarehouseAnswer & { report: string }> {
    const qs = new URLSearchParams(params).toString();
    return this.json('GET', `/v1/reports/${encodeURIComponent(name)}${qs ? '?' + qs : ''}`);
  }

  /** One read-only SQL statement with named parameters (`$name`). */
  query(sql: string, params?: Readonly<Record<string, unknown>>): Promise<WarehouseAnswer> {
    return this.json('POST', '/v1/warehouse/query', JSON.stringify(params === undefined ? { sql } : { sql, params }), 'application/json');
  }

  /**
   * The answer of one read-only statement as the server streams it (CSV or NDJSON), for answers of any size;
   * the caller reads the body. A body that ends in an error means the answer was cut off.
   */
  async queryStream(sql: string, params: Readonly<Record<string, unknown>> | undefined, format: 'csv' | 'ndjson'): Promise<ReadableStream<Uint8Array>> {
    const body = JSON.stringify(params === undefined ? { sql } : { sql, params });
    const res = await this.request('POST', `/v1/warehouse/query?format=${format}`, { body, headers: { 'content-type': 'application/json' } });
    if (!res.ok) throw await apiError(res);
    if (!res.body) throw new ApiError(res.status, 'INTERNAL', 'the server sent no answer');
    return res.body;
  }

  /** Replaces the reference data `name` (declared by an app: `stations`) with a CSV or JSON document. */
  replaceReference(name: string, body: string, contentType: 'text/csv' | 'application/json'): Promise<{ rows: number }> {
    return this.json('PUT', `/v1/reference/${encodeURIComponent(name)}`, body, contentType);
  }

  /** Writes a file into the server's reference directory, where continuous queries may join to it. */
  putReferenceFile(name: string, body: string): Promise<{ name: string; bytes: number; modifiedAt: string }> {
    return this.json('PUT', `/v1/reference/files/${encodeURIComponent(name)}`, body, 'application/octet-stream');
  }

  listQueries(): Promise<{ queries: QueryInfo[] }> {
    return this.json('GET', '/v1/queries');
  }

  createQuery(request: CreateQueryRequest): Promise<QueryInfo> {
    return this.json('POST', '/v1/queries', JSON.stringify(request), 'application/json');
  }

  describeQuery(name: string): Promise<QueryInfo> {
    return this.json('GET', `/v1/queries/${encodeURIComponent(name)}`);
  }

  explainQuery(name: string): Promise<{ name: string; plan: string }> {
    return this.json('GET', `/v1/queries/${encodeURIComponent(name)}/explain`);
  }

  /** `stop` or `resume` a query. */
  controlQuery(name: string, action: 'stop' | 'resume'): Promise<QueryInfo> {
    return this.json('POST', `/v1/queries/${encodeURIComponent(name)}/${action}`);
  }

  async dropQuery(name: string): Promise<void> {
    await this.json('DELETE', `/v1/queries/${encodeURIComponent(name)}`);
  }

  deployFunction(request: { name: string; stream: string; code: string; settings?: FunctionSettings }): Promise<FunctionInfo> {
    return this.json('POST', '/v1/functions', JSON.stringify(request), 'application/json');
  }

  listFunctions(): Promise<{ functions: FunctionInfo[] }> {
    return this.json('GET', '/v1/functions');
  }

  describeFunction(name: string): Promise<FunctionInfo> {
    return this.json('GET', `/v1/functions/${encodeURIComponent(name)}`);
  }

  /** A new version: new code, changed settings (null puts one back to its default), or both. */
  updateFunction(name: string, request: { code?: string; settings?: Record<string, unknown> }): Promise<FunctionInfo> {
    return this.json('PATCH', `/v1/functions/${encodeURIComponent(name)}`, JSON.stringify(request), 'application/json');
  }

  controlFunction(name: string, action: 'pause' | 'resume'): Promise<FunctionInfo> {
    return this.json('POST', `/v1/functions/${encodeURIComponent(name)}/${action}`);
  }

  async deleteFunction(name: string): Promise<void> {
    await this.json('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
  }

  functionLogs(name: string, limit: number): Promise<{ name: string; lines: FunctionLogLine[] }> {
    return this.json('GET', `/v1/functions/${encodeURIComponent(name)}/logs?limit=${limit}`);
  }

  listTables(): Promise<{ tables: TableDescription[] }> {
    return this.json('GET', '/v1/tables');
  }

  getItem(table: string, pk: string, sk?: string): Promise<Item> {
    return this.json('GET', `/v1/tables/${encodeURIComponent(table)}/items/${encodeURIComponent(pk)}${sk === undefined ? '' : `?sk=${encodeURIComponent(sk)}`}`);
  }

  /** Items of one partition key, by sort key prefix; `query` holds pk, prefix, limit, cursor, order. */
  queryTable(table: string, query: Readonly<Record<string, string>>): Promise<QueryResult> {
    return this.json('GET', `/v1/tables/${encodeURIComponent(table)}/query?${new URLSearchParams(query).toString()}`);
  }

  scanTable(table: string, query: Readonly<Record<string, string>>): Promise<QueryResult> {
    const qs = new URLSearchParams(query).toString();
    return this.json('GET', `/v1/tables/${encodeURIComponent(table)}/scan${qs ? '?' + qs : ''}`);
  }

  /** Opens the SSE tail; the caller reads the body until `signal` aborts. */
  /** `query`: the tail's parameters (`from`, `timestamp`, `sequenceNumber`, `shard`, `key`, `field`, `value`). */
  async tail(stream: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.request('GET', `/v1/streams/${encodeURIComponent(stream)}/tail?${new URLSearchParams(query).toString()}`, {
      signal,
      headers: { accept: 'text/event-stream' },
    });
    if (!res.ok) throw await apiError(res);
    if (!res.body) throw new ApiError(res.status, 'INTERNAL', 'the server sent no event stream');
    return res.body;
  }

  /**
   * Calls a route of the native API, or one an app mounts (the customer API), with the key of the command line,
   * and returns its JSON answer; an error answer throws ApiError.
   */
  async json<T>(method: string, path: string, body?: string, contentType?: string): Promise<T> {
    const res = await this.request(method, path, { body, headers: contentType ? { 'content-type': contentType } : {} });
    if (!res.ok) throw await apiError(res);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async request(method: string, path: string, init: { body?: string | undefined; headers: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const headers = { ...init.headers, ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) };
    try {
      return await fetch(this.endpoint + path, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw unreachable(this.endpoint, err);
    }
  }
}

/** Socket errors that mean the server is not there (or went away), as Node and the AWS SDK report them. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_GOAWAY_SESSION', 'UND_ERR_SOCKET']);

/** True when `err` (or an error it was caused by) is a failure to reach the server, not an answer from it. */
export function isNetworkError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown; message?: string } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && /ECONNREFUSED|ECONNRESET|socket hang up/.test(e.message)) return true;
  }
  return false;
}

/** The one error every command gives when the server cannot be reached: what, why, and what to do. */
export function unreachable(endpoint: string, err: unknown): ApiError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? (err as { code?: string }).code ?? cause?.message ?? (err as Error).message;
  return new ApiError(0, 'UNREACHABLE', `cannot reach tollstream at ${endpoint} (${why}); is 'tollstream up' running? Set --endpoint or TOLLSTREAM_ENDPOINT to point elsewhere`, undefined, err);
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; context?: Record<string, unknown> } };
    if (body.error?.code) return new ApiError(res.status, body.error.code, body.error.message ?? res.statusText, body.error.context);
  } catch {
    // Not the API's error shape; report the status below.
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `the server answered ${res.status} ${res.statusText}${text ? ': ' + text.slice(0, 200) : ''}`);
}

/**
 * Request and response plumbing of the customer API, the same for HTTP/1.1 (`node:http`) and the HTTP/2
 * compatibility API (`node:http2`): a capped JSON body reader, JSON replies, and errors in the native API's
 * shape `{ error: { code, message, context } }`.
 *
 * The status of each error code follows the native API's table in `src/gateway/errors.ts`, which the
 * gateway does not export; only the codes this API can raise are repeated here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { TollstreamError, type ErrorCode } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';

export type IncomingRequest = IncomingMessage | Http2ServerRequest;
export type OutgoingResponse = ServerResponse | Http2ServerResponse;

/** The subset of both response classes used here (their overloads differ, their behaviour does not). */
interface ResponseLike {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed?: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string | Uint8Array): unknown;
  getHeader(name: string): unknown;
  setHeader(name: string, value: string): unknown;
}

export const asResponse = (res: OutgoingResponse): ResponseLike => res as unknown as ResponseLike;

/** The client closed the connection before its request body was complete: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the request body was complete');
  }
}

/** Statuses of the native API (`src/gateway/errors.ts`); codes absent here follow their kind: user 400, external 503, internal 500. */
const NATIVE_STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  THROUGHPUT_EXCEEDED: 429,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  LOG_CLOSED: 503,
};

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/** Writes a complete JSON response unless the client is gone or a response was already started. */
export function sendJson(res: OutgoingResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const r = asResponse(res);
  if (r.headersSent || r.writableEnded || r.destroyed) return;
  const payload = status === 204 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  r.writeHead(status, { ...JSON_HEADERS, ...headers, 'content-length': payload.length });
  r.end(payload);
}

/**
 * Answers `err` in the native error shape. Anything that is not a TollstreamError, or is an internal one,
 * is a bug or an outage: it is logged with the request id and answered without internals.
 */
export function sendError(req: IncomingRequest, res: OutgoingResponse, err: unknown, logger: Logger, requestId: string): void {
  const known = err instanceof TollstreamError ? err : undefined;
  if (!known || known.kind === 'internal') logger.error('request failed', { requestId, err: err instanceof Error ? err : String(err) });
  const code: ErrorCode = known?.code ?? 'INTERNAL';
  const status = NATIVE_STATUS[code] ?? (known === undefined ? 500 : known.kind === 'user' ? 400 : known.kind === 'external' ? 503 : 500);
  const message = known && known.kind !== 'internal' ? known.message : `internal error; the server log has the details (request id ${requestId})`;
  const context = known && known.kind !== 'internal' && Object.keys(known.context).length > 0 ? known.context : undefined;
  const headers: Record<string, string> = {};
  // The rest of an oversized body is not read, so an HTTP/1.1 connection cannot be reused.
  if (code === 'PAYLOAD_TOO_LARGE' && req.httpVersionMajor === 1) headers.connection = 'close';
  sendJson(res, status, { error: { code, message, ...(context ? { context } : {}) } }, headers);
}

/** Reads the whole body, refusing before buffering more than `limit` bytes (by Content-Length, or as it arrives). */
export function readBody(req: IncomingRequest, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit, Number(declared)));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onGone);
      req.removeListener('close', onGone);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onGone = () => finish(new ClientGoneError());
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onGone);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as a JSON object: 400 MALFORMED_REQUEST when it is not JSON, 400 INVALID_ARGUMENT when it is not an object. */
export async function readJsonObject(req: IncomingRequest, limit: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) throw new TollstreamError('MALFORMED_REQUEST', 'the request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(raw));
  } catch (err) {
    throw new TollstreamError('MALFORMED_REQUEST', `the request body is not valid UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TollstreamError('INVALID_ARGUMENT', 'the request body must be a JSON object', { context: { field: '(body)' } });
  }
  return value as Record<string, unknown>;
}

/** Reads and drops a body the route does not use (still capped), so a keep-alive connection stays usable. */
export async function discardBody(req: IncomingRequest, limit: number): Promise<void> {
  await readBody(req, limit);
}

function tooLarge(limit: number, declared?: number): TollstreamError {
  return new TollstreamError('PAYLOAD_TOO_LARGE', `the request body exceeds the ${limit} byte limit of the customer API`, {
    context: { limitBytes: limit, ...(declared !== undefined ? { contentLength: declared } : {}) },
  });
}

export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Request and response plumbing of the customer API, the same for HTTP/1.1 (`node:http`) and the HTTP/2
 * compatibility API (`node:http2`): JSON bodies and replies on top of the gateway's capped body reader, and
 * errors in the native API's shape through the gateway's one error mapping.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { TollstreamError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import { asResponse, errorResponse, readBody, send } from '../../../gateway/index.ts';

export { asResponse, ClientGoneError, readBody } from '../../../gateway/index.ts';

export type IncomingRequest = IncomingMessage | Http2ServerRequest;
export type OutgoingResponse = ServerResponse | Http2ServerResponse;

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
  const response = errorResponse(err, 'native', logger, requestId);
  const headers: Record<string, string> = { ...response.headers, 'cache-control': 'no-store' };
  // The rest of an oversized body is not read, so an HTTP/1.1 connection cannot be reused.
  if (response.status === 413 && req.httpVersionMajor === 1) headers.connection = 'close';
  send(res, response.status, headers, response.body);
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

export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

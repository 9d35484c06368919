/**
 * Request and response plumbing of the customer API, the same for HTTP/1.1 (`node:http`) and the HTTP/2
 * compatibility API (`node:http2`): JSON bodies and replies on top of the gateway's capped body reader, and
 * errors in the native API's shape through the gateway's one error mapping.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from '../../../core/logger.ts';
import { errorResponse, invalidField, isObject, jsonBody, readBody, send } from '../../../gateway/index.ts';

export { asResponse, ClientGoneError, readBody } from '../../../gateway/index.ts';

export type IncomingRequest = IncomingMessage | Http2ServerRequest;
export type OutgoingResponse = ServerResponse | Http2ServerResponse;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

/** Writes a complete JSON response unless the client is gone or a response was already started. */
export function sendJson(res: OutgoingResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { ...JSON_HEADERS, ...headers }, status === 204 ? '' : JSON.stringify(body));
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

/**
 * The body as a JSON object, read with the gateway's kit: 400 MALFORMED_REQUEST when it is not JSON; JSON that
 * is not an object is 400 INVALID_ARGUMENT naming `(body)`, as the customer API has always answered it.
 */
export async function readJsonObject(req: IncomingRequest, limit: number): Promise<Record<string, unknown>> {
  const value = jsonBody(await readBody(req, limit), 'a JSON object');
  if (!isObject(value)) throw invalidField('(body)', 'the request body must be a JSON object');
  return value;
}

/** Reads and drops a body the route does not use (still capped), so a keep-alive connection stays usable. */
export async function discardBody(req: IncomingRequest, limit: number): Promise<void> {
  await readBody(req, limit);
}

export function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

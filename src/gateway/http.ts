/**
 * What the handlers need from a request and a response, the same for HTTP/1.1 (`node:http`) and HTTP/2
 * (the `node:http2` compatibility API): reading a capped body and writing a complete or streamed reply.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { TollstreamError } from '../core/errors.ts';
import { bodyAllowanceOf, stalledBody } from './limits.ts';

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

/** The subset of both response classes the gateway uses (their overloads differ, their behaviour does not). */
interface ResponseLike {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed?: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(body?: string | Uint8Array): unknown;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): unknown;
}

/** A served route as API descriptions write it: `GET`, `/v1/streams/{stream}`. */
export interface ServedRoute {
  readonly method: string;
  /** The path template, each parameter as `{name}`. */
  readonly path: string;
}

/**
 * A component's HTTP routes, mounted by the gateway in front of its own (the customer API, the web pages).
 * The module answers every request it `matches`, errors included, in its own shape.
 */
export interface RouteModule {
  /** True when this module serves `method` on `path` (the path without its query string). */
  matches(method: string, path: string): boolean;
  /**
   * The methods `path` answers, for a module that matches a path whatever the method; HEAD need not be listed (the
   * gateway asks HEAD as GET). The gateway answers any other method 405 with `Allow` before `handle` runs.
   * Absent, or empty for a path: the module answers every method it matches itself. @default absent
   */
  methods?(path: string): readonly string[];
  /**
   * The routes this module serves (HEAD comes with GET), so the API's description can be checked against what is
   * served. Absent for a module of browser pages. @default absent
   */
  routes?(): readonly ServedRoute[];
  handle(req: Request, res: Response): Promise<void>;
}

export const asResponse = (res: Response): ResponseLike => res as unknown as ResponseLike;

/** Raised when the client went away before its request body was complete: nobody is left to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the request body was complete');
  }
}

export function isHttp1(req: Request): req is IncomingMessage {
  return req.httpVersionMajor === 1;
}

/**
 * Reads the whole body, refusing before buffering more than `limit` bytes. Chunks are copied once,
 * into one buffer, at the end. A request from the protocol server also draws on the server's budget of body
 * bytes in flight (a declared Content-Length is reserved before the first byte is read; OVERLOADED when the
 * budget is spent) and is abandoned with REQUEST_TIMEOUT when its body stalls.
 */
export function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit, Number(declared)));
  }
  const allowance = bodyAllowanceOf(req);
  if (allowance && declared !== undefined && Number.isSafeInteger(Number(declared))) {
    try {
      allowance.cover(Number(declared));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const stall = allowance ? setTimeout(() => finish(stalledBody(allowance.stallTimeoutMs)), allowance.stallTimeoutMs) : undefined;
    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(stall);
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onGone);
      req.removeListener('close', onGone);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish(tooLarge(limit));
        return;
      }
      try {
        allowance?.cover(size);
      } catch (err) {
        finish(err as Error);
        return;
      }
      stall?.refresh();
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined);
    const onGone = () => finish(new ClientGoneError());
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onGone);
  });
}

function tooLarge(limit: number, declared?: number): TollstreamError {
  return new TollstreamError('PAYLOAD_TOO_LARGE', `the request body exceeds the ${limit} byte limit; split it into smaller requests`, {
    context: { limitBytes: limit, ...(declared !== undefined ? { contentLength: declared } : {}) },
  });
}

/** Writes a complete response unless the client is gone or a response was already started. */
export function send(res: Response, status: number, headers: Record<string, string>, body: string | Buffer): void {
  const r = asResponse(res);
  if (r.headersSent || r.writableEnded || r.destroyed) return;
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  r.writeHead(status, { ...headers, 'content-length': payload.length });
  r.end(payload);
}

/** Writes one chunk of a streamed response, waiting while the client's buffers are full. */
export async function writeChunk(res: Response, chunk: string | Uint8Array): Promise<void> {
  const r = asResponse(res);
  if (r.destroyed || r.writableEnded) return;
  if (!r.write(chunk)) {
    await new Promise<void>((resolve) => {
      // Both listeners go once either fires: a long stream waits for drain thousands of times.
      const done = () => {
        r.removeListener('drain', done);
        r.removeListener('close', done);
        resolve();
      };
      r.once('drain', done);
      r.once('close', done);
    });
  }
}

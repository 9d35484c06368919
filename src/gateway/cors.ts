/**
 * CORS for browser clients (the AWS SDK for JavaScript in a page, a page's own fetch): preflights are answered
 * without authentication, and answers to listed origins carry the headers that let the page read them. An origin
 * not listed simply gets no CORS headers; the browser then keeps the answer from the page. The real request is
 * authenticated as any other, so CORS widens nothing a non-browser client could not already do.
 */
import type { Request, Response } from './http.ts';
import { asResponse, send } from './http.ts';

/** Methods the gateway's APIs use (Kinesis and Firehose: POST; the native API: the rest). */
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, HEAD';
/**
 * Headers a page may send when the preflight did not name any; when it did, they are allowed as named, since
 * the SDK adds its own (`amz-sdk-invocation-id`, `amz-sdk-request`, `x-amz-user-agent`...) and every request is
 * authenticated on its own merits.
 */
const DEFAULT_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-amz-target',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'x-amz-user-agent',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
].join(', ');
/** Response headers the SDKs read: the request id and error type (the SDK's error parsing), retry hints. */
const EXPOSED_HEADERS = ['x-amzn-requestid', 'x-amzn-errortype', 'x-amzn-errormessage', 'x-amz-id-2', 'x-amz-request-id', 'retry-after', 'date'].join(', ');
/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;
/** A comma-separated list of header names, as a preflight's Access-Control-Request-Headers carries. */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

export interface Cors {
  /**
   * Answers the request when it is a CORS preflight (true). Any other request is left to the routes (false),
   * with the CORS headers set for its answer when it comes from an allowed origin.
   */
  handle(req: Request, res: Response): boolean;
}

/** `origins`: as `http.corsOrigins` (validated there); empty allows no page, `*` any page. */
export function createCors(origins: readonly string[]): Cors {
  const anyOrigin = origins.includes('*');
  const listed = new Set(origins.map((o) => o.toLowerCase()));
  const allowedOrigin = (req: Request): string | undefined => {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || origin === '') return undefined;
    if (anyOrigin) return '*';
    return listed.has(origin.toLowerCase()) ? origin : undefined;
  };

  return {
    handle(req, res) {
      if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) {
        allow(req, res);
        return false;
      }
      const origin = allowedOrigin(req);
      const headers: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
      if (origin !== undefined) {
        const requested = req.headers['access-control-request-headers'];
        headers['access-control-allow-origin'] = origin;
        headers['access-control-allow-methods'] = ALLOWED_METHODS;
        headers['access-control-allow-headers'] = typeof requested === 'string' && HEADER_LIST.test(requested.trim()) ? requested.trim() : DEFAULT_ALLOWED_HEADERS;
        headers['access-control-max-age'] = String(PREFLIGHT_MAX_AGE_SECONDS);
      }
      send(res, 204, headers, '');
      return true;
    },
  };

  function allow(req: Request, res: Response): void {
    const r = asResponse(res);
    // With a list of origins the answer depends on the Origin header, even when it carries no CORS headers.
    if (listed.size > 0 && !anyOrigin) r.setHeader('vary', 'Origin');
    const origin = allowedOrigin(req);
    if (origin === undefined) return;
    r.setHeader('access-control-allow-origin', origin);
    r.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  }
}

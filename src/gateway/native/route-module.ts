/**
 * A route module of the native API whose requests need the operator's key: answers the paths under its
 * prefixes, checks the key first, and answers errors in the native shape.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { errorResponse } from '../errors.ts';
import { asResponse, ClientGoneError, readBody, send, type Request, type Response, type RouteModule } from '../http.ts';
import { jsonObject, pathParts } from '../validate.ts';

export interface OperatorRoutesOptions {
  /** Throws UNAUTHORIZED; the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  readonly logger: Logger;
}

/** `parts`: the path after the prefix, split on `/` and decoded; `query`: its parameters. */
export type OperatorRoute = (req: Request, res: Response, parts: readonly string[], query: URLSearchParams) => Promise<void> | void;

let requestCounter = 0;

/**
 * The methods a path answers, from its `parts` as an `OperatorRoute` gets them; none when it is no route. A
 * request whose method is not among them is answered 405 with `Allow` before the route runs (by the gateway,
 * through the module's `methods`, and by the module itself where it is mounted without the gateway).
 */
export type OperatorMethods = (parts: readonly string[]) => readonly string[];

export function operatorRoutes(prefix: string, options: OperatorRoutesOptions, route: OperatorRoute, methods?: OperatorMethods): RouteModule {
  return {
    matches: (_method, path) => path === prefix || path.startsWith(`${prefix}/`),
    ...(methods ? { methods: (path: string) => methods(partsOf(path, prefix)) } : {}),
    async handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      try {
        options.operatorAuth(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
        const parts = partsOf(path, prefix);
        refuseUnservedMethod(req.method, path, methods?.(parts) ?? []);
        await route(req, res, parts, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
      } catch (err) {
        if (err instanceof ClientGoneError) return;
        const r = asResponse(res);
        if (r.headersSent) {
          if (!r.writableEnded) r.end();
          return;
        }
        const answer = errorResponse(err, 'native', options.logger, `op-${(requestCounter++).toString(36)}`);
        send(res, answer.status, answer.headers, answer.body);
      }
    },
  };
}

/** The path after `prefix`, split on `/` and decoded, without empty segments. */
function partsOf(path: string, prefix: string): string[] {
  return pathParts(path, prefix).filter((p) => p !== '');
}

export function sendJson(res: Response, status: number, body: unknown): void {
  send(res, status, { 'content-type': 'application/json' }, JSON.stringify(body));
}

/** The request body as a JSON object, refusing more than `limit` bytes. */
export async function readJsonObject(req: Request, limit: number): Promise<Record<string, unknown>> {
  return jsonObject(await readBody(req, limit));
}

/**
 * 405 for a path that answers other methods: `served` are the methods it answers; HEAD joins GET (the gateway
 * answers HEAD as GET without the body) unless `headToo` is false. The error response carries them in `Allow`.
 */
export function methodNotAllowed(method: string | undefined, path: string, served: readonly string[], headToo = true): TollstreamError {
  const allow = served.flatMap((m) => (m === 'GET' && headToo ? ['GET', 'HEAD'] : [m]));
  return new TollstreamError('METHOD_NOT_ALLOWED', `${path} does not answer ${method ?? 'GET'}; it answers ${allow.join(', ')}`, {
    context: { method: method ?? 'GET', path, allow },
  });
}

/** Throws METHOD_NOT_ALLOWED when `served` is not empty and does not hold `method` (HEAD counts as GET). */
export function refuseUnservedMethod(method: string | undefined, path: string, served: readonly string[]): void {
  const asked = method === 'HEAD' ? 'GET' : (method ?? 'GET');
  if (served.length > 0 && !served.includes(asked)) throw methodNotAllowed(method, path, served);
}

export function noRoute(req: Request, path: string, where: string): TollstreamError {
  return new TollstreamError('NOT_FOUND', `no route ${req.method ?? 'GET'} ${path}; ${where}`);
}

/**
 * A route module of the native API whose requests need the operator's key: answers the paths under its
 * prefixes, checks the key first, and answers errors in the native shape.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { errorResponse } from '../errors.ts';
import { asResponse, ClientGoneError, readBody, send, type Request, type Response, type RouteModule } from '../http.ts';
import { createRouter, methodNotAllowedError, type RouteSpec } from '../router.ts';
import { jsonObject } from '../validate.ts';

export interface OperatorRoutesOptions {
  /** Throws UNAUTHORIZED; the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  readonly logger: Logger;
}

/** A route's handler: `params` are the path's parameters, decoded; `query` its query string. */
export type OperatorRoute = (req: Request, res: Response, params: Readonly<Record<string, string>>, query: URLSearchParams) => Promise<void> | void;

let requestCounter = 0;

/**
 * The module answering every path under `prefix` by the route table `routes` (patterns include the prefix): the key
 * is checked first, then a path of the table asked with another method is 405 with `Allow`, and any other path under
 * the prefix 404 ending with `where` (where its routes are listed). Mounted on the gateway, a 405 comes before the
 * key (`methods`): which methods a path answers is public.
 */
export function operatorRoutes(prefix: string, options: OperatorRoutesOptions, routes: ReadonlyArray<RouteSpec<OperatorRoute>>, where: string): RouteModule {
  const router = createRouter(routes);
  return {
    matches: (_method, path) => path === prefix || path.startsWith(`${prefix}/`),
    // HEAD is the gateway's to add (it asks HEAD as GET).
    methods: (path) => router.allowed(path).filter((m) => m !== 'HEAD'),
    routes: () => router.list().map(({ method, path }) => ({ method, path })),
    async handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      try {
        options.operatorAuth(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
        const { route, params } = router.route(req.method ?? 'GET', path, where);
        await route(req, res, params, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
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

export function sendJson(res: Response, status: number, body: unknown): void {
  send(res, status, { 'content-type': 'application/json' }, JSON.stringify(body));
}

/** The request body as a JSON object, refusing more than `limit` bytes. */
export async function readJsonObject(req: Request, limit: number): Promise<Record<string, unknown>> {
  return jsonObject(await readBody(req, limit));
}

/**
 * 405 for a path that answers other methods: `served` are the methods it answers; HEAD joins GET (the gateway
 * answers HEAD as GET without the body). The error response carries them in `Allow`.
 */
export function methodNotAllowed(method: string | undefined, path: string, served: readonly string[]): TollstreamError {
  return methodNotAllowedError(method ?? 'GET', path, served.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])));
}

/** Throws METHOD_NOT_ALLOWED when `served` is not empty and does not hold `method` (HEAD counts as GET). */
export function refuseUnservedMethod(method: string | undefined, path: string, served: readonly string[]): void {
  const asked = method === 'HEAD' ? 'GET' : (method ?? 'GET');
  if (served.length > 0 && !served.includes(asked)) throw methodNotAllowed(method, path, served);
}

/**
 * `GET /openapi.json`: the OpenAPI 3.1 description of the native and customer APIs (docs/openapi.json), for
 * code generators and API browsers. Served without a key, as /health is: it describes the API, not its data.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TollstreamError } from '../core/errors.ts';
import { send, type RouteModule } from '../gateway/index.ts';

const DOCUMENT = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

export function createOpenApiRoute(file = DOCUMENT): RouteModule {
  let body: string;
  try {
    body = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TollstreamError('IO_ERROR', `cannot read the OpenAPI description ${file}: ${(err as Error).message}`, { context: { path: file }, cause: err });
  }
  return {
    matches: (method, path) => path === '/openapi.json' && method === 'GET',
    routes: () => [{ method: 'GET', path: '/openapi.json' }],
    handle: async (_req, res) => send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }, body),
  };
}

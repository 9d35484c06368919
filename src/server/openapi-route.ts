/**
 * `GET /openapi.json`: the OpenAPI 3.1 description of the native and customer APIs (docs/openapi.json), for
 * code generators and API browsers. Served without a key, as /health is: it describes the API, not its data.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TollstreamError } from '../core/errors.ts';
import { createRouter, send, type RouteModule } from '../gateway/index.ts';

const DOCUMENT = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

export function createOpenApiRoute(file = DOCUMENT): RouteModule {
  let body: string;
  try {
    body = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TollstreamError('IO_ERROR', `cannot read the OpenAPI description ${file}: ${(err as Error).message}`, { context: { path: file }, cause: err });
  }
  // Not decoded: the gateway asks every module whether it matches, and this one answers only its literal path.
  const router = createRouter([{ pattern: 'GET /openapi.json', route: 'openapi' }], { decode: false });
  return {
    // The path whatever the method: the gateway answers HEAD as GET and another method 405 with Allow, from the table.
    matches: (_method, path) => router.allowed(path).length > 0,
    methods: (path) => router.allowed(path).filter((m) => m !== 'HEAD'),
    routes: () => [{ method: 'GET', path: '/openapi.json' }],
    handle: async (_req, res) => send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }, body),
  };
}

/**
 * What HTTP asks of the gateway's answers, as a client sees them: a path asked with a method it does not answer
 * gets 405 with `Allow` (native routes, /health and /metrics, route modules), and every 401 of the native shape
 * names its scheme in `WWW-Authenticate`; the Kinesis API keeps its own error shape.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { createAuthenticator, createTablesApi, send, type RouteModule } from '../../src/gateway/index.ts';
import { createOpenApiRoute } from '../../src/server/openapi-route.ts';
import { createStaticRoutes } from '../../src/web/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../../src/tables/index.ts';
import { startTestServer, TEST_CREDENTIALS, uniqueName, type TestServer } from '../support/test-server.ts';

const KEY = 'k-' + crypto.randomBytes(8).toString('hex');
let server: TestServer;
let tables: Tables;
let dir: string;
let stream: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-methods-'));
  tables = openTables({ path: path.join(dir, 'tables.db') });
  const authenticator = createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: ['sha256:' + crypto.createHash('sha256').update(KEY).digest('hex')] });
  const operatorAuth = (header: string | undefined) => authenticator.verifyBearer(header);
  // A module as an app writes one that owns its paths whatever the method, and says which methods each answers.
  const things: RouteModule = {
    matches: (_method, p) => p === '/things',
    methods: () => ['POST'],
    handle: async (_req, res) => send(res, 201, {}, ''),
  };
  server = await startTestServer({ authenticator, routes: [createTablesApi(sqliteTableStore(tables), { operatorAuth, logger: silentLogger }), createOpenApiRoute(), createStaticRoutes({ root: dir }), things] });
  stream = uniqueName();
  expect((await call('POST', '/v1/streams', JSON.stringify({ name: stream }))).status).toBe(201);
});
afterAll(async () => {
  await server.close();
  tables.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function call(method: string, p: string, body?: string, key: string | null = KEY): Promise<Response> {
  return fetch(server.url + p, { method, ...(body === undefined ? {} : { body }), headers: key === null ? {} : { authorization: `Bearer ${key}` } });
}

describe('a method the path does not answer', () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', '/v1/streams', 'GET, HEAD, POST'],
    ['PATCH', '/v1/streams/STREAM', 'GET, HEAD, DELETE'],
    ['GET', '/v1/streams/STREAM/records', 'POST'],
    ['GET', '/v1/warehouse/query', 'POST'],
    ['DELETE', '/v1/reports', 'GET, HEAD'],
    ['POST', '/health', 'GET, HEAD'],
    ['DELETE', '/metrics', 'GET, HEAD'],
    ['POST', '/v1/tables', 'GET, HEAD'],
    ['DELETE', '/v1/tables/t/scan', 'GET, HEAD'],
    ['PUT', '/openapi.json', 'GET, HEAD'],
    ['POST', '/console/', 'GET, HEAD'],
    ['DELETE', '/assets/app-1.js', 'GET, HEAD'],
    ['GET', '/things', 'POST'],
    ['HEAD', '/things', 'POST'],
    // A tail never ends: HEAD is not offered there.
    ['HEAD', '/v1/streams/STREAM/tail', 'GET'],
  ];
  for (const [method, p, allow] of cases) {
    it(`${method} ${p} is 405 with Allow: ${allow}`, async () => {
      const res = await call(method, p.replace('STREAM', stream));
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      if (method !== 'HEAD') expect(await res.json()).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED', context: { allow: allow.split(', ') } } });
    });
  }

  it('leaves a path nobody answers at 404, without Allow', async () => {
    for (const p of ['/v1/nothing', '/nothing', '/v1/streams/x/y/z', '/v1/tables/t/nothing']) {
      const res = await call('PUT', p);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('allow'), p).toBeNull();
    }
  });

  it('does not change what the served methods answer', async () => {
    expect((await call('GET', `/v1/streams/${stream}`)).status).toBe(200);
    expect((await call('HEAD', '/v1/tables')).status).toBe(200);
    expect((await call('GET', '/openapi.json')).status).toBe(200);
    expect((await call('HEAD', '/openapi.json')).status).toBe(200);
    expect((await call('POST', '/things')).status).toBe(201);
  });
});

describe('401', () => {
  it('names the bearer scheme on the native API, with no key and with a wrong one', async () => {
    for (const key of [null, 'wrong-key']) {
      const res = await call('GET', '/v1/streams', undefined, key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollstream"');
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('names it on a route module behind the operator key too', async () => {
    const res = await call('GET', '/v1/tables', undefined, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollstream"');
  });

  it('is not added to answers that are not 401, nor to the Kinesis API, which keeps its own error shape', async () => {
    expect((await call('GET', '/v1/streams')).headers.get('www-authenticate')).toBeNull();
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'Kinesis_20131202.ListStreams', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(res.headers.get('www-authenticate')).toBeNull();
  });
});

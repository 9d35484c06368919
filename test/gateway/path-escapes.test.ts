/**
 * A broken percent-escape in a path is the client's mistake, not an unknown route: every native route and the
 * operator route modules answer 400 MALFORMED_REQUEST naming the path, whatever the method.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { createAuthenticator, createTablesApi } from '../../src/gateway/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../../src/tables/index.ts';
import { startTestServer, TEST_CREDENTIALS, type TestServer } from '../support/test-server.ts';

const KEY = 'k-' + crypto.randomBytes(8).toString('hex');
const BROKEN = '%E0%A4%A';
let server: TestServer;
let tables: Tables;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-escapes-'));
  tables = openTables({ path: path.join(dir, 'tables.db') });
  const authenticator = createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: ['sha256:' + crypto.createHash('sha256').update(KEY).digest('hex')] });
  const operatorAuth = (header: string | undefined) => authenticator.verifyBearer(header);
  server = await startTestServer({ authenticator, routes: [createTablesApi(sqliteTableStore(tables), { operatorAuth, logger: silentLogger })] });
});
afterAll(async () => {
  await server.close();
  tables.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a path with a broken percent-escape', () => {
  const cases: Array<[string, string]> = [
    ['GET', `/v1/streams/${BROKEN}`],
    ['DELETE', `/v1/streams/${BROKEN}`],
    ['POST', `/v1/streams/${BROKEN}/records`],
    ['GET', `/v1/streams/${BROKEN}/tail`],
    ['GET', `/v1/reports/${BROKEN}`],
    ['PUT', `/v1/reference/${BROKEN}`],
    ['GET', `/v1/queries/${BROKEN}`],
    ['POST', `/v1/queries/${BROKEN}/stop`],
    ['PUT', `/v1/reference/files/${BROKEN}`],
    ['GET', `/v1/tables/${BROKEN}/scan`],
    ['HEAD', `/v1/queries/${BROKEN}`],
    // Outside /v1 too: the gateway's own table (/health, /metrics) is asked through the same router.
    ['GET', `/nothing/${BROKEN}`],
  ];
  for (const [method, p] of cases) {
    it(`${method} ${p} is 400 MALFORMED_REQUEST naming the path`, async () => {
      const res = await fetch(server.url + p + '?limit=1', { method, headers: { authorization: `Bearer ${KEY}` }, ...(method === 'GET' || method === 'HEAD' || method === 'DELETE' ? {} : { body: '{}' }) });
      expect(res.status).toBe(400);
      if (method === 'HEAD') return;
      const body = (await res.json()) as { error: { code: string; message: string; context?: Record<string, unknown> } };
      expect(body.error.code).toBe('MALFORMED_REQUEST');
      expect(body.error.message).toContain(p);
      expect(body.error.context).toMatchObject({ path: p });
    });
  }

  it('still decodes a good escape: a stream whose name needs one is found by it', async () => {
    const res = await fetch(`${server.url}/v1/streams/no%2Dsuch%2Dstream`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('no-such-stream');
  });
});

/**
 * Bad requests get clear 4xx answers in the native error shape, and the server keeps serving: broken JSON,
 * oversized bodies (declared and streamed, HTTP/1.1 and HTTP/2), wrong types naming the field, bad
 * thresholds, bad query parameters, and routes or methods the API does not have.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startApiServer, type ApiServer } from './helpers.ts';

const LIMIT = 64 * 1024;

let server: ApiServer;
let h2: ApiServer;
let token: string;

async function expectServing(target = server): Promise<void> {
  const res = await call(target.url, 'GET', '/v1/me', { auth: target === server ? token : 'x' });
  expect(res.status).toBe(target === server ? 200 : 401);
}

beforeAll(async () => {
  [server, h2] = await Promise.all([startApiServer(), startApiServer({ protocol: 'http2' })]);
  await server.customers.create({ id: 'R1', name: 'Rae', email: 'rae@example.com' });
  token = (await server.customers.issueToken('R1')).token;
});

afterAll(async () => {
  await Promise.all([server?.close(), h2?.close()]);
});

describe('bodies', () => {
  it('answers 400 MALFORMED_REQUEST for bodies that are not JSON', async () => {
    for (const body of ['{"threshold_cents": ', 'threshold_cents=5', '{"a":1}{"b":2}', '']) {
      const res = await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body, headers: { 'content-type': 'application/json' } });
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe('MALFORMED_REQUEST');
    }
    const invalidUtf8 = await fetch(`${server.url}/v1/me/threshold`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]) });
    expect(invalidUtf8.status).toBe(400);
    expect(((await invalidUtf8.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_REQUEST');
  });

  it('answers 400 INVALID_ARGUMENT for JSON that is not an object', async () => {
    for (const body of ['[1,2]', '"threshold"', '42', 'null']) {
      const res = await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body });
      expect(res).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    }
  });

  it('answers 413 for a declared Content-Length past the limit, and for a streamed body that grows past it', async () => {
    const declared = await fetch(`${server.url}/v1/me/threshold`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: Buffer.alloc(LIMIT + 1, 0x20) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', context: { limitBytes: LIMIT } } });
    const op = server.operatorKey!;
    const chunks = Array.from({ length: 40 }, () => Buffer.alloc(4096, 0x20));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.pop();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const streamed = await fetch(`${server.url}/v1/customers`, { method: 'POST', headers: { authorization: `Bearer ${op}` }, body, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    const exactly = JSON.stringify({ threshold_cents: 5 }).padEnd(LIMIT, ' ');
    expect((await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body: exactly })).status).toBe(200);
    await expectServing();
  });

  it('answers 413 over HTTP/2 too', async () => {
    const session = http2.connect(h2.url);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/v1/customers', authorization: `Bearer ${h2.operatorKey}` });
        req.on('response', (headers) => resolve(Number(headers[':status'])));
        req.on('error', reject);
        req.end(Buffer.alloc(100 * 1024, 0x20));
      });
      expect(status).toBe(413);
    } finally {
      session.close();
    }
  });
});

describe('fields', () => {
  it('refuses thresholds that are not whole cents of 0 or more, naming the field', async () => {
    for (const threshold of [-1, 1.5, 0.1, '100', true, [100], { cents: 100 }, 2 ** 53, 1e300]) {
      const res = await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body: { threshold_cents: threshold } });
      expect(res.status, JSON.stringify(threshold)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_ARGUMENT', context: { field: 'threshold_cents' } });
      expect(res.body.error.message).toContain('threshold_cents');
    }
    const missing = await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body: {} });
    expect(missing.body.error).toMatchObject({ code: 'INVALID_ARGUMENT', context: { field: 'threshold_cents' } });
    expect((await call(server.url, 'GET', '/v1/me', { auth: token })).body.threshold_cents).toBe(5);
    expect((await call(server.url, 'PUT', '/v1/me/threshold', { auth: token, body: { threshold_cents: 0 } })).body).toMatchObject({ threshold_cents: 0 });
  });

  it('names the field of wrong types on operator routes and read marks', async () => {
    const op = server.operatorKey!;
    const cases: Array<{ method: string; path: string; body: unknown; field: string; auth?: string }> = [
      { method: 'POST', path: '/v1/customers', body: { customer_id: 17, email: 'a@example.com' }, field: 'customer_id' },
      { method: 'POST', path: '/v1/customers', body: { email: 'a@example.com' }, field: 'customer_id' },
      { method: 'POST', path: '/v1/customers', body: { customer_id: 'N1', name: ['x'], email: 'a@example.com' }, field: 'name' },
      { method: 'POST', path: '/v1/customers', body: { customer_id: 'N1', name: 'N' }, field: 'email' },
      { method: 'POST', path: '/v1/customers', body: { customer_id: 'N1', email: 'a@example.com', threshold_cents: 5 }, field: 'threshold_cents' },
      { method: 'PUT', path: '/v1/customers/R1', body: { email: 5 }, field: 'email' },
      { method: 'PUT', path: '/v1/customers/R1', body: { time_zone: 3 }, field: 'time_zone' },
      { method: 'PUT', path: '/v1/customers/R1', body: { customer_id: 'R2' }, field: 'customer_id' },
      { method: 'POST', path: '/v1/me/notifications/read', body: { ids: 'all' }, field: 'ids', auth: token },
      { method: 'POST', path: '/v1/me/notifications/read', body: { ids: [1, 'x'] }, field: 'ids', auth: token },
      { method: 'POST', path: '/v1/me/notifications/read', body: { ids: [1.5] }, field: 'ids', auth: token },
      { method: 'POST', path: '/v1/me/notifications/read', body: { ids: Array.from({ length: 1001 }, (_, i) => i + 1) }, field: 'ids', auth: token },
    ];
    for (const c of cases) {
      const res = await call(server.url, c.method, c.path, { auth: c.auth ?? op, body: c.body });
      expect({ path: c.path, status: res.status, field: res.body.error?.context?.field }).toEqual({ path: c.path, status: 400, field: c.field });
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
    const badZone = await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'N2', email: 'n@example.com', time_zone: 'Mars/Olympus' } });
    expect(badZone).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    expect(badZone.body.error.message).toContain('Mars/Olympus');
    expect(await server.customers.get('N1')).toBeUndefined();
  });

  it('takes customer ids with reserved characters percent-encoded in the path, and refuses broken escapes', async () => {
    const op = server.operatorKey!;
    const id = 'C/1%?#x';
    expect((await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: id, email: 'odd@example.com' } })).status).toBe(201);
    expect((await call(server.url, 'GET', `/v1/customers/${encodeURIComponent(id)}`, { auth: op })).body.customer_id).toBe(id);
    expect((await call(server.url, 'POST', `/v1/customers/${encodeURIComponent(id)}/tokens`, { auth: op })).status).toBe(201);
    // The same answer as the native routes give a broken escape: 400 MALFORMED_REQUEST naming the path.
    const brokenPaths: Array<[string, string, string | undefined]> = [
      ['GET', '/v1/customers/%E0%A4%A', op],
      ['PUT', '/v1/customers/%E0%A4%A/threshold', op],
      ['DELETE', `/v1/customers/${encodeURIComponent(id)}/tokens/%E0%A4%A`, op],
      ['GET', '/v1/me/%E0%A4%A', token],
    ];
    for (const [method, p, auth] of brokenPaths) {
      const broken = await call(server.url, method, p, { auth, ...(method === 'PUT' ? { body: { threshold_cents: 1 } } : {}) });
      expect({ method, p, status: broken.status, code: broken.body.error?.code, context: broken.body.error?.context }).toEqual({
        method,
        p,
        status: 400,
        code: 'MALFORMED_REQUEST',
        context: { path: p },
      });
    }
  });

  it('refuses bad query parameters and a bad Last-Event-ID before the stream starts', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'after=-1', 'after=1.5', 'limit=5&limit=6']) {
      const res = await call(server.url, 'GET', `/v1/me/notifications?${query}`, { auth: token });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('INVALID_ARGUMENT');
    }
    const stream = await fetch(`${server.url}/v1/me/notifications/stream`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': 'abc' } });
    expect(stream.status).toBe(400);
    expect(await stream.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', context: { field: 'Last-Event-ID' } } });
    expect((await fetch(`${server.url}/v1/me/notifications/stream?access_token=${token}&lastEventId=-3`)).status).toBe(400);
  });
});

describe('routes and auth', () => {
  it('answers 404 NOT_FOUND for unknown routes under /v1/me and /v1/customers, and 405 with what a route takes for another method', async () => {
    for (const path of ['/v1/me/', '/v1/me/thresholds', '/v1/me/spend/today', '/v1/me/notifications/unread', '/v1/me/tokens', '/v1/customers/', '/v1/customers/R1/tokens/x/y']) {
      const res = await call(server.url, 'GET', path, { auth: token });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
    const wrongMethod = await call(server.url, 'DELETE', '/v1/me/threshold', { auth: token });
    expect(wrongMethod).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', context: { allow: ['PUT'] } } } });
    expect((await call(server.url, 'POST', '/v1/me/spend', { auth: token, body: {} })).body.error.message).toContain('answers GET, HEAD');
  });

  it('claims only its own paths', () => {
    expect(server.api.matches('GET', '/v1/me')).toBe(true);
    expect(server.api.matches('DELETE', '/v1/me/anything')).toBe(true);
    expect(server.api.matches('POST', '/v1/customers')).toBe(true);
    for (const path of ['/v1/streams', '/v1/mess', '/v1/meta', '/v1/customersx', '/v1', '/health', '/v1/reports']) expect(server.api.matches('GET', path)).toBe(false);
  });

  it('answers 401 naming the bearer scheme for a missing, malformed or unknown customer token', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', `Bearer ${token}x`, `Bearer ${'A'.repeat(43)}`, `Bearer ${token} extra`]) {
      const res = await fetch(`${server.url}/v1/me`, { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate'), authorization).toBe('Bearer realm="tollstream"');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    await expectServing();
  });
});

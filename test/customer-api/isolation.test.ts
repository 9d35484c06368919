/**
 * Isolation: customer A's token can neither read nor change anything of customer B, through any customer
 * route (path ids, query parameters, body fields, notification ids, Last-Event-ID, a second token in the
 * query) or any operator route; and no customer token works on operator routes once an operator key is set.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseReader } from '../support/sse.ts';
import { call, startApiServer, toll, type ApiServer } from './helpers.ts';

const B_NAME = 'Bartholomew Secretname';
const B_EMAIL = 'bart.secret@example.com';
const B_SPEND = 7777;

let server: ApiServer;
let tokenA: string;
let tokenB: string;
let tokenIdB: string;
let idsB: number[];

/** Everything of B that A must not change. */
async function stateOfB() {
  const notify = server.stores.notify;
  return {
    customer: await server.customers.get('C-B'),
    spend: await server.spend.monthToDate('C-B'),
    inbox: notify.listInbox('C-B', { limit: 500 }),
    unread: notify.unreadCount('C-B'),
    tokens: await server.customers.listTokens('C-B'),
  };
}

/** Nothing only B has may appear in what A gets back. */
function expectNothingOfB(text: string): void {
  expect(text).not.toContain(B_NAME);
  expect(text).not.toContain(B_EMAIL);
  expect(text).not.toContain(String(B_SPEND));
  expect(text).not.toContain(tokenB);
  expect(text).not.toContain(tokenIdB);
}

async function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  server = await startApiServer();
  const op = server.operatorKey!;
  await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'C-A', name: 'Ada', email: 'ada@example.com' } });
  await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'C-B', name: B_NAME, email: B_EMAIL } });
  tokenA = (await call(server.url, 'POST', '/v1/customers/C-A/tokens', { auth: op })).body.token;
  const b = (await call(server.url, 'POST', '/v1/customers/C-B/tokens', { auth: op })).body;
  tokenB = b.token;
  tokenIdB = b.token_id;
  await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenA, body: { threshold_cents: 100 } });
  await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenB, body: { threshold_cents: 5000 } });
  await server.appendTolls([toll('C-A', 150), toll('C-B', B_SPEND)]);
  // Both breached: wait for both inboxes.
  for (let i = 0; server.stores.notify.listInbox('C-B').length === 0 || server.stores.notify.listInbox('C-A').length === 0; i++) {
    if (i > 2000) throw new Error('the breaches never reached the inboxes');
    await new Promise((r) => setTimeout(r, 10));
  }
  idsB = server.stores.notify.listInbox('C-B').map((e) => e.id);
});

afterAll(async () => {
  await server?.close();
});

describe('customer A against customer B', () => {
  it('sees only itself on every customer route', async () => {
    const me = await call(server.url, 'GET', '/v1/me', { auth: tokenA });
    expect(me.body.customer_id).toBe('C-A');
    const spend = await call(server.url, 'GET', '/v1/me/spend', { auth: tokenA });
    expect(spend.body.total_cents).toBe(150);
    const list = await call(server.url, 'GET', '/v1/me/notifications?limit=500', { auth: tokenA });
    expect(list.body.notifications.length).toBeGreaterThan(0);
    for (const n of list.body.notifications) {
      expect(n.message.customer_id).toBe('C-A');
      expect(idsB).not.toContain(n.id);
    }
    for (const r of [me, spend, list]) expectNothingOfB(JSON.stringify(r.body));
  });

  it('cannot name B in a path, a query parameter or a body field of any customer route', async () => {
    const before = await stateOfB();
    const attempts: Array<{ method: string; path: string; body?: unknown; status: number }> = [
      ...['/v1/me', '/v1/me/spend', '/v1/me/notifications', '/v1/me/notifications/stream'].flatMap((path) => [
        { method: 'GET', path: `${path}?customer_id=C-B`, status: 400 },
        { method: 'GET', path: `${path}?customer=C-B`, status: 400 },
        { method: 'GET', path: `${path}?id=C-B`, status: 400 },
      ]),
      { method: 'GET', path: '/v1/me/C-B', status: 404 },
      { method: 'GET', path: '/v1/me/spend/C-B', status: 404 },
      { method: 'GET', path: '/v1/me/notifications/C-B', status: 404 },
      { method: 'GET', path: '/v1/me/customers/C-B', status: 404 },
      { method: 'GET', path: '/v1/me/C-B/spend', status: 404 },
      { method: 'GET', path: `/v1/me/notifications/${idsB[0]}`, status: 404 },
      { method: 'GET', path: '/v1/me/spend?access_token=' + tokenB, status: 400 },
      { method: 'GET', path: '/v1/me?access_token=' + tokenB, status: 400 },
      { method: 'PUT', path: '/v1/me/threshold', body: { threshold_cents: 1, customer_id: 'C-B' }, status: 400 },
      { method: 'PUT', path: '/v1/me/threshold?customer_id=C-B', body: { threshold_cents: 1 }, status: 400 },
      { method: 'PUT', path: '/v1/me/threshold', body: { threshold_cents: 1, customer: { id: 'C-B' } }, status: 400 },
      { method: 'PUT', path: '/v1/me/C-B/threshold', body: { threshold_cents: 1 }, status: 404 },
      { method: 'POST', path: '/v1/me/notifications/read', body: { ids: idsB, customer_id: 'C-B' }, status: 400 },
      { method: 'POST', path: '/v1/me/notifications/read?customer_id=C-B', body: { ids: idsB }, status: 400 },
    ];
    for (const attempt of attempts) {
      const res = await call(server.url, attempt.method, attempt.path, { auth: tokenA, ...(attempt.body !== undefined ? { body: attempt.body } : {}) });
      expect({ ...attempt, status: res.status }).toEqual(attempt);
      expect(res.body.error.code).toMatch(attempt.status === 404 ? /^NOT_FOUND$/ : /^INVALID_ARGUMENT$/);
      expectNothingOfB(JSON.stringify(res.body));
    }
    // Paths that walk out of /v1/me are not resolved: they are unknown routes.
    for (const path of ['/v1/me/../customers/C-B', '/v1/me/%2e%2e/customers/C-B', '/v1/me/./spend', '/v1/me//spend']) {
      const res = await raw('GET', path, { authorization: `Bearer ${tokenA}` });
      expect(res.status, path).toBe(404);
      expectNothingOfB(res.text);
    }
    expect(await stateOfB()).toEqual(before);
    expect((await call(server.url, 'GET', '/v1/me', { auth: tokenA })).body.threshold_cents).toBe(100);
  });

  it("cannot mark B's notifications read by their ids", async () => {
    const before = await stateOfB();
    expect(before.unread).toBeGreaterThan(0);
    const res = await call(server.url, 'POST', '/v1/me/notifications/read', { auth: tokenA, body: { ids: idsB } });
    expect(res.status).toBe(200);
    expect(res.body.marked).toBe(0);
    expect(await stateOfB()).toEqual(before);
  });

  it("gets only its own entries on the stream, whatever Last-Event-ID or second token it sends", async () => {
    const ownIds = server.stores.notify.listInbox('C-A').map((e) => e.id);
    const variants: Array<{ path: string; headers: Record<string, string> }> = [
      { path: '/v1/me/notifications/stream', headers: { authorization: `Bearer ${tokenA}` } },
      { path: `/v1/me/notifications/stream?access_token=${tokenB}`, headers: { authorization: `Bearer ${tokenA}` } },
      { path: '/v1/me/notifications/stream?lastEventId=0', headers: { authorization: `Bearer ${tokenA}`, 'last-event-id': String(Math.min(...idsB) - 1) } },
    ];
    for (const variant of variants) {
      const abort = new AbortController();
      const res = await fetch(`${server.url}${variant.path}`, { headers: variant.headers, signal: abort.signal });
      expect(res.status).toBe(200);
      const reader = new SseReader(res.body!);
      try {
        const seen: number[] = [];
        // A notification for B, then one for A: A's stream must go straight from its own entries to A's new one.
        const marker = `marker-${Math.random()}`;
        server.stores.notify.publish('spend-alerts', { type: 'test_marker', customer_id: 'C-B', note: B_NAME }, { idempotencyKey: `${marker}-b` });
        server.stores.notify.publish('spend-alerts', { type: 'test_marker', customer_id: 'C-A' }, { idempotencyKey: `${marker}-a` });
        for (;;) {
          const event = await reader.next();
          expectNothingOfB(event!.data);
          const body = JSON.parse(event!.data);
          expect(body.message.customer_id).toBe('C-A');
          seen.push(body.id);
          if (body.message.type === 'test_marker' && !ownIds.includes(body.id)) {
            ownIds.push(body.id);
            break;
          }
        }
        for (const id of seen) expect(idsB).not.toContain(id);
      } finally {
        await reader.cancel();
        abort.abort();
      }
    }
  });

  it('cannot use any operator route with its own token or B\'s, on B or on itself', async () => {
    const before = await stateOfB();
    const customersBefore = await Promise.all(['C-A', 'C-B', 'C-X'].map((id) => server.customers.get(id)));
    const operatorCalls: Array<{ method: string; path: string; body?: unknown }> = [
      { method: 'POST', path: '/v1/customers', body: { customer_id: 'C-X', name: 'X', email: 'x@example.com' } },
      { method: 'POST', path: '/v1/customers', body: { customer_id: 'C-B', name: 'B again', email: 'x@example.com' } },
      { method: 'GET', path: '/v1/customers/C-B' },
      { method: 'GET', path: '/v1/customers/C-A' },
      { method: 'PUT', path: '/v1/customers/C-B', body: { name: 'hacked', email: 'evil@example.com' } },
      { method: 'PUT', path: '/v1/customers/C-A', body: { name: 'hacked' } },
      { method: 'POST', path: '/v1/customers/C-B/tokens' },
      { method: 'POST', path: '/v1/customers/C-A/tokens' },
      { method: 'DELETE', path: `/v1/customers/C-B/tokens/${tokenIdB}` },
    ];
    for (const auth of [tokenA, tokenB, undefined, 'garbage']) {
      for (const c of operatorCalls) {
        const res = await call(server.url, c.method, c.path, { ...(auth !== undefined ? { auth } : {}), ...(c.body !== undefined ? { body: c.body } : {}) });
        expect({ ...c, status: res.status }).toEqual({ ...c, status: 401 });
        expect(res.body.error.code).toBe('UNAUTHORIZED');
        if (auth !== tokenB) expectNothingOfB(JSON.stringify(res.body));
      }
    }
    // The same calls in a query-token form do not pass either.
    expect((await call(server.url, 'GET', `/v1/customers/C-B?access_token=${tokenA}`)).status).toBe(401);
    expect(await stateOfB()).toEqual(before);
    expect(await Promise.all(['C-A', 'C-B', 'C-X'].map((id) => server.customers.get(id)))).toEqual(customersBefore);
    expect((await call(server.url, 'GET', '/v1/me', { auth: tokenB })).body.name).toBe(B_NAME);
  });

  it('the operator key is not a customer token', async () => {
    expect((await call(server.url, 'GET', '/v1/me', { auth: server.operatorKey! })).status).toBe(401);
    expect((await fetch(`${server.url}/v1/me/notifications/stream?access_token=${server.operatorKey!}`)).status).toBe(401);
  });
});

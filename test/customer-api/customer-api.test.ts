/**
 * The customer API end to end in one process: operator routes for customers and tokens, thresholds whose
 * breach arrives on the open notification stream, the inbox list and read marks, reconnecting with
 * Last-Event-ID, and month-to-date spend, over HTTP/1.1 and (for the stream) HTTP/2.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseReader } from '../support/sse.ts';
import { call, startApiServer, toll, type ApiServer } from './helpers.ts';

async function openStream(server: ApiServer, token: string, options: { lastEventId?: string; viaQuery?: boolean } = {}) {
  const abort = new AbortController();
  const query = options.viaQuery ? `?access_token=${encodeURIComponent(token)}${options.lastEventId ? `&lastEventId=${options.lastEventId}` : ''}` : '';
  const headers: Record<string, string> = options.viaQuery ? {} : { authorization: `Bearer ${token}` };
  if (options.lastEventId && !options.viaQuery) headers['last-event-id'] = options.lastEventId;
  const res = await fetch(`${server.url}/v1/me/notifications/stream${query}`, { headers, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = new SseReader(res.body!);
  return {
    reader,
    async close() {
      await reader.cancel();
      abort.abort();
    },
  };
}

describe('customer API over HTTP/1.1, operator auth configured', () => {
  let server: ApiServer;
  let tokenA: string;
  let tokenB: string;

  beforeAll(async () => {
    server = await startApiServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('operator creates customers A and B, reads and updates them, and issues tokens', async () => {
    const op = server.operatorKey!;
    const a = await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'C-A', name: 'Ada', email: 'ada@example.com', time_zone: 'Europe/Paris' } });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ customer_id: 'C-A', name: 'Ada', email: 'ada@example.com', time_zone: 'Europe/Paris', threshold_cents: null, currency: 'USD' });
    const b = await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'C-B', email: 'bob@example.com' } });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ customer_id: 'C-B', name: 'C-B', time_zone: 'UTC' });

    const again = await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: 'C-A', email: 'x@example.com' } });
    expect(again.status).toBe(400);
    expect(again.body.error.message).toMatch(/already exists/);

    const renamed = await call(server.url, 'PUT', '/v1/customers/C-B', { auth: op, body: { name: 'Bob' } });
    expect(renamed).toMatchObject({ status: 200, body: { customer_id: 'C-B', name: 'Bob', email: 'bob@example.com' } });
    expect((await call(server.url, 'GET', '/v1/customers/C-B', { auth: op })).body).toMatchObject({ name: 'Bob' });
    const zoneRemoved = await call(server.url, 'PUT', '/v1/customers/C-A', { auth: op, body: { time_zone: null } });
    expect(zoneRemoved.body).toMatchObject({ name: 'Ada', time_zone: 'UTC' });
    expect((await call(server.url, 'GET', '/v1/customers/C-nobody', { auth: op })).status).toBe(404);

    const ta = await call(server.url, 'POST', '/v1/customers/C-A/tokens', { auth: op });
    expect(ta.status).toBe(201);
    expect(ta.body).toEqual({ token_id: expect.any(String), token: expect.any(String), created_at: expect.any(String) });
    tokenA = ta.body.token;
    tokenB = (await call(server.url, 'POST', '/v1/customers/C-B/tokens', { auth: op })).body.token;
    expect((await call(server.url, 'POST', '/v1/customers/C-nobody/tokens', { auth: op })).status).toBe(404);

    const me = await call(server.url, 'GET', '/v1/me', { auth: tokenA });
    expect(me).toMatchObject({ status: 200, body: { customer_id: 'C-A', name: 'Ada', email: 'ada@example.com', time_zone: 'UTC', threshold_cents: null, currency: 'USD' } });
  });

  it('operator lists customers page by page and sets a threshold, which the customer sees', async () => {
    const op = server.operatorKey!;
    for (const id of ['C-L1', 'C-L2', 'C-L3']) expect((await call(server.url, 'POST', '/v1/customers', { auth: op, body: { customer_id: id, email: `${id}@example.com` } })).status).toBe(201);
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(server.url, 'GET', `/v1/customers?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { auth: op });
      expect(page.status).toBe(200);
      expect(page.body.customers.length).toBeLessThanOrEqual(2);
      ids.push(...page.body.customers.map((c: { customer_id: string }) => c.customer_id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(['C-A', 'C-B', 'C-L1', 'C-L2', 'C-L3']));
    expect(new Set(ids).size).toBe(ids.length);
    expect((await call(server.url, 'GET', '/v1/customers', { auth: 'not-the-key' })).status).toBe(401);
    expect((await call(server.url, 'GET', '/v1/customers?limit=0', { auth: op })).status).toBe(400);

    const set = await call(server.url, 'PUT', '/v1/customers/C-L1/threshold', { auth: op, body: { threshold_cents: 2500 } });
    expect(set).toMatchObject({ status: 200, body: { threshold_cents: 2500, total_cents: 0, breached: false } });
    expect((await call(server.url, 'GET', '/v1/customers/C-L1', { auth: op })).body.threshold_cents).toBe(2500);
    const cleared = await call(server.url, 'PUT', '/v1/customers/C-L1/threshold', { auth: op, body: { threshold_cents: null } });
    expect(cleared.body.threshold_cents).toBeNull();
    expect((await call(server.url, 'PUT', '/v1/customers/C-nobody/threshold', { auth: op, body: { threshold_cents: 1 } })).status).toBe(404);
  });

  it('a revoked token stops working at once (401) while the customer\'s other tokens keep working', async () => {
    const op = server.operatorKey!;
    const spare = (await call(server.url, 'POST', '/v1/customers/C-A/tokens', { auth: op })).body;
    expect((await call(server.url, 'GET', '/v1/me', { auth: spare.token })).status).toBe(200);
    expect((await call(server.url, 'DELETE', `/v1/customers/C-A/tokens/${spare.token_id}`, { auth: op })).status).toBe(204);
    const revoked = await call(server.url, 'GET', '/v1/me', { auth: spare.token });
    expect(revoked).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect((await call(server.url, 'GET', '/v1/me/spend', { auth: spare.token })).status).toBe(401);
    expect((await fetch(`${server.url}/v1/me/notifications/stream?access_token=${spare.token}`)).status).toBe(401);
    expect((await call(server.url, 'DELETE', `/v1/customers/C-A/tokens/${spare.token_id}`, { auth: op })).status).toBe(404);
    expect((await call(server.url, 'GET', '/v1/me', { auth: tokenA })).status).toBe(200);
  });

  it('revoking a token ends its open notification stream before the next notification', async () => {
    const op = server.operatorKey!;
    const spare = (await call(server.url, 'POST', '/v1/customers/C-B/tokens', { auth: op })).body;
    const revokedStream = await openStream(server, spare.token);
    const keptStream = await openStream(server, tokenB);
    try {
      await revokedStream.reader.waitForComment('connected');
      await keptStream.reader.waitForComment('connected');
      expect((await call(server.url, 'DELETE', `/v1/customers/C-B/tokens/${spare.token_id}`, { auth: op })).status).toBe(204);
      server.stores.notify.publish('spend-alerts', { type: 'test_marker', customer_id: 'C-B' }, { idempotencyKey: 'after-revoke' });
      expect(JSON.parse((await keptStream.reader.next())!.data).message.type).toBe('test_marker');
      expect(await revokedStream.reader.next()).toBeUndefined();
    } finally {
      await revokedStream.close();
      await keptStream.close();
    }
  });

  it('a breach arrives once on the open stream; list, unread and read marks agree; Last-Event-ID resumes after it', async () => {
    const set = await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenA, body: { threshold_cents: 1000 } });
    expect(set).toMatchObject({ status: 200, body: { threshold_cents: 1000, total_cents: 0, breached: false } });
    const month = set.body.month as string;
    expect((await call(server.url, 'GET', '/v1/me', { auth: tokenA })).body.threshold_cents).toBe(1000);

    const stream = await openStream(server, tokenA);
    try {
      await stream.reader.waitForComment('connected');
      // B spends far more, with a threshold too: none of it may show up on A's stream.
      await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenB, body: { threshold_cents: 100 } });
      await server.appendTolls([toll('C-B', 5000), toll('C-A', 400), toll('C-A', 300), toll('C-A', 500)]);

      const first = await stream.reader.next();
      expect(first).toMatchObject({ event: 'notification' });
      const breach = JSON.parse(first!.data);
      expect(first!.id).toBe(String(breach.id));
      expect(breach).toMatchObject({
        read: false,
        created_at: expect.any(String),
        message: { type: 'threshold_breach', customer_id: 'C-A', month, threshold_cents: 1000, total_cents: 1200, breached_at: expect.any(String), cause: 'transaction' },
      });

      // More spend past the same threshold adds nothing; a new, higher threshold already passed notifies now.
      await server.appendTolls([toll('C-A', 100)]);
      const raised = await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenA, body: { threshold_cents: 1250 } });
      expect(raised.body).toMatchObject({ threshold_cents: 1250, month, total_cents: 1300, breached: true });
      const second = await stream.reader.next();
      const secondBody = JSON.parse(second!.data);
      expect(secondBody.message).toMatchObject({ type: 'threshold_breach', customer_id: 'C-A', threshold_cents: 1250, total_cents: 1300, cause: 'threshold_change' });
      expect(secondBody.id).toBeGreaterThan(breach.id);

      const list = await call(server.url, 'GET', '/v1/me/notifications', { auth: tokenA });
      expect(list.status).toBe(200);
      expect(list.body.notifications).toEqual([breach, secondBody]);
      expect(list.body.unread).toBe(2);
      expect((await call(server.url, 'GET', `/v1/me/notifications?after=${breach.id}&limit=1`, { auth: tokenA })).body.notifications).toEqual([secondBody]);

      const read = await call(server.url, 'POST', '/v1/me/notifications/read', { auth: tokenA, body: { ids: [breach.id] } });
      expect(read).toMatchObject({ status: 200, body: { unread: 1, marked: 1 } });
      const after = await call(server.url, 'GET', '/v1/me/notifications', { auth: tokenA });
      expect(after.body.unread).toBe(1);
      expect(after.body.notifications.map((n: { read: boolean }) => n.read)).toEqual([true, false]);

      // Reconnect (header, then the query form EventSource pages use): only entries after the given id.
      for (const viaQuery of [false, true]) {
        const resumed = await openStream(server, tokenA, { lastEventId: String(breach.id), viaQuery });
        try {
          const replayed = await resumed.reader.next();
          expect(replayed!.id).toBe(String(secondBody.id));
          expect(JSON.parse(replayed!.data).message.threshold_cents).toBe(1250);
        } finally {
          await resumed.close();
        }
      }
      // Nothing else came for A meanwhile: the next event is the next notification A gets.
      server.stores.notify.publish('spend-alerts', { type: 'test_marker', customer_id: 'C-A' }, { idempotencyKey: 'marker-a-1' });
      const third = await stream.reader.next();
      expect(JSON.parse(third!.data).message.type).toBe('test_marker');
    } finally {
      await stream.close();
    }
  });

  it('GET /v1/me/spend totals equal the sum of the appended tolls, with the days they fell on', async () => {
    const now = Date.now();
    const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    const times = [0, 1, 2, 3, 30, 55].map((h) => Math.max(monthStart, now - h * 3_600_000 * 13));
    const amounts = [125, 990, 1, 4000, 777, 2300];
    const before = (await call(server.url, 'GET', '/v1/me/spend', { auth: tokenB })).body;
    await server.appendTolls(times.map((t, i) => toll('C-B', amounts[i]!, t)));

    const spend = await call(server.url, 'GET', '/v1/me/spend', { auth: tokenB });
    expect(spend.status).toBe(200);
    const expectedDays = new Map<string, number>(before.days.map((d: { date: string; total_cents: number }) => [d.date, d.total_cents]));
    times.forEach((t, i) => {
      const day = new Date(t).toISOString().slice(0, 10);
      expectedDays.set(day, (expectedDays.get(day) ?? 0) + amounts[i]!);
    });
    expect(spend.body).toMatchObject({
      month: new Date(now).toISOString().slice(0, 7),
      total_cents: before.total_cents + amounts.reduce((s, a) => s + a, 0),
      threshold_cents: 100,
      currency: 'USD',
    });
    expect(spend.body.days.map((d: { date: string; total_cents: number }) => [d.date, d.total_cents])).toEqual([...expectedDays].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
    expect(spend.body.days.reduce((s: number, d: { total_cents: number }) => s + d.total_cents, 0)).toBe(spend.body.total_cents);

    const clear = await call(server.url, 'PUT', '/v1/me/threshold', { auth: tokenB, body: { threshold_cents: null } });
    expect(clear.body).toMatchObject({ threshold_cents: null, total_cents: spend.body.total_cents, breached: false });
    expect((await call(server.url, 'GET', '/v1/me/spend', { auth: tokenB })).body.threshold_cents).toBeNull();
  });

  it('shutting down ends open notification streams cleanly, after what they replayed', async () => {
    const stream = await openStream(server, tokenA);
    await stream.reader.waitForComment('connected');
    const seen: string[] = [];
    const ended = (async () => {
      for (let event = await stream.reader.next(); event !== undefined; event = await stream.reader.next()) seen.push(JSON.parse(event.data).message.type);
    })();
    const all = (await call(server.url, 'GET', '/v1/me/notifications', { auth: tokenA })).body.notifications;
    // The replay is done once the newest entry is seen; then the server stops.
    while (seen.length < all.length) await new Promise((r) => setTimeout(r, 10));
    server.endStreams();
    await ended;
    expect(seen).toEqual(all.map((n: { message: { type: string } }) => n.message.type));
  });
});

describe('customer API in local mode (no operator key)', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ operatorAuth: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('operator routes are open, customer routes still need a customer token', async () => {
    expect((await call(server.url, 'POST', '/v1/customers', { body: { customer_id: 'L1', name: 'Lou', email: 'lou@example.com' } })).status).toBe(201);
    const { token } = (await call(server.url, 'POST', '/v1/customers/L1/tokens')).body;
    expect((await call(server.url, 'GET', '/v1/me')).status).toBe(401);
    expect((await call(server.url, 'GET', '/v1/me', { auth: 'not-a-token' })).status).toBe(401);
    expect((await call(server.url, 'GET', '/v1/me', { auth: token })).body.customer_id).toBe('L1');
  });

  it("a customer token is not the operator's: it cannot issue or revoke tokens, nor read or change a customer", async () => {
    for (const id of ['L2', 'L3']) expect((await call(server.url, 'POST', '/v1/customers', { body: { customer_id: id, name: id, email: `${id}@example.com` } })).status).toBe(201);
    const { token } = (await call(server.url, 'POST', '/v1/customers/L2/tokens')).body;
    const other = (await call(server.url, 'POST', '/v1/customers/L3/tokens')).body;
    const attempts: Array<[string, string, object?]> = [
      ['POST', '/v1/customers/L3/tokens'],
      ['POST', '/v1/customers/L2/tokens'],
      ['DELETE', `/v1/customers/L3/tokens/${other.token_id}`],
      ['GET', '/v1/customers/L3'],
      ['PUT', '/v1/customers/L3', { name: 'Taken over' }],
      ['GET', '/v1/customers'],
      ['PUT', '/v1/customers/L3/threshold', { threshold_cents: 0 }],
      ['POST', '/v1/customers', { customer_id: 'L4', name: 'New', email: 'new@example.com' }],
    ];
    for (const [method, route, body] of attempts) {
      const answer = await call(server.url, method, route, { auth: token, ...(body ? { body } : {}) });
      expect(answer.status, `${method} ${route}`).toBe(403);
      expect(answer.body.error.code).toBe('FORBIDDEN');
    }
    expect((await call(server.url, 'GET', '/v1/me', { auth: other.token })).body.name).toBe('L3');
  });
});

describe('notification stream over HTTP/2', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ protocol: 'http2' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('streams the breach and resumes after Last-Event-ID', async () => {
    await server.customers.create({ id: 'H2', name: 'Hana', email: 'hana@example.com' });
    const { token } = await server.customers.issueToken('H2');
    const session = http2.connect(server.url);
    try {
      const read = (headers: Record<string, string>) => {
        const req = session.request({ ':method': 'GET', ':path': '/v1/me/notifications/stream', authorization: `Bearer ${token}`, ...headers });
        req.setEncoding('utf8');
        let text = '';
        const waiters: Array<() => void> = [];
        req.on('data', (chunk: string) => {
          text += chunk;
          for (const w of waiters.splice(0)) w();
        });
        const status = new Promise<number>((resolve, reject) => {
          req.once('response', (h) => resolve(Number(h[':status'])));
          req.once('error', reject);
        });
        return {
          status,
          async until(pattern: RegExp): Promise<string> {
            while (!pattern.test(text)) await new Promise<void>((resolve) => waiters.push(resolve));
            return text;
          },
          close: () => req.close(),
        };
      };
      const live = read({});
      expect(await live.status).toBe(200);
      await live.until(/: connected/);
      const set = await server.customers.setThreshold('H2', 500);
      expect(set.breached).toBe(false);
      await server.appendTolls([toll('H2', 300), toll('H2', 300)]);
      const text = await live.until(/event: notification\n/);
      const id = /id: (\d+)\n/.exec(text)![1]!;
      const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!);
      expect(data).toMatchObject({ id: Number(id), message: { type: 'threshold_breach', customer_id: 'H2', threshold_cents: 500, total_cents: 600 } });
      live.close();

      await server.customers.setThreshold('H2', 550);
      const resumed = read({ 'last-event-id': id });
      expect(await resumed.status).toBe(200);
      const replay = await resumed.until(/event: notification\n/);
      expect(JSON.parse(/data: (.*)\n/.exec(replay)![1]!).message).toMatchObject({ threshold_cents: 550, cause: 'threshold_change' });
      expect(replay).not.toContain(`id: ${id}\n`);
      resumed.close();
    } finally {
      session.close();
    }
  });
});

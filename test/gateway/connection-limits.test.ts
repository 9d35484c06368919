/**
 * Slow, idle and surplus connections are closed: header, body and idle timeouts on HTTP/1.1 and HTTP/2, and the
 * cap on open connections. Timeouts are made small through the gateway's `http` limits; every wait is bounded.
 */
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRaw, type RawConnection } from '../support/raw-connection.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

/** Far longer than any timeout under test, so a connection still open by then was not going to be closed. */
const BOUND_MS = 5000;

let slow: TestServer;
let idle: TestServer;
let stream: string;

beforeAll(async () => {
  slow = await startTestServer({ http: { headersTimeoutMs: 300, bodyTimeoutMs: 300 } });
  idle = await startTestServer({ http: { idleTimeoutMs: 300 } });
  stream = uniqueName();
  await slow.log.createStream(stream);
});
afterAll(async () => {
  await slow.close();
  await idle.close();
});

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('HTTP/1.1', () => {
  it('closes a connection that sends its request header slowly (slowloris)', async () => {
    const conn = await openRaw(slow.port);
    await conn.write(`POST /v1/streams/${stream}/records HTTP/1.1\r\nHost: x\r\n`);
    // One more header line every 50 ms: the connection is never quiet, the header never complete.
    const drip = setInterval(() => void conn.write('X-Slow: 1\r\n'), 50);
    try {
      expect(await conn.closedWithin(BOUND_MS)).toBe(true);
    } finally {
      clearInterval(drip);
      conn.destroy();
    }
  });

  it('closes a connection that sends nothing at all', async () => {
    const conn = await openRaw(slow.port);
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
    expect(conn.received()).toBe('');
  });

  it('answers 408 and closes the connection when a request body stalls', async () => {
    const conn = await openRaw(slow.port);
    await conn.write(`POST /v1/streams/${stream}/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{"stalled":`);
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(conn.received()).toContain('"code":"REQUEST_TIMEOUT"');
  });

  it('closes an idle keep-alive connection after its last response', async () => {
    const conn = await openRaw(idle.port);
    await conn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await conn.receivedWithin('"status":"ok"', BOUND_MS)).toBe(true);
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
  });

  it('keeps a connection that stays busy open', async () => {
    const conn = await openRaw(idle.port);
    try {
      for (let i = 1; i <= 8; i++) {
        await conn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        // Each answer comes back on the same connection.
        const answered = await new Promise<boolean>((resolve) => {
          const poll = setInterval(() => {
            if (conn.received().split('"status":"ok"').length - 1 >= i) {
              clearInterval(poll);
              resolve(true);
            }
          }, 10);
          setTimeout(() => {
            clearInterval(poll);
            resolve(false);
          }, BOUND_MS);
        });
        expect(answered).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      conn.destroy();
    }
  });
});

describe('HTTP/2', () => {
  it('closes a session that opens no stream', async () => {
    const session = http2.connect(idle.url);
    session.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), BOUND_MS);
      session.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!closed) session.destroy();
    expect(closed).toBe(true);
  });

  it('keeps a session open while a stream is open, however quiet (a tail)', async () => {
    const name = uniqueName();
    await idle.log.createStream(name);
    const session = http2.connect(idle.url);
    session.on('error', () => undefined);
    let sessionClosed = false;
    session.once('close', () => (sessionClosed = true));
    try {
      const tail = session.request({ ':path': `/v1/streams/${name}/tail` });
      tail.on('error', () => undefined);
      tail.resume();
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => tail.once('response', resolve));
      expect(headers[':status']).toBe(200);
      // Several idle timeouts pass with nothing on the wire: the open stream keeps its session.
      await new Promise((r) => setTimeout(r, 1500));
      expect(sessionClosed).toBe(false);
      expect(tail.closed).toBe(false);
      // Not even half closed: the session still takes new streams.
      const health = session.request({ ':path': '/health' });
      health.on('error', () => undefined);
      health.resume();
      const status = await new Promise<number | string>((resolve) => {
        health.once('response', (h) => resolve(Number(h[':status'])));
        health.once('error', (err: Error) => resolve(err.message));
      });
      expect(status).toBe(200);
    } finally {
      session.destroy();
    }
  });

  it('closes a connection that sends only the client preface', async () => {
    const conn = await openRaw(idle.port);
    await conn.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
  });

  it('answers 408 to a stream whose body stalls, and the session keeps serving', async () => {
    const session = http2.connect(slow.url);
    session.on('error', () => undefined);
    try {
      const stalled = session.request({ ':method': 'POST', ':path': `/v1/streams/${stream}/records`, 'content-length': '1000' });
      stalled.on('error', () => undefined);
      stalled.resume();
      const ended = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), BOUND_MS);
        stalled.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      const status = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), BOUND_MS);
        stalled.once('response', (headers) => {
          clearTimeout(timer);
          resolve(Number(headers[':status']));
        });
      });
      stalled.write('{"stalled":');
      expect(await status).toBe(408);
      expect(await ended).toBe(true);

      const health = session.request({ ':path': '/health' });
      const healthStatus = await new Promise<number>((resolve, reject) => {
        health.once('response', (headers) => resolve(Number(headers[':status'])));
        health.once('error', reject);
      });
      health.resume();
      expect(healthStatus).toBe(200);
    } finally {
      session.destroy();
    }
  });
});

describe('the cap on connections', () => {
  it('closes connections beyond the cap at once, counts them, and keeps serving those within it', async () => {
    const capped = await startTestServer({ http: { maxConnections: 4 } });
    const open: RawConnection[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const conn = await openRaw(capped.port);
        open.push(conn);
        await conn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(await conn.receivedWithin('"status":"ok"', BOUND_MS)).toBe(true);
      }
      const surplus = await openRaw(capped.port);
      expect(await surplus.closedWithin(BOUND_MS)).toBe(true);
      expect(surplus.received()).toBe('');

      // The four within the cap still work, and one of them reads what /metrics counted.
      for (const conn of open.slice(1)) {
        await conn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(await conn.receivedWithin('HTTP/1.1 200 OK', BOUND_MS)).toBe(true);
      }
      const scraper = open[0]!;
      await scraper.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      // The server's series are rendered last.
      expect(await scraper.receivedWithin('\ntollstream_http_bodies_refused_total ', BOUND_MS)).toBe(true);
      const scraped = scraper.received();
      expect(metric(scraped, 'tollstream_http_connections_refused_total')).toBe(1);
      expect(metric(scraped, 'tollstream_http_connections')).toBe(4);
    } finally {
      for (const conn of open) conn.destroy();
      await capped.close();
    }
  });
});

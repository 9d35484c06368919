/** HEAD on the read routes answers as GET does (status, headers, length), with no body, over HTTP/1.1 and HTTP/2. */
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, type RouteModule } from '../../src/gateway/index.ts';
import { writeSse } from '../../src/notify/index.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;
let stream: string;

/** A module as an app writes one, serving GET only: a JSON answer that counts its calls, and an endless event stream. */
let countedGets = 0;
const appRoutes: RouteModule = {
  matches: (method, p) => method === 'GET' && (p === '/app-json' || p === '/app-events'),
  async handle(req, res) {
    if (req.url === '/app-events') {
      return writeSse(res, async function* (signal) {
        while (!signal.aborted) {
          yield { data: 'tick' };
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
    }
    countedGets++;
    send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ method: req.method }));
  },
};

beforeAll(async () => {
  server = await startTestServer({ routes: [appRoutes] });
  stream = uniqueName();
  expect((await fetch(`${server.url}/v1/streams`, { method: 'POST', body: JSON.stringify({ name: stream }) })).status).toBe(201);
});
afterAll(() => server.close());

/** The raw bytes of one HTTP/1.1 exchange, so a body sent after HEAD's headers would show. */
function rawExchange(method: string, path: string): Promise<{ status: number; headers: Map<string, string>; afterHeaders: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(`${method} ${path} HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('latin1').on('data', (c: string) => (text += c));
    socket.once('error', reject);
    socket.once('close', () => {
      const end = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, afterHeaders: text.slice(end + 4) });
    });
  });
}

describe('HEAD', () => {
  for (const path of ['/health', '/metrics', '/v1/streams', '/v1/streams/STREAM']) {
    it(`answers ${path} like GET without a body`, async () => {
      const target = path.replace('STREAM', stream);
      const get = await rawExchange('GET', target);
      const head = await rawExchange('HEAD', target);
      expect(get.status).toBe(200);
      expect(get.afterHeaders.length).toBeGreaterThan(0);
      expect(head.status).toBe(get.status);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect(head.headers.get('content-length')).toMatch(/^\d+$/);
      expect(head.afterHeaders).toBe('');
    });
  }

  it('answers a route module that serves GET as its GET, without a body', async () => {
    const get = await rawExchange('GET', '/app-json');
    const before = countedGets;
    const head = await rawExchange('HEAD', '/app-json');
    expect(countedGets).toBe(before + 1);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(get.headers.get('content-length'));
    expect(head.afterHeaders).toBe('');
  });

  it("answers a route module's event stream with its head and ends it", async () => {
    // rawExchange resolves when the server closes the connection: an open stream would time the test out.
    const head = await rawExchange('HEAD', '/app-events');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(head.afterHeaders).toBe('');
  });

  it('answers an unknown stream with its 404 status and no body', async () => {
    const head = await rawExchange('HEAD', `/v1/streams/${uniqueName()}`);
    expect(head.status).toBe(404);
    expect(head.afterHeaders).toBe('');
  });

  it('does not open a tail, which would never end: 405, only GET allowed', async () => {
    const head = await rawExchange('HEAD', `/v1/streams/${stream}/tail`);
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    expect(head.afterHeaders).toBe('');
  });

  for (const path of ['/health', '/app-json', '/app-events']) {
    it(`answers ${path} over HTTP/2 with no DATA`, async () => {
      const session = http2.connect(server.url);
      try {
        const { status, bytes } = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
          const req = session.request({ ':method': 'HEAD', ':path': path });
          let status = 0;
          let bytes = 0;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (c: Buffer) => (bytes += c.length));
          req.on('end', () => resolve({ status, bytes }));
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(200);
        expect(bytes).toBe(0);
      } finally {
        session.close();
      }
    });
  }
});

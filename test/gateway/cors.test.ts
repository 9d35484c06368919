/**
 * CORS: a browser page on another origin may call the gateway when `http.corsOrigins` lists its origin. The
 * preflight is answered without credentials; the real request is authenticated as any other. Checked with
 * preflights as the AWS SDK in a browser sends them, and with a page in headless Chromium calling the gateway.
 */
import http from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/gateway/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { Sha256 } from '../support/sdk-sha256.ts';
import { startTestServer, TEST_CREDENTIALS } from '../support/test-server.ts';

const PAGE_ORIGIN = 'http://app.tolls.test';
/** What the AWS SDK for JavaScript asks for before a Kinesis call from a page. */
const SDK_REQUEST_HEADERS = 'amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-target,x-amz-user-agent';

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function request(port: number, method: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (port: number, origin: string) =>
  request(port, 'OPTIONS', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': SDK_REQUEST_HEADERS });

const corsHeadersOf = (headers: http.IncomingHttpHeaders) => Object.keys(headers).filter((h) => h.startsWith('access-control-'));

const verifying = () => createAuthenticator({ accessKeys: [TEST_CREDENTIALS], apiKeys: [] });

describe('CORS preflights', () => {
  it('are answered without credentials for a listed origin, allowing the headers the SDK sends', async () => {
    await using server = await startTestServer({ authenticator: verifying(), http: { corsOrigins: [PAGE_ORIGIN] } });
    const answer = await preflight(server.port, PAGE_ORIGIN);
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
    expect(answer.headers['access-control-allow-methods']).toContain('POST');
    expect(answer.headers['access-control-allow-headers']?.split(',').map((h) => h.trim())).toEqual(SDK_REQUEST_HEADERS.split(','));
    expect(answer.headers.vary).toContain('Origin');
  });

  it('give an origin that is not listed no CORS headers', async () => {
    await using server = await startTestServer({ authenticator: verifying(), http: { corsOrigins: [PAGE_ORIGIN] } });
    const answer = await preflight(server.port, 'http://elsewhere.test');
    expect(answer.status).toBe(204);
    expect(corsHeadersOf(answer.headers)).toEqual([]);
  });

  it('allow no origin by default', async () => {
    await using server = await startTestServer();
    expect(corsHeadersOf((await preflight(server.port, PAGE_ORIGIN)).headers)).toEqual([]);
    const call = await request(server.port, 'POST', { origin: PAGE_ORIGIN, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}');
    expect(corsHeadersOf(call.headers)).toEqual([]);
  });

  it('allow any page with "*"', async () => {
    await using server = await startTestServer({ http: { corsOrigins: ['*'] } });
    expect((await preflight(server.port, 'http://anything.test')).headers['access-control-allow-origin']).toBe('*');
  });
});

describe('answers to a listed origin', () => {
  it('let the page read the request id and error type, also of a refused request', async () => {
    await using server = await startTestServer({ authenticator: verifying(), http: { corsOrigins: [PAGE_ORIGIN] } });
    const call = await request(server.port, 'POST', { origin: PAGE_ORIGIN, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}');
    expect(JSON.parse(call.body).__type).toBe('MissingAuthenticationTokenException');
    expect(call.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
    const exposed = call.headers['access-control-expose-headers']?.split(',').map((h) => h.trim());
    expect(exposed).toEqual(expect.arrayContaining(['x-amzn-requestid', 'x-amzn-errortype', 'x-amz-id-2']));
    expect(call.headers['x-amzn-requestid']).toBeTruthy();
    expect(call.headers.vary).toBe('Origin');
  });

  it("vary by Origin also when the origin is not listed, so a cache does not hand one origin the answer meant for another", async () => {
    await using server = await startTestServer({ http: { corsOrigins: [PAGE_ORIGIN] } });
    const call = await request(server.port, 'POST', { origin: 'http://elsewhere.test', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, '{}');
    expect(corsHeadersOf(call.headers)).toEqual([]);
    expect(call.headers.vary).toBe('Origin');
  });
});

describe('http.corsOrigins', () => {
  it('takes origins and "*", and refuses a path, a trailing slash or a bare host, naming the key', async () => {
    const config = await loadConfig({ cwd: '/nonexistent-tollstream-dir', env: { TOLLSTREAM_HTTP_CORS_ORIGINS: '["https://app.example.com","http://127.0.0.1:5173"]' } });
    expect(config.http.corsOrigins).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
    expect((await loadConfig({ cwd: '/nonexistent-tollstream-dir', env: {} })).http.corsOrigins).toEqual([]);
    for (const bad of ['["https://app.example.com/"]', '["https://app.example.com/console"]', '["app.example.com"]', '"*"']) {
      await expect(loadConfig({ cwd: '/nonexistent-tollstream-dir', env: { TOLLSTREAM_HTTP_CORS_ORIGINS: bad } })).rejects.toThrow(/http.corsOrigins/);
    }
  });
});

describe('a page in a browser', () => {
  let browser: Browser;
  let pages: http.Server;
  let pagesOrigin: string;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    // The page's own origin: another port than the gateway's, so every call to the gateway is cross-origin.
    pages = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>tolls</title>'));
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagesOrigin = `http://127.0.0.1:${(pages.address() as { port: number }).port}`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => pages?.close(resolve));
  });

  /** Runs fetch() in a page of `pagesOrigin`, with headers signed for the gateway by the SDK's signer. */
  async function fetchFromPage(port: number): Promise<{ ok: true; status: number; requestId: string | null; body: string } | { ok: false; error: string }> {
    const body = '{}';
    const signer = new SignatureV4({ service: 'kinesis', region: 'us-east-1', credentials: TEST_CREDENTIALS, sha256: Sha256 });
    const signed = await signer.sign({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', query: {},
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' },
      body,
    });
    const { host: _host, ...headers } = signed.headers;
    const page = await browser.newPage();
    try {
      await page.goto(pagesOrigin);
      return await page.evaluate(
        async ({ url, headers, body }) => {
          try {
            const res = await fetch(url, { method: 'POST', headers, body });
            return { ok: true as const, status: res.status, requestId: res.headers.get('x-amzn-requestid'), body: await res.text() };
          } catch (err) {
            return { ok: false as const, error: String(err) };
          }
        },
        { url: `http://127.0.0.1:${port}/`, headers, body },
      );
    } finally {
      await page.close();
    }
  }

  it('calls Kinesis with a signed request when its origin is listed, and reads the answer and its request id', async () => {
    await using server = await startTestServer({ authenticator: verifying(), http: { corsOrigins: [pagesOrigin] } });
    const result = await fetchFromPage(server.port);
    expect(result).toMatchObject({ ok: true, status: 200 });
    if (!result.ok) return;
    expect(JSON.parse(result.body)).toMatchObject({ StreamNames: [] });
    expect(result.requestId).toBeTruthy();
  }, 30_000);

  it('is kept from the answer when its origin is not listed', async () => {
    await using server = await startTestServer({ authenticator: verifying(), http: { corsOrigins: ['http://other.test'] } });
    const result = await fetchFromPage(server.port);
    expect(result).toMatchObject({ ok: false });
  }, 30_000);
});

/**
 * Request bodies take bounded memory: a budget of bytes being received over all requests (503 + Retry-After
 * beyond it), and a request that cannot be authenticated is refused from its headers, before its body is read.
 */
import http2 from 'node:http2';
import { KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/gateway/index.ts';
import { openRaw, type RawConnection } from '../support/raw-connection.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

const BOUND_MS = 5000;
const KIB = 1024;
/** Each partial body declares this much and sends 1 KiB of it. */
const DECLARED = 400 * KIB;

async function scrape(server: TestServer): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Scrapes /metrics until `name` has `value` (at most BOUND_MS); returns the last value seen. */
async function metricBecomes(server: TestServer, name: string, value: number): Promise<number | undefined> {
  const until = Date.now() + BOUND_MS;
  let seen = metric(await scrape(server), name);
  while (seen !== value && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    seen = metric(await scrape(server), name);
  }
  return seen;
}

describe('the budget of body bytes in flight', () => {
  let server: TestServer;
  let stream: string;

  beforeAll(async () => {
    server = await startTestServer({ maxNativeBodyBytes: 512 * KIB, maxAwsBodyBytes: 512 * KIB, http: { maxBodyBytesInFlight: 1024 * KIB } });
    stream = uniqueName();
    await server.log.createStream(stream);
  });
  afterAll(() => server.close());

  async function partialBody(): Promise<RawConnection> {
    const conn = await openRaw(server.port);
    await conn.write(`POST /v1/streams/${stream}/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${DECLARED}\r\n\r\n`);
    await conn.write(Buffer.alloc(KIB, 0x20));
    return conn;
  }

  it('refuses bodies beyond the budget with 503 and Retry-After, and serves again once the others are gone', async () => {
    const held: RawConnection[] = [];
    try {
      for (let i = 1; i <= 2; i++) {
        held.push(await partialBody());
        expect(await metricBecomes(server, 'tollstream_http_body_bytes_in_flight', i * DECLARED)).toBe(i * DECLARED);
      }

      // A third declared body would pass the 1 MiB budget: refused before it is read, in the native shape...
      const refused = await partialBody();
      expect(await refused.receivedWithin('"code":"OVERLOADED"', BOUND_MS)).toBe(true);
      expect(refused.received()).toMatch(/^HTTP\/1\.1 503 /);
      expect(refused.received().toLowerCase()).toContain('\r\nretry-after: 1\r\n');
      expect(await refused.closedWithin(BOUND_MS)).toBe(true);

      // ...and in the AWS shape, which the SDKs retry.
      const aws = await fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'Kinesis_20131202.PutRecords',
          authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64),
          'x-amz-date': '20260101T000000Z',
        },
        body: Buffer.alloc(300 * KIB, 0x20),
      });
      expect(aws.status).toBe(503);
      expect(aws.headers.get('retry-after')).toBe('1');
      expect(((await aws.json()) as { __type: string }).__type).toBe('ServiceUnavailableException');

      // Over HTTP/2 the refused stream is reset and its session goes on serving.
      const session = http2.connect(server.url);
      session.on('error', () => undefined);
      try {
        const stream2 = session.request({ ':method': 'POST', ':path': `/v1/streams/${stream}/records`, 'content-length': String(DECLARED) });
        stream2.on('error', () => undefined);
        stream2.resume();
        const closed = new Promise<void>((resolve) => stream2.once('close', () => resolve()));
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream2.once('response', resolve));
        stream2.write(Buffer.alloc(KIB, 0x20));
        expect(headers[':status']).toBe(503);
        expect(headers['retry-after']).toBe('1');
        await closed;
        const health = session.request({ ':path': '/health' });
        health.resume();
        const healthHeaders = await new Promise<http2.IncomingHttpHeaders>((resolve) => health.once('response', resolve));
        expect(healthHeaders[':status']).toBe(200);
      } finally {
        session.destroy();
      }

      const during = await scrape(server);
      expect(metric(during, 'tollstream_http_body_bytes_in_flight')).toBe(2 * DECLARED);
      expect(metric(during, 'tollstream_http_bodies_refused_total')).toBe(3);
    } finally {
      for (const conn of held) conn.destroy();
    }

    expect(await metricBecomes(server, 'tollstream_http_body_bytes_in_flight', 0)).toBe(0);
    const line = JSON.stringify({ pad: 'x'.repeat(4000) }) + '\n';
    const body = line.repeat(Math.floor(DECLARED / line.length));
    const res = await fetch(`${server.url}/v1/streams/${stream}/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ failedRecordCount: 0 });
  });
});

describe('a refused body and the AWS SDK', () => {
  it('is retried by the SDK and stored once the budget has room again', async () => {
    const server = await startTestServer({ http: { maxBodyBytesInFlight: 1024 * KIB } });
    const stream = uniqueName();
    await server.log.createStream(stream);
    const kinesis = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, maxAttempts: 10 });
    const held: RawConnection[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const conn = await openRaw(server.port);
        held.push(conn);
        await conn.write(`POST /v1/streams/${stream}/records HTTP/1.1\r\nHost: x\r\nContent-Length: ${DECLARED}\r\n\r\n`);
      }
      expect(await metricBecomes(server, 'tollstream_http_body_bytes_in_flight', 2 * DECLARED)).toBe(2 * DECLARED);
      // 300 KiB of data is 400 KiB of JSON: more than the 224 KiB left.
      const put = kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: Buffer.alloc(300 * KIB, 0x62) }));
      const firstRefusal = await metricBecomes(server, 'tollstream_http_bodies_refused_total', 1);
      for (const conn of held) conn.destroy();
      expect(firstRefusal).toBe(1);
      const result = await put;
      expect(result.SequenceNumber).toBeDefined();
      expect(result.$metadata.attempts).toBeGreaterThan(1);
    } finally {
      for (const conn of held) conn.destroy();
      kinesis.destroy();
      await server.close();
    }
  });
});

describe('authentication before the body', () => {
  const KEY = { accessKeyId: 'AKIDTOLLS', secretAccessKey: 'tollstream-secret-key' };
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      authenticator: createAuthenticator({ accessKeys: [KEY], apiKeys: [] }),
    });
  });
  afterAll(() => server.close());

  /** A PutRecords whose headers are sent with 1 KiB of a 400 KiB body; the rest never comes. */
  async function partialAwsRequest(accessKeyId: string, extraHeaders = ''): Promise<RawConnection> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const conn = await openRaw(server.port);
    await conn.write(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.PutRecords\r\n' +
        `X-Amz-Date: ${amzDate}\r\n${extraHeaders}` +
        `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/kinesis/aws4_request, ` +
        `SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}\r\n` +
        `Content-Length: ${DECLARED}\r\n\r\n`,
    );
    await conn.write(Buffer.alloc(KIB, 0x20));
    return conn;
  }

  it('refuses an unknown access key without waiting for the body', async () => {
    const conn = await partialAwsRequest('AKIDSTRANGER', `X-Amz-Content-Sha256: ${'a'.repeat(64)}\r\n`);
    expect(await conn.receivedWithin('UnrecognizedClientException', BOUND_MS)).toBe(true);
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
  });

  it('refuses a bad signature over a declared payload hash without waiting for the body', async () => {
    const conn = await partialAwsRequest('AKIDTOLLS', `X-Amz-Content-Sha256: ${'a'.repeat(64)}\r\n`);
    expect(await conn.receivedWithin('InvalidSignatureException', BOUND_MS)).toBe(true);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 403 /);
    expect(await conn.closedWithin(BOUND_MS)).toBe(true);
  });

  it('still accepts requests the AWS SDK signs with a configured key', async () => {
    const stream = uniqueName();
    await server.log.createStream(stream);
    const kinesis = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: KEY, maxAttempts: 1 });
    try {
      const put = await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'k', Data: Buffer.alloc(200 * KIB, 0x61) }));
      expect(put.SequenceNumber).toBeDefined();
    } finally {
      kinesis.destroy();
    }
  });
});

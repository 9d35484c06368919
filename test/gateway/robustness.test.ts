import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;
let stream: string;

beforeAll(async () => {
  server = await startTestServer({ maxNativeBodyBytes: 64 * 1024, maxAwsBodyBytes: 64 * 1024 });
  stream = uniqueName();
  await server.log.createStream(stream);
});
afterAll(() => server.close());

/** The server still answers normally. */
async function expectServing(): Promise<void> {
  const res = await fetch(`${server.url}/v1/streams/${stream}/records`, { method: 'POST', body: '{"still":"serving"}\n' });
  expect(res.status).toBe(200);
}

async function awsCall(target: string, body: string | Buffer, contentType = 'application/x-amz-json-1.1') {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-amz-target': target,
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64),
      'x-amz-date': '20260101T000000Z',
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { __type: string; message: string } };
}

/** Writes raw bytes on a fresh connection and collects whatever comes back until the server closes it. */
function rawExchange(bytes: Buffer | string, endAfterWrite = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let reply = '';
    socket.on('data', (c) => (reply += c.toString('latin1')));
    socket.on('error', () => resolve(reply));
    socket.on('close', () => resolve(reply));
    socket.setTimeout(2000, () => socket.destroy());
    socket.write(bytes, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

describe('malformed AWS requests', () => {
  it('answers bad JSON, wrong types and unknown operations with the AWS error types', async () => {
    expect((await awsCall('Kinesis_20131202.PutRecord', '{"StreamName":')).body.__type).toBe('SerializationException');
    expect((await awsCall('Kinesis_20131202.PutRecord', '[1,2,3]')).body.__type).toBe('SerializationException');
    expect((await awsCall('Kinesis_20131202.CreateStream', '{"StreamName":"x","ShardCount":"two"}')).body.__type).toBe('SerializationException');
    expect((await awsCall('Kinesis_20131202.CreateStream', '{"StreamName":"x","ShardCount":0}')).body.__type).toBe('ValidationException');
    expect((await awsCall('Kinesis_20131202.PutRecords', `{"StreamName":"${stream}","Records":"nope"}`)).body.__type).toBe('SerializationException');
    expect((await awsCall('Kinesis_20131202.PutRecords', `{"StreamName":"${stream}","Records":[null]}`)).body.__type).toBe('SerializationException');
    expect(
      (await awsCall('Kinesis_20131202.PutRecord', `{"StreamName":"${stream}","PartitionKey":"k","Data":"not base64!!"}`)).body.__type,
    ).toBe('SerializationException');
    expect((await awsCall('Kinesis_20131202.PutRecord', '{"PartitionKey":"k","Data":"eA=="}')).body.__type).toBe('InvalidArgumentException');
    const unknown = await awsCall('Kinesis_20131202.GetResourcePolicy', '{}');
    expect(unknown).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    expect((await awsCall('DynamoDB_20120810.GetItem', '{}')).body.__type).toBe('UnknownOperationException');
    expect((await awsCall('Kinesis_20131202.__proto__', '{}')).body.__type).toBe('UnknownOperationException');
    expect((await awsCall('Kinesis_20131202.ListStreams', Buffer.from([0xff, 0xfe, 0x00]))).body.__type).toBe('SerializationException');
    await expectServing();
  });

  it('refuses requests without SigV4 authorization with MissingAuthenticationTokenException', async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'x-amz-target': 'Kinesis_20131202.ListStreams' }, body: '{}' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});

describe('oversized bodies', () => {
  it('answers 413 for a declared Content-Length over the limit without reading the body', async () => {
    const res = await fetch(`${server.url}/v1/streams/${stream}/records`, { method: 'POST', body: Buffer.alloc(200 * 1024, 0x20) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', context: { limitBytes: 64 * 1024 } } });
    const aws = await awsCall('Kinesis_20131202.PutRecords', Buffer.alloc(200 * 1024, 0x20));
    expect(aws).toMatchObject({ status: 413, body: { __type: 'InvalidArgumentException' } });
    await expectServing();
  });

  it('answers 413 for a chunked body that grows over the limit', async () => {
    const chunks = Array.from({ length: 100 }, () => Buffer.alloc(4096, 0x20));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.pop();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await fetch(`${server.url}/v1/streams/${stream}/records`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    await expectServing();
  });

  it('answers 413 over HTTP/2 too', async () => {
    const session = http2.connect(server.url);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': `/v1/streams/${stream}/records` });
        req.on('response', (headers) => resolve(Number(headers[':status'])));
        req.on('error', reject);
        req.end(Buffer.alloc(100 * 1024, 0x20));
      });
      expect(status).toBe(413);
    } finally {
      session.close();
    }
    await expectServing();
  });
});

describe('garbage and broken connections', () => {
  it('survives bytes that are not HTTP', async () => {
    const reply = await rawExchange(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x00, 0x13, 0x37, 0x0a, 0x0d, 0x0a, 0x0d]));
    expect(reply === '' || reply.startsWith('HTTP/1.1 400')).toBe(true);
    await rawExchange('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n');
    await rawExchange('\r\n\r\n\r\n', true);
    await expectServing();
  });

  it('survives an HTTP/2 preface followed by garbage frames', async () => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await rawExchange(Buffer.concat([preface, Buffer.alloc(64, 0xff)]));
    await rawExchange(Buffer.concat([preface.subarray(0, 10)]), true);
    await expectServing();
  });

  it('survives clients that disconnect in the middle of a request body', async () => {
    await rawExchange(
      `POST /v1/streams/${stream}/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5000\r\n\r\n{"half":`,
      true,
    );
    const session = http2.connect(server.url);
    await new Promise<void>((resolve) => {
      const req = session.request({ ':method': 'POST', ':path': `/v1/streams/${stream}/records`, 'x-amz-target': 'Kinesis_20131202.PutRecords' });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write('{"StreamName":', () => req.close(http2.constants.NGHTTP2_CANCEL));
    });
    session.destroy();
    await expectServing();
  });
});

describe('shutdown', () => {
  it('lets in-flight requests finish, then refuses new connections', async () => {
    const own = await startTestServer();
    const name = uniqueName();
    await own.log.createStream(name);
    // A request whose body is still arriving when close() starts.
    const socket = net.connect(own.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let reply = '';
    socket.on('data', (c) => (reply += c.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = '{"late":true}\n';
    socket.write(`POST /v1/streams/${name}/records HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n{"late"`);
    await new Promise((r) => setTimeout(r, 50));
    const closing = own.gateway.close();
    socket.write(body.slice('{"late"'.length));
    await closing;
    await ended;
    expect(reply).toMatch(/^HTTP\/1.1 200/);
    expect(reply).toContain('"failedRecordCount":0');
    await expect(fetch(`${own.url}/health`)).rejects.toThrow();
    await own.close();
  });

  it('ends open tails and HTTP/2 sessions when closing', async () => {
    const own = await startTestServer();
    const name = uniqueName();
    await own.log.createStream(name);
    const res = await fetch(`${own.url}/v1/streams/${name}/tail`);
    const reader = res.body!.getReader();
    await reader.read(); // the opening comment
    const session = http2.connect(own.url);
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    const sessionClosed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    session.on('error', () => undefined);

    await own.gateway.close();
    // The tail's stream ends (or is cut) instead of hanging.
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true }));
      if (chunk.done) break;
    }
    await sessionClosed;
    await own.close();
  });
});

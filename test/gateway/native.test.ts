import crypto from 'node:crypto';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/gateway/index.ts';
import type { StoredRecord } from '../../src/log/index.ts';
import { SseReader } from '../support/sse.ts';
import { startTestServer, uniqueName, type TestServer } from '../support/test-server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const api = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

async function createStream(body: Record<string, unknown> = {}): Promise<string> {
  const name = uniqueName();
  const res = await api('/v1/streams', { method: 'POST', body: JSON.stringify({ name, ...body }) });
  expect(res.status).toBe(201);
  return name;
}

async function ingest(stream: string, body: string, query = '', contentType = 'application/x-ndjson') {
  const res = await api(`/v1/streams/${stream}/records${query}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, body: (await res.json()) as any };
}

async function stored(stream: string): Promise<StoredRecord[]> {
  const d = await server.log.describeStream(stream);
  const out: StoredRecord[] = [];
  for (const shard of d.shards) out.push(...(await server.log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' })).records);
  return out;
}

describe('native streams API', () => {
  it('creates, lists, describes and deletes streams', async () => {
    const name = await createStream({ shardCount: 2, retentionHours: 12 });
    const list = (await (await api('/v1/streams')).json()) as { streams: Array<{ name: string; openShardCount: number }> };
    expect(list.streams.find((s) => s.name === name)?.openShardCount).toBe(2);
    const described = (await (await api(`/v1/streams/${name}`)).json()) as { name: string; retentionHours: number; shards: unknown[] };
    expect(described).toMatchObject({ name, retentionHours: 12 });
    expect(described.shards).toHaveLength(2);
    expect((await api(`/v1/streams/${name}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await api(`/v1/streams/${name}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'STREAM_NOT_FOUND', message: expect.stringContaining(name) } });
  });

  it('describes each shard with its hash key range and the records, bytes and newest sequence number it holds', async () => {
    const name = await createStream({ shardCount: 2 });
    const put = await ingest(name, ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => JSON.stringify({ k })).join('\n'), '?partitionKeyField=k');
    expect(put.body.failedRecordCount).toBe(0);
    const res = await api(`/v1/streams/${name}/shards`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { stream: string; shards: Array<Record<string, any>> };
    expect(body.stream).toBe(name);
    expect(body.shards.map((s) => s.hashKeyRange)).toEqual((await server.log.describeStream(name)).shards.map((s) => s.hashKeyRange));
    const written = put.body.records as Array<{ shardId: string; sequenceNumber: string }>;
    for (const shard of body.shards) {
      const mine = written.filter((r) => r.shardId === shard.shardId).map((r) => r.sequenceNumber).sort();
      expect(shard).toMatchObject({ open: true, recordsIn: mine.length, parentShardIds: [] });
      if (mine.length > 0) expect(shard.latestSequenceNumber).toBe(mine[mine.length - 1]);
      if (mine.length > 0) expect(Date.parse(shard.latestArrivalTime)).toBeGreaterThan(0);
    }
    expect(body.shards.reduce((n, s) => n + s.recordsIn, 0)).toBe(6);
    expect((await api('/v1/streams/no-such-stream/shards')).status).toBe(404);
  });

  it('answers bad stream requests in the native error shape', async () => {
    const name = await createStream();
    const dup = await api('/v1/streams', { method: 'POST', body: JSON.stringify({ name }) });
    expect(dup.status).toBe(409);
    expect(await dup.json()).toMatchObject({ error: { code: 'STREAM_EXISTS' } });

    const badName = await api('/v1/streams', { method: 'POST', body: JSON.stringify({ name: 'bad name!' }) });
    expect(badName.status).toBe(400);
    expect(await badName.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', context: { field: 'name' } } });

    const unknownField = await api('/v1/streams', { method: 'POST', body: JSON.stringify({ name: uniqueName(), shards: 2 }) });
    expect(await unknownField.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining("'shards'") } });

    const notJson = await api('/v1/streams', { method: 'POST', body: '{"name":' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });

    const noRoute = await api('/v1/nothing-here');
    expect(noRoute.status).toBe(404);
    expect(await noRoute.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('native ingest', () => {
  it('stores each NDJSON line as one record with its exact bytes, keyed by the partition key field', async () => {
    const name = await createStream({ shardCount: 2 });
    const lines = ['{"plate":"AB-123","amount": 2.5}', '', '  {"plate":"CD-456","amount":3}', '{"plate":"AB-123","amount":1}\r'];
    const { status, body } = await ingest(name, lines.join('\n') + '\n', '?partitionKeyField=plate');
    expect(status).toBe(200);
    expect(body.failedRecordCount).toBe(0);
    expect(body.records).toHaveLength(3);
    expect(body.records[0]).toMatchObject({ shardId: expect.any(String), sequenceNumber: expect.any(String), duplicate: false });
    // Same partition key, same shard.
    expect(body.records[2].shardId).toBe(body.records[0].shardId);

    const records = await stored(name);
    expect(records.map((r) => Buffer.from(r.data).toString()).sort()).toEqual(
      ['{"plate":"AB-123","amount": 2.5}', '  {"plate":"CD-456","amount":3}', '{"plate":"AB-123","amount":1}'].sort(),
    );
    expect(records.map((r) => r.partitionKey).sort()).toEqual(['AB-123', 'AB-123', 'CD-456']);
  });

  it('accepts a JSON array and gives random partition keys without a key field', async () => {
    const name = await createStream({ shardCount: 2 });
    const values = Array.from({ length: 40 }, (_, i) => ({ n: i }));
    const { status, body } = await ingest(name, JSON.stringify(values), '', 'application/json');
    expect(status).toBe(200);
    expect(body.failedRecordCount).toBe(0);
    const records = await stored(name);
    expect(records.map((r) => JSON.parse(Buffer.from(r.data).toString()).n).sort((a, b) => a - b)).toEqual(values.map((v) => v.n));
    expect(new Set(records.map((r) => r.partitionKey)).size).toBe(40);
    expect(new Set(body.records.map((r: { shardId: string }) => r.shardId)).size).toBe(2);
  });

  it('rejects, per record and in input order, records without the partition key field', async () => {
    const name = await createStream();
    const { body } = await ingest(name, '{"plate":"A"}\n{"other":1}\n[1,2]\n{"plate":"B"}\n', '?partitionKeyField=plate');
    expect(body.failedRecordCount).toBe(2);
    expect(body.records[0].sequenceNumber).toBeTruthy();
    expect(body.records[1]).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining("'plate'") } });
    expect(body.records[2].error.code).toBe('INVALID_ARGUMENT');
    expect(body.records[3].sequenceNumber).toBeTruthy();
    expect(await stored(name)).toHaveLength(2);
  });

  it('fails a body with an invalid line whole, naming the line', async () => {
    const name = await createStream();
    const { status, body } = await ingest(name, '{"ok":1}\n{"broken":\n{"ok":2}\n');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'MALFORMED_REQUEST', message: expect.stringContaining('line 2'), context: { line: 2 } });
    expect(await stored(name)).toHaveLength(0);

    const notArray = await ingest(name, '{"a":1}', '', 'application/json');
    expect(notArray.status).toBe(400);
    expect(notArray.body.error.code).toBe('MALFORMED_REQUEST');
  });

  it('marks producer retries as duplicates with the idempotency key field', async () => {
    const name = await createStream({ dedupe: { mode: 'key' } });
    const first = await ingest(name, '{"tx":"t1"}\n{"tx":"t2"}\n', '?idempotencyKeyField=tx');
    const again = await ingest(name, '{"tx":"t1"}\n', '?idempotencyKeyField=tx');
    expect(first.body.records.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([false, false]);
    expect(again.body.records[0]).toMatchObject({ duplicate: true, sequenceNumber: first.body.records[0].sequenceNumber });
    expect(await stored(name)).toHaveLength(2);
    const metrics = await (await api('/metrics')).text();
    expect(metrics).toContain(`tollstream_dedupe_keys{stream="${name}"} 2\n`);
    expect(metrics).toMatch(new RegExp(`^tollstream_dedupe_bytes\\{stream="${name}"\\} [1-9]\\d*$`, 'm'));
  });

  it('answers 404 STREAM_NOT_FOUND for records sent to an unknown stream', async () => {
    const { status, body } = await ingest('no-such-stream', '{"a":1}\n');
    expect(status).toBe(404);
    expect(body.error.code).toBe('STREAM_NOT_FOUND');
  });
});

describe('native tail', () => {
  it('streams records appended after it opened as server-sent events, and stops on disconnect', async () => {
    const name = await createStream({ shardCount: 2 });
    await ingest(name, '{"before":true}\n');
    const controller = new AbortController();
    const res = await api(`/v1/streams/${name}/tail`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = new SseReader(res.body!);
    await events.waitForComment('tailing');

    await ingest(name, '{"plate":"A","n":1}\n42\n');
    const received = [await events.next(), await events.next()];
    const payloads = received.map((e) => {
      expect(e?.event).toBe('record');
      const data = JSON.parse(e!.data) as { shardId: string; sequenceNumber: string; partitionKey: string; arrivalTime: number; data: unknown };
      expect(e?.id).toBe(`${data.shardId}:${data.sequenceNumber}`);
      expect(typeof data.arrivalTime).toBe('number');
      return data.data;
    });
    expect(payloads).toEqual(expect.arrayContaining([{ plate: 'A', n: 1 }, 42]));

    await events.cancel();
    controller.abort();
    // The server notices the disconnect and drops the tail.
    for (let i = 0; i < 100; i++) {
      const metrics = await (await api('/metrics')).text();
      if (metrics.includes('tollstream_tail_clients 0')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await (await api('/metrics')).text()).toContain('tollstream_tail_clients 0');
  });

  it('reads from TRIM_HORIZON and follows the children after a reshard', async () => {
    const name = await createStream({ shardCount: 1 });
    await ingest(name, '{"gen":"parent"}\n');
    const controller = new AbortController();
    const res = await api(`/v1/streams/${name}/tail?from=TRIM_HORIZON`, { signal: controller.signal });
    const events = new SseReader(res.body!);
    const first = await events.next();
    expect(JSON.parse(first!.data).data).toEqual({ gen: 'parent' });

    await server.log.updateShardCount(name, 2);
    await ingest(name, Array.from({ length: 6 }, (_, i) => JSON.stringify({ gen: 'child', i })).join('\n'));
    const children = [];
    for (let i = 0; i < 6; i++) children.push(JSON.parse((await events.next())!.data) as { shardId: string; data: { i: number } });
    expect(children.map((c) => c.data.i).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(children.every((c) => c.shardId !== 'shardId-000000000000')).toBe(true);
    await events.cancel();
    controller.abort();
  });

  it('streams over HTTP/2 as well', async () => {
    const name = await createStream();
    const session = http2.connect(server.url);
    try {
      const req = session.request({ ':method': 'GET', ':path': `/v1/streams/${name}/tail` });
      req.setEncoding('utf8');
      let text = '';
      const opened = new Promise<void>((resolve) => req.on('data', (c: string) => ((text += c), text.includes('tailing') && resolve())));
      await opened;
      await ingest(name, '{"over":"h2"}\n');
      while (!text.includes('event: record')) await new Promise<void>((resolve) => req.once('data', () => resolve()));
      expect(text).toContain('"data":{"over":"h2"}');
      req.close();
    } finally {
      session.close();
    }
  });

  it('starts at a time or at a sequence number of one shard, and filters by partition key and by a field', async () => {
    const name = await createStream({ shardCount: 2 });
    const put = (partitionKey: string, lines: string[]) => server.log.append(name, lines.map((l) => ({ partitionKey, data: Buffer.from(l) })));
    await put('early', ['{"n":1,"plaza":"P01"}']);
    await new Promise((r) => setTimeout(r, 20));
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    // One partition key, so one shard, in order.
    await put('late', ['{"n":2,"plaza":"P01"}', '{"n":3,"plaza":"P02"}', '{"n":4,"plaza":2}', '{"n":5}', 'not json']);
    const read = async (query: string, count: number) => {
      const controller = new AbortController();
      const res = await api(`/v1/streams/${name}/tail?${query}`, { signal: controller.signal });
      expect(res.status).toBe(200);
      const events = new SseReader(res.body!);
      const got: Array<{ shardId: string; sequenceNumber: string; partitionKey: string; data: any }> = [];
      for (let i = 0; i < count; i++) got.push(JSON.parse((await events.next())!.data));
      await events.cancel();
      controller.abort();
      return got;
    };
    // From a time: only what arrived after it (the last record, not JSON, comes as base64).
    const recent = await read(`from=AT_TIMESTAMP&timestamp=${new Date(after).toISOString()}`, 5);
    expect(recent.map((r) => r.data.n ?? 'raw')).toEqual([2, 3, 4, 5, 'raw']);
    // A field: compared as text, so 2 matches "2"; records without it, or not JSON, are left out.
    expect((await read('from=TRIM_HORIZON&field=plaza&value=P01', 2)).map((r) => r.data.n)).toEqual([1, 2]);
    expect((await read('from=TRIM_HORIZON&field=plaza&value=2', 1)).map((r) => r.data.n)).toEqual([4]);
    // A partition key.
    expect((await read('from=TRIM_HORIZON&key=early', 1)).map((r) => r.data.n)).toEqual([1]);
    // One shard from one of its sequence numbers.
    const third = recent[2]!;
    const fromSeq = await read(`from=AT_SEQUENCE_NUMBER&shard=${third.shardId}&sequenceNumber=${third.sequenceNumber}`, 2);
    expect(fromSeq.map((r) => r.data.n ?? 'raw')).toEqual([4, 5]);
    expect(fromSeq.every((r) => r.shardId === third.shardId)).toBe(true);

    for (const [query, parameter] of [
      ['from=AT_TIMESTAMP', 'timestamp'],
      ['from=AT_TIMESTAMP&timestamp=noon', 'timestamp'],
      ['from=AT_SEQUENCE_NUMBER&sequenceNumber=1', 'shard'],
      ['from=AT_SEQUENCE_NUMBER&shard=shardId-000000000000', 'sequenceNumber'],
      ['field=plaza', 'value'],
    ] as const) {
      const res = await api(`/v1/streams/${name}/tail?${query}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', context: { parameter } } });
    }
    const noShard = await api(`/v1/streams/${name}/tail?shard=shardId-000000000009`);
    expect(noShard.status).toBe(404);
  });

  it('refuses an unknown stream or start position before streaming', async () => {
    const missing = await api('/v1/streams/no-such-stream/tail');
    expect(missing.status).toBe(404);
    const name = await createStream();
    const bad = await api(`/v1/streams/${name}/tail?from=YESTERDAY`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});

describe('health, metrics, keys and protocols', () => {
  it('answers /health with 200 when ready and 503 otherwise', async () => {
    await using local = await startTestServer();
    expect(await (await fetch(`${local.url}/health`)).json()).toEqual({ status: 'ok' });
    local.gateway.setReady(false);
    const res = await fetch(`${local.url}/health`);
    expect(res.status).toBe(503);
  });

  it('shows a cluster node\'s leases in /health, degraded while it cannot reach the lease table', async () => {
    let storeReachable = true;
    const owners = { 'delivery:warehouse:s:shardId-000000000001': 'node-a', 'function:count:s:shardId-000000000000': 'node-b', 'function:count:s:shardId-000000000001': null };
    await using node = await startTestServer({ leases: () => ({ owner: 'node-a', held: ['delivery:warehouse:s:shardId-000000000001'], storeReachable, fairShare: 1, owners }) });
    expect(await (await fetch(`${node.url}/health`)).json()).toEqual({
      status: 'ok',
      leases: { owner: 'node-a', storeReachable: true, fairShare: 1, held: ['delivery:warehouse:s:shardId-000000000001'], owners },
    });
    storeReachable = false;
    const cut = await fetch(`${node.url}/health`);
    expect(cut.status).toBe(200);
    expect(await cut.json()).toMatchObject({ status: 'degraded', leases: { storeReachable: false } });
  });

  it('exports request, record and latency metrics in the Prometheus text format', async () => {
    const name = await createStream();
    await ingest(name, '{"a":1}\n{"a":2}\n');
    const res = await api('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toMatch(new RegExp(`tollstream_records_in_total\\{stream="${name}",shard="shardId-000000000000"\\} 2`));
    expect(text).toContain('tollstream_requests_total{api="native",operation="putRecords",status="200"}');
    expect(text).toContain('tollstream_request_duration_seconds_bucket{api="native",operation="putRecords",le="+Inf"}');
    expect(text).toContain('# TYPE tollstream_fsync_duration_seconds histogram');
  });

  it('requires a bearer API key on /v1 when keys are configured, but not on /health', async () => {
    const key = 'k-' + crypto.randomBytes(8).toString('hex');
    const hash = 'sha256:' + crypto.createHash('sha256').update(key).digest('hex');
    await using secured = await startTestServer({ authenticator: createAuthenticator({ accessKeys: [], apiKeys: [hash] }) });
    const denied = await fetch(`${secured.url}/v1/streams`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const allowed = await fetch(`${secured.url}/v1/streams`, { headers: { authorization: `Bearer ${key}` } });
    expect(allowed.status).toBe(200);
    expect((await fetch(`${secured.url}/health`)).status).toBe(200);
  });

  it('serves the native API over cleartext HTTP/2 on the same port', async () => {
    const name = await createStream();
    const session = http2.connect(server.url);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': `/v1/streams/${name}/records`, 'content-type': 'application/x-ndjson' });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (text += c));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        stream.end('{"via":"h2"}\n');
      });
      expect(JSON.parse(body)).toMatchObject({ failedRecordCount: 0 });
    } finally {
      session.close();
    }
    expect((await stored(name)).map((r) => Buffer.from(r.data).toString())).toEqual(['{"via":"h2"}']);
  });
});

/**
 * The limits of `POST /v1/warehouse/query` against a real server and its DuckDB warehouse: a row cap on JSON
 * answers, streamed NDJSON/CSV for answers of any size, a timeout, DuckDB's memory limit, and a bound on the
 * queries one caller (and all callers) may run at once.
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { query, serverConfig, start, tempDataDir } from './helpers.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

/** Ten billion rows to count: no machine finishes it within these tests' timeouts. */
const ENDLESS = 'SELECT count(*) FROM range(100000) a(x), range(100000) b(y)';

let server: RunningServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function startWith(warehouse: Partial<TollstreamConfig['warehouse']> = {}): Promise<RunningServer> {
  server = await start(serverConfig(tempDataDir('limits'), { warehouse: { ...DEFAULT_CONFIG.warehouse, ...warehouse }, ...spendAlertsConfig({ enabled: false }), ...stationAlertsConfig({ enabled: false }) }));
  return server;
}

function post(url: string, sql: string, format?: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/warehouse/query${format ? `?format=${format}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ sql }),
    ...(signal ? { signal } : {}),
  });
}

const errorCode = (body: unknown) => (body as { error: { code: string } }).error.code;

describe('warehouse query limits over HTTP', () => {
  it('refuses a JSON answer of millions of rows with a code that says to add LIMIT or stream, and answers one within the cap', async () => {
    const { url } = await startWith();
    const big = await query(url, 'SELECT i, md5(i::VARCHAR) AS h FROM range(3000000) t(i)');
    expect(big.status).toBe(400);
    expect(errorCode(big.body)).toBe('WAREHOUSE_RESULT_TOO_LARGE');
    expect((big.body as { error: { message: string; context: { maxRows: number } } }).error).toMatchObject({ context: { maxRows: DEFAULT_CONFIG.warehouse.maxResultRows } });
    expect((big.body as { error: { message: string } }).error.message).toMatch(/LIMIT.*format=ndjson/);

    const capped = await query(url, 'SELECT i FROM range(3000000) t(i) ORDER BY i LIMIT 1000');
    expect(capped.status).toBe(200);
    expect((capped.body as { rows: unknown[] }).rows).toHaveLength(1000);
  });

  it('streams a large answer as NDJSON and as CSV, every row once', async () => {
    const { url } = await startWith({ maxResultRows: 1000 });
    const rows = 250_000;
    const ndjson = await post(url, `SELECT i, 'row ' || i AS label FROM range(${rows}) t(i) ORDER BY i`, 'ndjson');
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    expect(ndjson.headers.get('x-tollstream-freshness-seconds')).toBe('none');
    const lines = (await ndjson.text()).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(rows);
    expect(JSON.parse(lines[0]!)).toEqual({ i: 0, label: 'row 0' });
    let sum = 0;
    for (const line of lines) sum += (JSON.parse(line) as { i: number }).i;
    expect(sum).toBe((rows * (rows - 1)) / 2);

    const csv = await post(url, `SELECT i, 'a,"b"' AS tricky FROM range(${rows}) t(i) ORDER BY i`, 'csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const records = (await csv.text()).split('\r\n');
    expect(records.pop()).toBe('');
    expect(records[0]).toBe('i,tricky');
    expect(records[1]).toBe('0,"a,""b"""');
    expect(records).toHaveLength(rows + 1);
    expect(records[rows]).toBe(`${rows - 1},"a,""b"""`);
  });

  it('answers a query that fails before its first row with a normal error response, in a streamed format too', async () => {
    const { url } = await startWith();
    const res = await post(url, 'SELECT * FROM no_such_table', 'ndjson');
    expect(res.status).toBe(400);
    expect(errorCode(await res.json())).toBe('INVALID_ARGUMENT');
    const bad = await post(url, 'SELECT 1', 'xml');
    expect(bad.status).toBe(400);
    expect(errorCode(await bad.json())).toBe('INVALID_ARGUMENT');
  });

  it('interrupts a query past warehouse.queryTimeoutMs and keeps serving', async () => {
    const { url } = await startWith({ queryTimeoutMs: 300 });
    const slow = await query(url, ENDLESS);
    expect(slow.status).toBe(400);
    expect(errorCode(slow.body)).toBe('WAREHOUSE_QUERY_TIMEOUT');
    const next = await query(url, 'SELECT 42 AS answer');
    expect(next.status).toBe(200);
    expect((next.body as { rows: unknown[] }).rows).toEqual([[42]]);
  });

  it('cuts a streamed answer off when the query times out after its first rows, so it never reads as complete', async () => {
    const { url } = await startWith({ queryTimeoutMs: 500 });
    const res = await post(url, 'SELECT i, md5(i::VARCHAR) AS h FROM range(100000000) t(i)', 'ndjson');
    expect(res.status).toBe(200);
    let received = 0;
    const reading = (async () => {
      for await (const chunk of res.body!) received += (chunk as Uint8Array).length;
    })();
    await expect(reading).rejects.toThrow();
    expect(received).toBeGreaterThan(0);
    expect((await query(url, 'SELECT 1 AS one')).status).toBe(200);
  });

  it('over HTTP/2 too: streams without piling up listeners, and resets a stream cut by the timeout', async () => {
    const { url } = await startWith({ queryTimeoutMs: 6000 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const client = http2.connect(url);
    try {
      const ask = (sql: string) =>
        new Promise<{ status: number; lines: number; rstCode: number; ended: boolean }>((resolve) => {
          const req = client.request({ ':method': 'POST', ':path': '/v1/warehouse/query?format=ndjson', 'content-type': 'application/json' });
          let status = 0;
          let text = '';
          let ended = false;
          req.setEncoding('utf8');
          req.on('response', (headers) => (status = Number(headers[':status'])));
          req.on('data', (chunk: string) => (text += chunk));
          req.on('end', () => (ended = true));
          req.on('error', () => undefined);
          req.on('close', () => resolve({ status, lines: text.split('\n').length - 1, rstCode: req.rstCode ?? 0, ended }));
          req.end(JSON.stringify({ sql }));
        });
      const whole = await ask('SELECT i, md5(i::VARCHAR) AS h FROM range(20000) t(i)');
      expect(whole).toMatchObject({ status: 200, lines: 20000, rstCode: 0, ended: true });
      const cut = await ask('SELECT i, md5(i::VARCHAR) AS h FROM range(100000000) t(i)');
      expect(cut.status).toBe(200);
      expect(cut.ended).toBe(false);
      expect(cut.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } finally {
      client.close();
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('refuses a query that needs more than warehouse.memoryLimitMiB', async () => {
    const { url } = await startWith({ memoryLimitMiB: 64 });
    const hungry = await query(url, 'SELECT list(i) FROM range(50000000) t(i)');
    expect(hungry.status).toBe(400);
    expect(errorCode(hungry.body)).toBe('WAREHOUSE_OUT_OF_MEMORY');
    expect((await query(url, 'SELECT 1 AS one')).status).toBe(200);
  });

  it('bounds the queries one caller runs at once (429), lets other callers in, and frees the slot when a caller goes away', async () => {
    const { url } = await startWith({ queriesPerCaller: 2, maxConcurrentQueries: 3, queryTimeoutMs: 120_000 });
    const huge = 'SELECT i, md5(i::VARCHAR) AS h FROM range(100000000) t(i)';
    const first = new AbortController();
    const second = new AbortController();
    // Streams whose bodies are not read: each holds its slot while the server waits for the client to read.
    const running = [await post(url, huge, 'ndjson', {}, first.signal), await post(url, huge, 'ndjson', {}, second.signal)];
    expect(running.map((r) => r.status)).toEqual([200, 200]);

    const third = await query(url, 'SELECT 1 AS one');
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ error: { code: 'WAREHOUSE_TOO_MANY_QUERIES', context: { scope: 'caller', limit: 2 } } });

    const other = await query(url, 'SELECT 1 AS one', undefined, { authorization: 'Bearer another-caller' });
    expect(other.status).toBe(200);
    const otherStream = new AbortController();
    expect((await post(url, huge, 'ndjson', { authorization: 'Bearer another-caller' }, otherStream.signal)).status).toBe(200);
    const fourthCaller = await query(url, 'SELECT 1 AS one', undefined, { authorization: 'Bearer a-third-caller' });
    expect(fourthCaller.status).toBe(429);
    expect(fourthCaller.body).toMatchObject({ error: { code: 'WAREHOUSE_TOO_MANY_QUERIES', context: { scope: 'server', limit: 3 } } });

    // The first caller goes away: its query stops and its slot is free again.
    first.abort();
    otherStream.abort();
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      status = (await query(url, 'SELECT 1 AS one')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
    second.abort();
  });
});

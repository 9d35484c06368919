/**
 * Continuous queries through the running server: created, listed, explained, stopped, resumed and dropped
 * over the HTTP API and the CLI, resumed after a restart, writing windowed results to a log stream.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import type { StreamLog } from '../../src/log/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { runCli } from '../cli/helpers.ts';
import { waitUntil } from '../support/wait.ts';

const SQL = `
CREATE TABLE tolls (
  customer_id VARCHAR(16), amount_cents BIGINT, event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND
) WITH ('stream' = 'toll_transactions');

CREATE TABLE spend_10s (window_start TIMESTAMP(3), customer_id VARCHAR(16), trips BIGINT, total_cents BIGINT) WITH ('stream' = 'spend_10s');

INSERT INTO spend_10s
SELECT window_start, customer_id, COUNT(*), SUM(amount_cents)
FROM TABLE(TUMBLE(TABLE tolls, DESCRIPTOR(event_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, customer_id;
`;

const T0 = Date.parse('2026-11-26T10:00:00.000Z');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(dataDir: string): Promise<RunningServer> {
  const config: TollstreamConfig = { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, warehouse: { enabled: false } };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

async function call(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url + route, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

let counter = 0;
async function sendTolls(url: string, tolls: Array<[customer: string, cents: number, secondsAfterT0: number]>): Promise<void> {
  const body = tolls
    .map(([customer, cents, s]) =>
      JSON.stringify({
        transaction_id: `q-${counter++}`, customer_id: customer, tag_id: 't', plate: 'p', plaza_id: 'P01', lane: 1, vehicle_class: 2,
        amount_cents: cents, currency: 'USD', event_time: new Date(T0 + s * 1000).toISOString(),
      }),
    )
    .join('\n');
  const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
  expect(res.status).toBe(200);
}

async function outputRows(log: StreamLog, stream: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const shard of (await log.describeStream(stream)).shards) {
    const read = await log.read(stream, shard.shardId, { type: 'TRIM_HORIZON' });
    for (const r of read.records) rows.push(JSON.parse(new TextDecoder().decode(r.data)));
  }
  return rows.sort((a, b) => String(a.window_start).localeCompare(String(b.window_start)) || String(a.customer_id).localeCompare(String(b.customer_id)));
}

describe('continuous queries in the server', () => {
  it('runs a query created over HTTP, explains it, stops and resumes it, and keeps it across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-queries-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await start(dataDir);

    const created = await call(server.url, 'POST', '/v1/queries', { name: 'spend10s', sql: SQL });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'spend10s', state: 'RUNNING', outputs: [{ stream: 'spend_10s' }] });
    expect((await call(server.url, 'POST', '/v1/queries', { name: 'spend10s', sql: SQL })).status).toBe(409);

    await sendTolls(server.url, [['A', 100, 1], ['A', 250, 2], ['B', 400, 3], ['A', 50, 12]]);
    // A later toll moves the watermark past the first window, which then closes.
    await sendTolls(server.url, [['B', 1, 25]]);
    const first = await waitUntil('the first window', () => outputRows(server.log, 'spend_10s'), (rows) => rows.length >= 2);
    expect(first.slice(0, 2)).toEqual([
      { window_start: '2026-11-26T10:00:00.000Z', customer_id: 'A', trips: 2, total_cents: 350 },
      { window_start: '2026-11-26T10:00:00.000Z', customer_id: 'B', trips: 1, total_cents: 400 },
    ]);

    const plan = await call(server.url, 'GET', '/v1/queries/spend10s/explain');
    expect(plan.status).toBe(200);
    expect(plan.json.plan).toMatch(/TUMBLE|Tumbl|window/i);

    const listed = await call(server.url, 'GET', '/v1/queries');
    // The apps shipped with the server run queries of their own; this one is listed beside them.
    const mine = listed.json.queries.find((q: { name: string }) => q.name === 'spend10s');
    expect(mine.stats.rowsInTotal).toBeGreaterThanOrEqual(5);

    expect((await call(server.url, 'POST', '/v1/queries/spend10s/stop')).json.state).toBe('STOPPED');
    expect((await call(server.url, 'POST', '/v1/queries/spend10s/resume')).json.state).toBe('RUNNING');

    // Restart: the query resumes from its checkpoint; the second window closes once more input arrives.
    await server.close();
    cleanups.pop();
    const again = await start(dataDir);
    expect((await call(again.url, 'GET', '/v1/queries/spend10s')).json.state).toBe('RUNNING');
    await sendTolls(again.url, [['C', 5, 40]]);
    const all = await waitUntil('the second window', () => outputRows(again.log, 'spend_10s'), (rows) => rows.some((r) => r.window_start === '2026-11-26T10:00:10.000Z'));
    expect(all.filter((r) => r.window_start === '2026-11-26T10:00:00.000Z')).toHaveLength(2);
    expect(all.find((r) => r.window_start === '2026-11-26T10:00:10.000Z')).toEqual({ window_start: '2026-11-26T10:00:10.000Z', customer_id: 'A', trips: 1, total_cents: 50 });

    expect((await call(again.url, 'DELETE', '/v1/queries/spend10s')).status).toBe(204);
    expect((await call(again.url, 'GET', '/v1/queries/spend10s')).status).toBe(404);
  });

  it('answers bad SQL with the line and column, and serves the queries commands of the CLI', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-queries-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await start(dataDir);
    const bad = await call(server.url, 'POST', '/v1/queries', { name: 'bad', sql: 'SELECT customer_id,\n  SUM(amount_cents FROM tolls' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('SQL_SYNTAX');
    expect(bad.json.error.message).toMatch(/line 2/);

    const sqlFile = path.join(dataDir, 'spend.sql');
    fs.writeFileSync(sqlFile, SQL);
    const env = { TOLLSTREAM_ENDPOINT: server.url };
    const created = await runCli(['queries', 'create', 'spend10s', '--sql', sqlFile], { env });
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/created query spend10s/);
    const listed = await runCli(['queries', 'list'], { env });
    expect(listed.stdout).toMatch(/spend10s\s+RUNNING\s+toll_transactions\s+spend_10s/m);
    const explained = await runCli(['queries', 'explain', 'spend10s'], { env });
    expect(explained.code).toBe(0);
    expect(explained.stdout.length).toBeGreaterThan(20);
    const missing = await runCli(['queries', 'describe', 'nope'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
  });

  it('starts a query at LATEST from the CLI: tolls sent before it was created are not counted', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-queries-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const server = await start(dataDir);
    const sqlFile = path.join(dataDir, 'spend.sql');
    fs.writeFileSync(sqlFile, SQL);
    const env = { TOLLSTREAM_ENDPOINT: server.url };
    const refused = await call(server.url, 'POST', '/v1/queries', { name: 'spend10s', sql: SQL, startPosition: 'EARLIEST' });
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('startPosition must be TRIM_HORIZON') });

    await sendTolls(server.url, [['A', 1000, 1], ['B', 2000, 2]]);
    const before = Date.now();
    while (Date.now() <= before + 1) await new Promise((r) => setTimeout(r, 2));
    const created = await runCli(['queries', 'create', 'spend10s', '--sql', sqlFile, '--start-position', 'LATEST'], { env });
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/started at:\s+\d{4}-\d\d-\d\dT/);
    const startedAt = (await call(server.url, 'GET', '/v1/queries/spend10s')).json.startAt as string;
    expect(Date.parse(startedAt)).toBeGreaterThan(before);
    const after = Date.now();
    while (Date.now() <= after + 1) await new Promise((r) => setTimeout(r, 2));

    await sendTolls(server.url, [['A', 100, 3], ['A', 250, 4], ['A', 50, 12], ['B', 1, 25]]);
    const rows = await waitUntil('the first window', () => outputRows(server.log, 'spend_10s'), (r) => r.length >= 1);
    expect(rows).toEqual([{ window_start: '2026-11-26T10:00:00.000Z', customer_id: 'A', trips: 2, total_cents: 350 }]);
  });
});

/**
 * The operator routes of deployed functions and the tables read API, over a real HTTP server: the operator's
 * key is required, answers and errors have the native shape, pages continue with their cursor.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.ts';
import { FunctionDeployments, FunctionLogs, FunctionsRuntime } from '../../functions/index.ts';
import { openEmbeddedLog } from '../../log/index.ts';
import { openTables, sqliteTableStore, type Tables } from '../../tables/index.ts';
import { createAuthenticator } from '../auth/index.ts';
import type { RouteModule } from '../http.ts';
import { createFunctionsApi } from './functions.ts';
import { createTablesApi } from './tables.ts';

const KEY = 'operator-secret';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(...modules: RouteModule[]): Promise<(path: string, init?: RequestInit & { key?: string | null }) => Promise<{ status: number; body: any }>> {
  const server = http.createServer((req, res) => {
    const module = modules.find((m) => m.matches(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!));
    if (!module) return void res.writeHead(404).end();
    void module.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (p, init = {}) => {
    const { key = KEY, ...rest } = init;
    const res = await fetch(base + p, { ...rest, headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(rest.body ? { 'content-type': 'application/json' } : {}) } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

function routeOptions() {
  const authenticator = createAuthenticator({ accessKeys: [], apiKeys: [`sha256:${crypto.createHash('sha256').update(KEY).digest('hex')}`] });
  return { operatorAuth: (h: string | undefined) => authenticator.verifyBearer(h), logger: silentLogger };
}

function tempTables(): { dir: string; tablesPath: string; tables: Tables } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-routes-'));
  const tablesPath = path.join(dir, 'tables.db');
  const tables = openTables({ path: tablesPath });
  cleanups.push(() => {
    tables.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { dir, tablesPath, tables };
}

describe('tables read API', () => {
  it('gets an item, queries a partition key by sort key prefix and scans, page by page, with the operator key', async () => {
    const { tables } = tempTables();
    tables.createTable('plain');
    tables.createTable('trips', { sortKey: true });
    tables.put('plain', { pk: 'C1' }, { total: 5 });
    tables.put('plain', { pk: 'C2' }, { total: 7 });
    tables.put('plain', { pk: 'C3' }, { total: 9 });
    for (const sk of ['2026-11-30', '2026-12-01', '2026-12-02']) tables.put('trips', { pk: 'C1', sk }, { day: sk });
    const call = await serve(createTablesApi(sqliteTableStore(tables), routeOptions()));

    expect(await call('/v1/tables', { key: null })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect((await call('/v1/tables')).body.tables.map((t: { name: string; sortKey: boolean }) => [t.name, t.sortKey])).toEqual([['plain', false], ['trips', true]]);
    expect(await call('/v1/tables/plain/items/C2')).toMatchObject({ status: 200, body: { pk: 'C2', value: { total: 7 }, version: 1 } });
    expect(await call('/v1/tables/plain/items/C9')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await call('/v1/tables/trips/items/C1?sk=2026-12-01')).toMatchObject({ status: 200, body: { sk: '2026-12-01' } });

    const december = await call('/v1/tables/trips/query?pk=C1&prefix=2026-12&order=desc');
    expect(december.body.items.map((i: { sk: string }) => i.sk)).toEqual(['2026-12-02', '2026-12-01']);
    expect((await call('/v1/tables/trips/query')).status).toBe(400);

    const first = await call('/v1/tables/plain/scan?limit=2');
    expect(first.body.items.map((i: { pk: string }) => i.pk)).toEqual(['C1', 'C2']);
    const rest = await call(`/v1/tables/plain/scan?limit=2&cursor=${encodeURIComponent(first.body.cursor)}`);
    expect(rest.body.items.map((i: { pk: string }) => i.pk)).toEqual(['C3']);
    expect(rest.body.cursor).toBeUndefined();

    expect(await call('/v1/tables/plain/scan?limit=0')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT', context: { parameter: 'limit' } } } });
    expect((await call('/v1/tables/plain/items/C1', { method: 'DELETE' })).status).toBe(405);
    expect((await call('/v1/tables/nope/scan')).status).toBe(404);
  });
});

describe('functions API', () => {
  it('lists the tables a deployed function declares as soon as it is deployed', async () => {
    const { dir, tablesPath, tables } = tempTables();
    const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
    await log.createStream('events', { shardCount: 1 });
    const store = sqliteTableStore(tables);
    const runtime = new FunctionsRuntime({ log, store });
    const deployments = new FunctionDeployments({ dir: path.join(dir, 'functions'), tablesPath, tables, runtime, logs: new FunctionLogs() });
    await deployments.open();
    cleanups.push(async () => {
      await deployments.close();
      await runtime.stop();
      await log.close();
    });
    const call = await serve(createFunctionsApi(deployments, routeOptions()), createTablesApi(store, routeOptions()));
    expect((await call('/v1/tables')).body.tables).toEqual([]);

    const code = "export const tables = ['seen', { name: 'trips', sortKey: true }]; export function handler() {}";
    expect((await call('/v1/functions', { method: 'POST', body: JSON.stringify({ name: 'declares', stream: 'events', code }) })).status).toBe(201);
    expect((await call('/v1/tables')).body.tables.map((t: { name: string; sortKey: boolean }) => [t.name, t.sortKey])).toEqual([
      ['seen', false],
      ['trips', true],
    ]);
  });

  it('deploys, describes, updates, pauses, reads logs and deletes a function over HTTP', async () => {
    const { dir, tablesPath, tables } = tempTables();
    const log = await openEmbeddedLog({ dir: path.join(dir, 'streams'), fsync: 'always' });
    await log.createStream('events', { shardCount: 1 });
    const runtime = new FunctionsRuntime({ log, store: sqliteTableStore(tables) });
    const logs = new FunctionLogs();
    const deployments = new FunctionDeployments({ dir: path.join(dir, 'functions'), tablesPath, tables, runtime, logs });
    await deployments.open();
    cleanups.push(async () => {
      await deployments.close();
      await runtime.stop();
      await log.close();
    });
    const call = await serve(createFunctionsApi(deployments, routeOptions()));
    const code = "export const tables = ['seen']; export function handler(event, ctx) { console.log('got', event.records.length); ctx.transact((tx) => { for (const r of event.records) tx.put('seen', { pk: r.sequenceNumber }, { text: r.text() }); }); }";

    expect((await call('/v1/functions', { key: null })).status).toBe(401);
    const deployed = await call('/v1/functions', { method: 'POST', body: JSON.stringify({ name: 'seen', stream: 'events', code, settings: { startingPosition: 'TRIM_HORIZON' } }) });
    expect(deployed).toMatchObject({ status: 201, body: { name: 'seen', state: 'running', version: 1 } });
    expect(await call('/v1/functions', { method: 'POST', body: JSON.stringify({ name: 'seen', stream: 'events', code }) })).toMatchObject({ status: 409, body: { error: { code: 'FUNCTION_EXISTS' } } });
    expect(await call('/v1/functions', { method: 'POST', body: JSON.stringify({ name: 'x', stream: 'events', code, extra: 1 }) })).toMatchObject({ status: 400, body: { error: { context: { field: 'extra' } } } });

    await log.append('events', [{ partitionKey: 'a', data: new TextEncoder().encode('hello') }]);
    const deadline = Date.now() + 30_000;
    while ((await call('/v1/functions/seen')).body.stats?.recordsProcessed !== 1) {
      if (Date.now() > deadline) throw new Error('the record was not processed');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(tables.scan('seen').items.map((i) => i.value)).toEqual([{ text: 'hello' }]);
    const lines = (await call('/v1/functions/seen/logs?limit=10')).body.lines as { source: string; msg: string }[];
    expect(lines).toContainEqual(expect.objectContaining({ source: 'handler', msg: 'got 1' }));

    expect(await call('/v1/functions/seen', { method: 'PATCH', body: JSON.stringify({ settings: { batchSize: 7 } }) })).toMatchObject({ status: 200, body: { version: 2, settings: { batchSize: 7 } } });
    expect(await call('/v1/functions/seen/pause', { method: 'POST' })).toMatchObject({ status: 200, body: { state: 'paused' } });
    expect((await call('/v1/functions')).body.functions.map((f: { name: string; state: string }) => [f.name, f.state])).toEqual([['seen', 'paused']]);
    expect((await call('/v1/functions/seen', { method: 'DELETE' })).status).toBe(204);
    expect(await call('/v1/functions/seen')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

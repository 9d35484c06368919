/**
 * An app written outside the platform, through the App contract only: the server creates its warehouse table,
 * delivers its stream into it, serves its report with the platform's, mounts its route module, and stops what
 * it started. The server runs no app it is not given.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app-contract/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { send } from '../../src/gateway/index.ts';
import { ensureStream } from '../../src/log/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { lanesApp } from '../support/lanes-app.ts';
import { SOURCE_COLUMN_SCHEMAS, type TableSchema } from '../../src/warehouse/index.ts';

const VISITS: TableSchema = {
  name: 'plaza_visits',
  description: 'Visits counted by a roadside sensor, per plaza.',
  columns: [
    { name: 'plaza_id', type: 'varchar', description: 'Toll plaza.' },
    { name: 'visits', type: 'bigint', description: 'Vehicles seen.' },
    ...SOURCE_COLUMN_SCHEMAS,
  ],
};

/** What the app saw and did, for the test to check. */
interface Trace {
  started: number;
  stopped: number;
}

function visitsApp(trace: Trace): App {
  return {
    name: 'plaza-visits',
    enabled: () => true,
    warehouseTables: [VISITS],
    reports: [{ name: 'plaza_visits_total', description: 'Visits per plaza.', parameters: [], sql: () => 'SELECT plaza_id, sum(visits)::BIGINT AS visits FROM plaza_visits GROUP BY plaza_id ORDER BY plaza_id' }],
    prepare: ({ warehouse }) => ({
      warehouseFeeds: warehouse ? [{ stream: VISITS.name, table: VISITS.name, ensureStream: async (log) => void (await ensureStream(log, VISITS.name, { shardCount: 1 })) }] : [],
      async start(ctx, undo) {
        trace.started++;
        undo.unshift(() => void trace.stopped++);
        const streams = (await ctx.log.listStreams()).map((s) => s.name);
        return {
          routes: [{ matches: (method, p) => method === 'GET' && p === '/v1/plaza-visits/streams', handle: async (_req, res) => send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ streams })) }],
        };
      },
    }),
  };
}

const dirs: string[] = [];
const servers: RunningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function config(): TollstreamConfig {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-app-contract-'));
  dirs.push(dataDir);
  return { ...DEFAULT_CONFIG, dataDir, port: 0, logging: { level: 'silent', format: 'json' }, metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 0 } };
}

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('an app through the App contract', () => {
  it('gets its table, feed, report and routes, and is stopped with the server', async () => {
    const trace: Trace = { started: 0, stopped: 0 };
    const server = await startServer(config(), { apps: [visitsApp(trace)], logger: createLogger({ level: 'silent' }) });
    servers.push(server);
    expect(trace.started).toBe(1);
    expect((await json(`${server.url}/v1/plaza-visits/streams`)).body.streams).toContain(VISITS.name);

    const records = [{ plaza_id: 'P01', visits: 3 }, { plaza_id: 'P02', visits: 4 }, { plaza_id: 'P01', visits: 5 }];
    const put = await fetch(`${server.url}/v1/streams/${VISITS.name}/records`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: records.map((r) => JSON.stringify(r)).join('\n') });
    expect(put.status).toBe(200);
    const names = ((await json(`${server.url}/v1/reports`)).body.reports as Array<{ name: string }>).map((r) => r.name);
    expect(names).toEqual(['revenue_by_plaza_hour', 'revenue_by_vehicle_class_day', 'top_customers', 'plaza_visits_total']);
    let rows: unknown;
    for (let i = 0; i < 200; i++) {
      rows = (await json(`${server.url}/v1/reports/plaza_visits_total`)).body.rows;
      if (JSON.stringify(rows) === JSON.stringify([['P01', 8], ['P02', 4]])) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows).toEqual([['P01', 8], ['P02', 4]]);

    await server.close();
    expect(trace.stopped).toBe(1);
  });

  it('runs no app it is not given: none of the shipped apps\' routes, reports or tables', async () => {
    const server = await startServer(config(), { logger: createLogger({ level: 'silent' }) });
    servers.push(server);
    expect((await fetch(`${server.url}/v1/me`)).status).toBe(404);
    const names = ((await json(`${server.url}/v1/reports`)).body.reports as Array<{ name: string }>).map((r) => r.name);
    expect(names).not.toContain('threshold_breaches_per_day');
    expect(names).not.toContain('station_traffic_vs_expected');
    expect(server.warehouse!.tableSchema('threshold_breaches')).toBeUndefined();
    expect(server.warehouse!.tableSchema('station_reference')).toBeUndefined();
    expect((await server.log.listStreams()).map((s) => s.name)).not.toContain('spend_alerts');
    const stations = await fetch(`${server.url}/v1/reference/stations`, { method: 'PUT', body: '[]' });
    expect(stations.status).toBe(404);
    expect(((await stations.json()) as { error: { message: string } }).error.message).toContain("no reference data 'stations'");
  });

  it('creates the streams a running app declares, as the operator declares one both name, and no stream or table of its own', async () => {
    const declaring = (name: string, enabled: boolean, streams: App['streams']): App => ({ name, enabled: () => enabled, ...(streams ? { streams } : {}), prepare: () => ({ start: async () => ({ routes: [] }) }) });
    const apps = [
      declaring('counts', true, () => [{ name: 'counted', shardCount: 1, retentionHours: 48 }, { name: 'shared', shardCount: 3 }]),
      declaring('also-shared', true, () => [{ name: 'shared', shardCount: 4 }]),
      declaring('off', false, () => [{ name: 'never' }]),
    ];
    const server = await startServer({ ...config(), streams: [{ name: 'shared', shardCount: 2 }] }, { apps, logger: createLogger({ level: 'silent' }) });
    servers.push(server);
    const names = (await server.log.listStreams()).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['counted', 'shared']));
    expect(names).not.toContain('never');
    // The platform's defaults name no data of an app: no toll stream, no toll table.
    expect(names).not.toContain('toll_transactions');
    expect(server.warehouse!.tableSchema('toll_transactions')).toBeUndefined();
    expect(await server.log.describeStream('counted')).toMatchObject({ openShardCount: 1, retentionHours: 48 });
    expect((await server.log.describeStream('shared')).openShardCount).toBe(2);
  });

  it("serves an app's reference data at PUT /v1/reference/{name} whether or not it runs, telling it what the table holds now and before", async () => {
    const told: Array<{ rows: readonly unknown[]; previous: readonly unknown[] }> = [];
    const app = lanesApp({ replaced: async (rows, previous) => void told.push({ rows, previous }) });
    const server = await startServer(config(), { apps: [app], logger: createLogger({ level: 'silent' }) });
    servers.push(server);
    const put = (body: string, contentType: string) => fetch(`${server.url}/v1/reference/lanes`, { method: 'PUT', headers: { 'content-type': contentType }, body });
    const first = await put('plaza_id,lanes\nP01,4\nP02,2\n', 'text/csv');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ rows: 2 });
    expect((await put('[{"plaza_id":"P02","lanes":3}]', 'application/json')).status).toBe(200);
    expect(told).toEqual([
      { rows: [{ plaza_id: 'P01', lanes: 4 }, { plaza_id: 'P02', lanes: 2 }], previous: [] },
      { rows: [{ plaza_id: 'P02', lanes: 3 }], previous: [{ plaza_id: 'P01', lanes: 4 }, { plaza_id: 'P02', lanes: 2 }] },
    ]);
    // A refused load leaves the table and the app alone.
    const refused = await put('plaza_id,lanes\nP03,0\n', 'text/csv');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("reference 'lanes' row 1");
    expect(told).toHaveLength(2);
    expect((await server.warehouse!.query('SELECT plaza_id, lanes FROM plaza_lanes')).rows).toEqual([['P02', 3]]);
    const get = await fetch(`${server.url}/v1/reference/lanes`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('PUT');
  });
});

/** The operator routes of the station alerts: behind the native API key, with their answers to bad requests. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const KEY = 'operator-key-for-tests';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function start(): Promise<RunningServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-operator-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config: TollstreamConfig = {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    logging: { level: 'silent', format: 'json' },
    auth: { accessKeys: [], apiKeys: [`sha256:${crypto.createHash('sha256').update(KEY).digest('hex')}`] },
    warehouse: { enabled: false },
    ...spendAlertsConfig({ enabled: false }),
  };
  const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => server.close());
  return server;
}

async function call(server: RunningServer, method: string, route: string, options: { key?: string; body?: unknown } = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(server.url + route, {
    method,
    headers: { 'content-type': 'application/json', ...(options.key ? { authorization: `Bearer ${options.key}` } : {}) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe('operator routes of the station alerts', () => {
  it('need the API key, and manage webhook subscriptions of the station-alerts topic', async () => {
    const server = await start();
    expect((await call(server, 'GET', '/v1/operator/alerts')).status).toBe(401);
    expect((await call(server, 'GET', '/v1/operator/alerts/stream')).status).toBe(401);
    expect((await call(server, 'POST', '/v1/operator/alerts/acknowledge', { body: { plaza_id: 'P01', window_start: '2026-12-07T08:00:00.000Z' } })).status).toBe(401);
    expect((await call(server, 'POST', '/v1/operator/subscriptions', { body: { url: 'http://127.0.0.1:9/x', secret: 'a-long-enough-secret' } })).status).toBe(401);
    expect(await call(server, 'GET', '/v1/operator/alerts', { key: KEY })).toEqual({ status: 200, json: { alerts: [] } });

    const bad = await call(server, 'GET', '/v1/operator/alerts?limit=0', { key: KEY });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'INVALID_ARGUMENT' } } });
    const short = await call(server, 'POST', '/v1/operator/subscriptions', { key: KEY, body: { url: 'http://127.0.0.1:9/x', secret: 'short' } });
    expect(short).toMatchObject({ status: 400, json: { error: { code: 'INVALID_ARGUMENT' } } });
    expect(short.json.error.message).toMatch(/secret/);

    const created = await call(server, 'POST', '/v1/operator/subscriptions', { key: KEY, body: { url: 'http://127.0.0.1:9/hook', secret: 'a-long-enough-secret' } });
    expect(created).toMatchObject({ status: 201, json: { topic: 'station-alerts', url: 'http://127.0.0.1:9/hook' } });
    expect((await call(server, 'GET', '/v1/operator/subscriptions', { key: KEY })).json.subscriptions).toEqual([expect.objectContaining({ id: created.json.id, url: 'http://127.0.0.1:9/hook' })]);
    expect((await call(server, 'DELETE', `/v1/operator/subscriptions/${created.json.id}`, { key: KEY })).status).toBe(204);
    expect((await call(server, 'GET', '/v1/operator/subscriptions', { key: KEY })).json.subscriptions).toEqual([]);
    expect((await call(server, 'DELETE', `/v1/operator/subscriptions/${created.json.id}`, { key: KEY })).status).toBe(404);
  });
});

/**
 * A cluster node and what it shares with the others: started while PostgreSQL is out of reach, it says so in one
 * line and keeps trying instead of exiting, then serves once the way is open; cut off from NATS, it says so on
 * /health and /metrics, so a load balancer or an alert can take it out of the way of writes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { promtool } from '../conventions/metric-names.ts';
import { postgresSchema } from '../postgres/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { waitFor } from '../support/wait.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A database of its own on the test PostgreSQL, dropped at the end. */
async function freshDatabase(): Promise<string> {
  const { admin, url } = postgresSchema('unused');
  const name = `reach_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined));
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A proxy in front of `serverUrl`, closed: `url` reaches the server through it once `proxy.start()` opens it. */
async function closedProxyTo(serverUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(serverUrl);
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  await proxy.start();
  await proxy.stop();
  cleanups.push(() => proxy.stop());
  const url = new URL(serverUrl);
  url.host = `127.0.0.1:${proxy.port}`;
  return { proxy, url: url.toString() };
}

function nodeConfig(dataDir: string, natsServers: readonly string[], postgresUrl: string): TollstreamConfig {
  return {
    ...DEFAULT_CONFIG,
    dataDir,
    port: 0,
    warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: true, kind: 'postgres', postgresUrl },
    queries: { ...DEFAULT_CONFIG.queries, enabled: false },
    ...spendAlertsConfig({ enabled: false }),
    ...stationAlertsConfig({ enabled: false }),
    functions: { ...DEFAULT_CONFIG.functions, enabled: false },
    metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 0 },
    cluster: { natsServers: [...natsServers], postgresUrl, nodeName: 'node-a', replicas: 3 },
  };
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-reach-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('a cluster node that cannot reach PostgreSQL at start', () => {
  it('says so in one line, keeps trying, and serves once PostgreSQL can be reached', { timeout: 120_000 }, async () => {
    const nats = await startNatsCluster();
    cleanups.push(() => nats.close());
    const { proxy, url } = await closedProxyTo(await freshDatabase());
    const lines: string[] = [];
    const starting = startServer(nodeConfig(tempDir(), nats.urls, url), { apps: SHIPPED_APPS, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
    let server: RunningServer | undefined;
    let failed: unknown;
    void starting.then((s) => (server = s), (err: unknown) => (failed = err));
    const waiting = () => lines.filter((l) => l.includes('cannot reach the PostgreSQL warehouse'));
    for (let t = 0; waiting().length === 0 && failed === undefined && t < 400; t++) await new Promise((r) => setTimeout(r, 50));
    expect(failed).toBeUndefined();
    expect(waiting()).toHaveLength(1);
    // Three more attempts (one every 2 s): still waiting, still one line.
    await new Promise((r) => setTimeout(r, 6500));
    expect(failed).toBeUndefined();
    expect(server).toBeUndefined();
    expect(waiting()).toHaveLength(1);

    await proxy.start();
    server = await starting;
    cleanups.push(() => server!.close());
    expect(lines.some((l) => l.includes('reached the PostgreSQL warehouse'))).toBe(true);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(waiting()).toHaveLength(1);
  });
});

describe('a cluster node cut off from NATS', () => {
  it('answers degraded on /health and 0 in tollstream_log_reachable until NATS is back', { timeout: 120_000 }, async () => {
    const nats = await startNatsCluster();
    cleanups.push(() => nats.close());
    // Nothing here needs PostgreSQL: no warehouse, no queries, no functions, so no leases either.
    const config: TollstreamConfig = {
      ...nodeConfig(tempDir(), nats.urls, 'postgres://unused@127.0.0.1:1/none'),
      warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
    };
    const server = await startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => server.close());
    const health = async () => {
      const res = await fetch(`${server.url}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const gauge = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return { text, value: /^tollstream_log_reachable (\S+)$/m.exec(text)?.[1] };
    };
    expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await gauge()).value).toBe('1');

    for (let i = 0; i < nats.servers.length; i++) await nats.stop(i);
    await waitFor('/health to say degraded', async () => (await health()).body.status === 'degraded', { timeoutMs: 30_000 });
    expect(await health()).toEqual({ status: 200, body: { status: 'degraded', log: { reachable: false } } });
    const cutOff = await gauge();
    expect(cutOff.value).toBe('0');
    expect(await promtool(cutOff.text)).toEqual({ code: 0, output: '' });

    for (let i = 0; i < nats.servers.length; i++) await nats.start(i);
    await waitFor('/health to say ok again', async () => (await health()).body.status === 'ok', { timeoutMs: 60_000 });
    expect((await gauge()).value).toBe('1');
  });
});

/**
 * A cluster node and what it shares with the others: started while PostgreSQL is out of reach, it says so in one
 * line and keeps trying instead of exiting, then serves once the way is open.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { postgresSchema } from '../postgres/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

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
    alerts: { ...DEFAULT_CONFIG.alerts, enabled: false },
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

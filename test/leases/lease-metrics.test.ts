/**
 * The lease gauges of /metrics as an operator reads them on a cluster node: the leases it holds, the fair share of
 * the last round, and whether the lease table answered; a second node halves the share, a cut-off node shows 0.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { until } from '../../src/leases/conformance.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { Registry } from '../../src/metrics/index.ts';
import { startNodeLeases, type ShardConsumer } from '../../src/server/work-leases.ts';
import { postgresSchema } from '../postgres/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A database of its own (the lease table's schema is fixed), dropped at the end. */
async function freshDatabase(): Promise<string> {
  const { admin, url } = postgresSchema('unused');
  const name = `leasemetrics_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined));
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** `name value` of an unlabelled series in a /metrics text. */
function gauges(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(tollstream_leases_[a-z_]+) (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('the lease gauges of a cluster node', () => {
  it('show the leases held, the fair share and whether the lease table answers', { timeout: 120_000 }, async () => {
    const url = await freshDatabase();
    const target = new URL(url);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const viaProxy = new URL(url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-lease-metrics-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const log = await openEmbeddedLog({ dir, fsync: 'interval' });
    cleanups.push(() => log.close());
    await log.createStream('events', { shardCount: 4 });

    const node = async (nodeName: string, postgresUrl: string) => {
      const config: TollstreamConfig = {
        ...DEFAULT_CONFIG,
        warehouse: { ...DEFAULT_CONFIG.warehouse, kind: 'postgres', postgresUrl: url },
        cluster: { natsServers: ['nats://127.0.0.1:1'], postgresUrl, nodeName, replicas: 3, leaseMs: 3000, leaseRenewMs: 1000 },
      };
      const delivery: ShardConsumer = { kind: 'delivery', name: 'warehouse', stream: 'events', assignShard: async () => undefined, releaseShard: async () => undefined };
      const metrics = new Registry();
      const steps: Array<() => Promise<void> | void> = [];
      cleanups.push(async () => {
        for (const step of steps) await step();
      });
      const leases = await startNodeLeases({ config, deliveries: [delivery], log, metrics, logger: silentLogger }, steps);
      return { leases: leases!, read: async () => gauges(await metrics.renderAsync()) };
    };

    const a = await node('node-a', viaProxy.toString());
    await until('node-a to hold the four leases', async () => (await a.read()).tollstream_leases_held === 4, 30_000);
    expect(await a.read()).toEqual({ tollstream_leases_held: 4, tollstream_leases_fair_share: 4, tollstream_leases_store_up: 1 });

    const b = await node('node-b', url);
    await until('the two nodes to hold two each', async () => (await a.read()).tollstream_leases_held === 2 && (await b.read()).tollstream_leases_held === 2, 60_000);
    expect(await b.read()).toEqual({ tollstream_leases_held: 2, tollstream_leases_fair_share: 2, tollstream_leases_store_up: 1 });
    expect((await a.read()).tollstream_leases_fair_share).toBe(2);

    // node-a cut off from PostgreSQL: it says the table does not answer, and drops its leases before they expire.
    await proxy.stop();
    await until('node-a to report the lease table down and hold nothing', async () => {
      const g = await a.read();
      return g.tollstream_leases_store_up === 0 && g.tollstream_leases_held === 0;
    }, 30_000);
    await until('node-b to take all four', async () => (await b.read()).tollstream_leases_held === 4, 60_000);
    expect(a.leases.status().storeReachable).toBe(false);
  });
});

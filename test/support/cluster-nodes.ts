/**
 * Cluster nodes in the test's process, started as the server starts them (`startServer` with a `cluster` section):
 * JetStream on 3 `nats-server` on random loopback ports, and PostgreSQL in a database of the test's own (a random
 * name, dropped at close). Each node has its own temp data dir; the warehouse, the station alerts and the metrics
 * history are off unless a test turns them on, and leases are short (3 s, renewed every second) so the nodes
 * settle within a test's time. `close` stops the nodes, then drops the database, stops NATS and removes the dirs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startNatsCluster, type NatsCluster } from '../../bin/nats-cluster.ts';
import { DEFAULT_CONFIG, type TollstreamConfig } from '../../src/config/index.ts';
import type { ShippedConfigOverrides } from '../../src/apps/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { postgresSchema } from '../postgres/server.ts';
import { serverConfig, start, tempDataDir } from '../warehouse-api/helpers.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';

export interface ClusterNodes {
  readonly nats: NatsCluster;
  /** The database the nodes share. */
  readonly databaseUrl: string;
  /** Starts node `name`; `overrides` replace whole sections of the config (alerts, queries...). */
  node(name: string, overrides?: ShippedConfigOverrides): Promise<RunningServer>;
  close(): Promise<void>;
}

/** `label` starts the database's name (letters, digits and `_`), so a leftover one says which test made it. */
export async function startClusterNodes(label: string): Promise<ClusterNodes> {
  const { admin, url } = postgresSchema('unused');
  const database = `${label}_${crypto.randomBytes(6).toString('hex')}`;
  const databaseUrl = new URL(url);
  databaseUrl.pathname = `/${database}`;
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  const nats = await startNatsCluster();
  try {
    await admin(`CREATE DATABASE ${database}`);
  } catch (err) {
    await nats.close();
    throw err;
  }

  return {
    nats,
    databaseUrl: databaseUrl.toString(),
    async node(name, overrides = {}) {
      const dir = tempDataDir(`cluster-${name}`);
      dirs.push(dir);
      const server = await start(
        serverConfig(dir, {
          cluster: { natsServers: nats.urls, postgresUrl: databaseUrl.toString(), nodeName: name, replicas: 3, leaseMs: 3000, leaseRenewMs: 1000 },
          warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
          ...stationAlertsConfig({ enabled: false }),
          metrics: { ...DEFAULT_CONFIG.metrics, historyIntervalSeconds: 0 },
          ...overrides,
        }),
      );
      servers.push(server);
      return server;
    },
    async close() {
      for (const s of servers.splice(0)) await s.close().catch(() => undefined);
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await nats.close();
      for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

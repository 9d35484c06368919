/**
 * The Parquet lake on two cluster nodes started as the server starts them (`startServer` with a `cluster` section
 * and `lake.enabled`, both given one `lake.dir`): the lake delivery of each shard is a lease of the shared table,
 * the nodes split them, and the one folder holds every toll once, whichever node wrote it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { tollTransactionsStream } from '../../src/simulator/index.ts';
import { transactions } from '../delivery/helpers.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { waitFor } from '../support/wait.ts';

interface Health {
  leases?: { held: string[] };
}

const health = async (server: RunningServer): Promise<Health> => (await (await fetch(`${server.url}/health`)).json()) as Health;
const KEYS = ['shardId-000000000000', 'shardId-000000000001'].map((s) => `delivery:lake:toll_transactions:${s}`);

describe('the Parquet lake on cluster nodes', () => {
  let cluster: ClusterNodes;
  let dir: string;
  beforeAll(async () => {
    cluster = await startClusterNodes('lakeserver');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tollstream-cluster-lake-'));
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('splits the lake delivery\'s shards between the nodes, and the shared folder holds each toll once', { timeout: 240_000 }, async () => {
    // The lake's two shards are the only work leases: with the spend alerts on, their function and query leases count in
    // each node's fair share too, and the second node could take its share among those and no lake shard at all.
    const node = (name: string) =>
      cluster.node(name, {
        lake: { ...DEFAULT_CONFIG.lake, enabled: true, dir, maxWaitSeconds: 1 },
        ...spendAlertsConfig({ enabled: false }),
        // The apps are off, so the toll stream they declare is declared here (their tables are known all the same).
        streams: [tollTransactionsStream()],
      });
    const one = await node('node-1');
    const two = await node('node-2');
    await waitFor('each node to hold the lake delivery of one shard', async () => {
      const held = [(await health(one)).leases!.held, (await health(two)).leases!.held].map((h) => h.filter((k) => KEYS.includes(k)));
      return held[0]!.length === 1 && held[1]!.length === 1;
    }, { timeoutMs: 60_000 });

    const tolls = transactions(2000, 3);
    for (let i = 0; i < tolls.length; i += 500) {
      const results = await (i % 1000 === 0 ? one : two).log.append('toll_transactions', tolls.slice(i, i + 500).map((t) => ({ partitionKey: t.customer_id, data: Buffer.from(JSON.stringify(t)) })));
      expect(results.every((r) => r.ok)).toBe(true);
    }
    const ids = async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      try {
        const glob = path.join(dir, 'toll_transactions', '**', '*.parquet').replaceAll("'", "''");
        return (await conn.runAndReadAll(`SELECT transaction_id, shard_id FROM read_parquet('${glob}')`)).getRowsJS().map(([id, shard]) => [String(id), String(shard)] as const);
      } catch {
        return [];
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
    };
    await waitFor('every toll in the lake', async () => (await ids()).length >= tolls.length, { timeoutMs: 60_000 });
    const rows = await ids();
    expect(rows.length).toBe(tolls.length);
    expect(new Set(rows.map(([id]) => id)).size).toBe(tolls.length);
    expect(new Set(rows.map(([, shard]) => shard))).toEqual(new Set(['shardId-000000000000', 'shardId-000000000001']));
  });
});

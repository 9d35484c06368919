/**
 * The apps on two cluster nodes started as the server starts them (`startServer` with a `cluster` section:
 * JetStream on 3 `nats-server`, PostgreSQL in a database of its own): the server gives the ABC Tolls app its tables
 * and functions runtime in PostgreSQL, so a customer created through one node is known to the other, the shards of
 * the app's mappings are leases of the shared table that the nodes split, and the month total read through the
 * other node counts every toll once, whichever node summed it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { SpendOracle, TrafficGenerator } from '../../src/simulator/index.ts';
import { api, createCustomers } from '../alerts/support.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { waitFor } from '../support/wait.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

interface Health {
  leases?: { held: string[]; owners: Record<string, string | null> };
}

const health = async (server: RunningServer): Promise<Health> => (await (await fetch(`${server.url}/health`)).json()) as Health;

describe('the apps on cluster nodes', () => {
  let cluster: ClusterNodes;
  beforeAll(async () => {
    cluster = await startClusterNodes('appstores');
  }, 120_000);
  afterAll(() => cluster?.close());

  // The direct path: one mapping on the 2 shards of toll_transactions, no continuous query.
  const node = (name: string) => cluster.node(name, { ...spendAlertsConfig({ source: 'transactions' }) });

  it('keeps the ABC Tolls state in PostgreSQL and splits its mappings\' shards between the nodes', { timeout: 240_000 }, async () => {
    const one = await node('node-1');
    const two = await node('node-2');
    const thresholds = new Map([['C0000001', 100_000_000], ['C0000002', 100_000_000], ['C0000003', 100_000_000]]);
    const tokens = await createCustomers(one.url, thresholds);

    // Each node works one shard of the app's mapping, as both nodes' /health say.
    const keys = ['shardId-000000000000', 'shardId-000000000001'].map((s) => `function:abc-tolls-spend-transactions:toll_transactions:${s}`);
    await waitFor('each node to hold one shard of the spend mapping', async () => {
      const [h1, h2] = [await health(one), await health(two)];
      const held = [h1.leases!.held.filter((k) => keys.includes(k)), h2.leases!.held.filter((k) => keys.includes(k))];
      return held[0]!.length === 1 && held[1]!.length === 1 && keys.every((k) => h1.leases!.owners[k] === h2.leases!.owners[k]);
    }, { timeoutMs: 60_000 });

    const generator = new TrafficGenerator({ seed: 5, customers: 3, plazas: 2, startTime: Date.now() - 60_000, eventsPerSecond: 20, dailyProfile: false, duplicateShare: 0.05 });
    const oracle = new SpendOracle(thresholds);
    const tolls = Array.from({ length: 300 }, () => generator.next().transaction);
    for (const tx of tolls) oracle.add(tx);
    const appended = await two.log.append('toll_transactions', tolls.map((tx) => ({ data: Buffer.from(JSON.stringify(tx)), partitionKey: tx.transaction_id })));
    expect(appended.every((r) => r.ok)).toBe(true);

    // The totals, read through the node that did not create the customers, count every toll of both shards once.
    await waitFor('every month total through node-2', async () => {
      for (const [id, token] of tokens) {
        const spend = (await api(two.url, 'GET', '/v1/me/spend', undefined, token)).json as { month: string; total_cents: number };
        if (spend.total_cents !== oracle.total(id, spend.month)) return false;
      }
      return true;
    }, { timeoutMs: 60_000 });

    // Where the server put them: the customers and both shards' checkpoints in the schema the nodes share.
    const db = new pg.Client({ connectionString: cluster.databaseUrl });
    await db.connect();
    try {
      const customers = await db.query<{ pk: string }>("SELECT i.pk FROM tollstream_functions.ts_items i JOIN tollstream_functions.ts_tables t ON t.id = i.table_id WHERE t.name = 'customers' ORDER BY 1");
      expect(customers.rows.map((r) => r.pk)).toEqual([...thresholds.keys()]);
      const checkpoints = await db.query<{ shard_id: string }>("SELECT DISTINCT split_part(shard_id, '/', 1) AS shard_id FROM tollstream_functions.ts_checkpoints WHERE consumer = 'function:abc-tolls-spend-transactions' ORDER BY 1");
      expect(checkpoints.rows.map((r) => r.shard_id)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    } finally {
      await db.end();
    }
  });
});

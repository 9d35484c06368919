/**
 * Continuous queries on two cluster nodes started as the server starts them (`startServer` with a `cluster`
 * section: JetStream on 3 `nats-server`, PostgreSQL in a database of its own; no shared warehouse, so the query
 * leases are the only ones in PostgreSQL). A query created through one node runs on the node that takes its lease,
 * and both nodes' /health name that node; once it stops, the other runs the query and /health says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { startClusterNodes, type ClusterNodes } from '../support/cluster-nodes.ts';
import { waitFor } from '../support/wait.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';

const COUNT_SQL = `
CREATE TABLE tolls (transaction_id VARCHAR(40), customer_id VARCHAR(16), event_time TIMESTAMP(3),
  WATERMARK FOR event_time AS event_time - INTERVAL '5' SECOND) WITH ('stream' = 'tolls_in');
CREATE TABLE key_counts (customer_id VARCHAR(16), trips BIGINT) WITH ('stream' = 'key_counts');
INSERT INTO key_counts SELECT customer_id, COUNT(*) FROM tolls GROUP BY customer_id;`;

interface Health {
  leases?: { owner: string; held: string[]; owners: Record<string, string | null> };
}

async function health(server: RunningServer): Promise<Health> {
  return (await (await fetch(`${server.url}/health`)).json()) as Health;
}

/** A lease changes hands at the nodes' lease rounds: up to a minute on a loaded machine. */
const WAIT = { timeoutMs: 60_000, intervalMs: 100 };

describe('continuous queries on cluster nodes', () => {
  let cluster: ClusterNodes;
  /** The running nodes by name, as /health names a lease's owner. */
  const servers = new Map<string, RunningServer>();
  beforeAll(async () => {
    cluster = await startClusterNodes('qleases');
  }, 120_000);
  afterAll(() => cluster?.close());

  async function node(name: string): Promise<RunningServer> {
    const server = await cluster.node(name, {
      ...spendAlertsConfig({ enabled: false }),
      functions: { ...DEFAULT_CONFIG.functions, enabled: false },
    });
    servers.set(name, server);
    return server;
  }

  it('runs a query on the node holding its lease, shown in /health, and moves it when that node stops', { timeout: 240_000 }, async () => {
    const one = await node('node-1');
    const two = await node('node-2');
    await one.log.createStream('tolls_in', { shardCount: 2, dedupe: { mode: 'key' } });
    await one.log.append('tolls_in', [{ data: Buffer.from(JSON.stringify({ transaction_id: 'T1', customer_id: 'C1', event_time: '2026-12-01T00:00:00Z' })), partitionKey: 'C1' }]);
    const created = await fetch(`${two.url}/v1/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'counts', sql: COUNT_SQL }) });
    expect(created.status).toBe(201);

    let owner = '';
    await waitFor('a node to hold query:counts, as both nodes\' /health say', async () => {
      const [h1, h2] = [await health(one), await health(two)];
      owner = h1.leases?.owners['query:counts'] ?? '';
      return owner !== '' && h2.leases?.owners['query:counts'] === owner && (await health(servers.get(owner)!)).leases!.held.includes('query:counts');
    }, WAIT);
    const running = servers.get(owner)!;
    const info = async (s: RunningServer) => (await (await fetch(`${s.url}/v1/queries/counts`)).json()) as { state: string };
    await waitFor('the query to run on its owner', async () => (await info(running)).state === 'RUNNING', WAIT);
    const other = running === one ? two : one;
    const otherName = owner === 'node-1' ? 'node-2' : 'node-1';
    expect((await health(other)).leases!.held).not.toContain('query:counts');
    expect((await info(other)).state).toBe('ELSEWHERE');

    await running.close();
    servers.delete(owner);
    await waitFor('the other node to run the query', async () => (await info(other)).state === 'RUNNING' && (await health(other)).leases!.held.includes('query:counts'), WAIT);
    expect((await health(other)).leases!.owners['query:counts']).toBe(otherName);
    const rows = await other.log.read('key_counts', (await other.log.describeStream('key_counts')).shards[0]!.shardId, { type: 'TRIM_HORIZON' }, { maxRecords: 10 });
    expect(rows.records.map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')) as unknown)).toEqual([{ customer_id: 'C1', trips: 1 }]);
  });
});

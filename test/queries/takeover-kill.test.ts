/**
 * A continuous query on a node killed with kill -9 (docs/cluster.md, "Continuous queries"): the stream log on a
 * real 3-server JetStream cluster, the query store and lease table on PostgreSQL (schemas of their own). node-x, a
 * process of its own (query-node.ts), runs a query counting tolls per customer while tolls arrive; it is killed
 * mid-run; node-y, in this process, takes the query over once its lease expires and continues from the last
 * checkpoint node-x committed. The output must equal the file runner's over the same input: every update once,
 * none lost, none doubled. Prints the time from the kill to the query running on node-y.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { openJetStreamLog, type JetStreamStreamLog } from '../../src/log/index.ts';
import { openPostgresQueryStore, QueryManager } from '../../src/queries/index.ts';
import { postgresSchema, type PostgresSchema } from '../postgres/server.ts';
import { startNatsCluster, type NatsCluster } from '../../bin/nats-cluster.ts';
import { startLeasedNode, TEST_QUERY_LEASE_MS, TEST_QUERY_RENEW_MS, type LeasedNode } from './leased-node.ts';
import { appendTolls, canonical, COUNT_SQL, readAll, reference, traffic, waitFor } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('a continuous query on a node killed with kill -9', () => {
  let cluster: NatsCluster;
  let leasePlace: PostgresSchema;
  let queryPlace: PostgresSchema;
  let log: JetStreamStreamLog;
  let prefix: string;
  const children: ChildProcess[] = [];
  const nodes: LeasedNode[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
    leasePlace = postgresSchema('qkill_leases');
    queryPlace = postgresSchema('qkill_queries');
    prefix = `qk${crypto.randomBytes(4).toString('hex')}`;
    log = await openJetStreamLog({ servers: cluster.urls, prefix, replicas: 3, nodeName: 'test', requestTimeoutMs: 20_000, wakeFallbackMs: 500 });
    await log.createStream('toll_transactions', { shardCount: 2, dedupe: { mode: 'key' } });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const n of nodes) await n.stop().catch(() => undefined);
    await log?.close().catch(() => undefined);
    await leasePlace?.cleanup();
    await queryPlace?.cleanup();
    await cluster?.close();
  });

  it('is taken over by a live node from its last checkpoint, and its output stays exactly once', { timeout: 240_000 }, async () => {
    const records = traffic(2400, 31);
    await appendTolls(log, 'toll_transactions', records.slice(0, 600));
    const x = await startChild('node-x', { natsUrls: cluster.urls, prefix, postgresUrl: leasePlace.url, leaseSchema: leasePlace.schema, querySchema: queryPlace.schema, node: 'node-x', leaseMs: TEST_QUERY_LEASE_MS, renewMs: TEST_QUERY_RENEW_MS });
    children.push(x.child);
    // The query is created through another node (as through any gateway); node-y joins once node-x holds it.
    const store = await openPostgresQueryStore({ connectionString: queryPlace.url, schema: queryPlace.schema, leaseSchema: leasePlace.schema });
    const creator = new QueryManager({ log, store, leased: { owner: 'node-z' } });
    await creator.start();
    await creator.createQuery({ name: 'counts', sql: COUNT_SQL });
    await creator.close();
    await waitFor(() => x.held().includes('query:counts'), 'node-x to hold the query lease', 60_000);
    const node = await startLeasedNode({ name: 'node-y', log, postgresUrl: leasePlace.url, leaseSchema: leasePlace.schema, querySchema: queryPlace.schema, leaseMs: TEST_QUERY_LEASE_MS, renewMs: TEST_QUERY_RENEW_MS, logger: silentLogger });
    nodes.push(node);
    await appendTolls(log, 'toll_transactions', records.slice(600, 1400));
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= 1000, 'node-x to write 1000 updates', 90_000);
    expect(node.leases.status().held).toEqual([]);

    // kill -9 while tolls keep arriving.
    const appending = appendTolls(log, 'toll_transactions', records.slice(1400, 2000), 50);
    x.child.kill('SIGKILL');
    const killedAt = performance.now();
    await waitFor(() => node.manager.info('counts').state === 'RUNNING', 'node-y to run the query', 60_000);
    const takenAt = performance.now();
    await appending;
    await appendTolls(log, 'toll_transactions', records.slice(2000));

    const expected = await reference(COUNT_SQL, 'toll_transactions', records, 'key_counts');
    await waitFor(async () => (await readAll(log, 'key_counts')).length >= expected.length, 'every update to be written', 90_000);
    await node.manager.checkpointNow('counts');
    console.log(`query takeover after kill -9 (JetStream log): node-y ran the query ${Math.round(takenAt - killedAt)} ms after the kill (lease ${TEST_QUERY_LEASE_MS} ms, renew ${TEST_QUERY_RENEW_MS} ms)`);
    expect(canonical(await readAll(log, 'key_counts'))).toEqual(expected);
    expect(node.leases.status().held).toEqual(['query:counts']);
  });
});

async function startChild(name: string, config: Record<string, unknown>): Promise<{ child: ChildProcess; held: () => string[] }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run-ts.mjs'), path.join(ROOT, 'test/queries/query-node.ts'), JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let held: string[] = [];
  const lines = readline.createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
    lines.on('line', (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('held ')) held = line.slice(5).split(',').filter(Boolean);
    });
  });
  return { child, held: () => held };
}

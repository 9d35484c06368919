/**
 * The server with `cluster` set keeps its stream log in the NATS JetStream cluster: started before the
 * cluster is reachable, it says so in one line and waits; once up, records put through its Kinesis API are in
 * JetStream, where another process reads them, and a second node accepts the first node's shard iterators.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import type { TollstreamConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/core/logger.ts';
import { openJetStreamLog } from '../../src/log/index.ts';
import { startServer } from '../../src/server/index.ts';
import { SHIPPED_APPS } from '../../src/apps/index.ts';
import type { RunningServer } from '../../src/server/index.ts';
import { startNatsCluster } from '../../bin/nats-cluster.ts';
import type { NatsCluster } from '../../bin/nats-cluster.ts';
import { stationAlertsConfig } from '../../src/apps/station-alerts/index.ts';
import { spendAlertsConfig } from '../../src/apps/abc-tolls/index.ts';
import { tollTransactionsStream } from '../../src/simulator/index.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('server with a cluster section', () => {
  it('waits for an unreachable cluster, then serves its Kinesis API from the JetStream log', async () => {
    const cluster: NatsCluster = await startNatsCluster();
    cleanups.push(() => cluster.close());
    for (let i = 0; i < cluster.servers.length; i++) await cluster.stop(i);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-cluster-node-'));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const config: TollstreamConfig = {
      ...DEFAULT_CONFIG,
      dataDir,
      port: 0,
      warehouse: { ...DEFAULT_CONFIG.warehouse, enabled: false },
      queries: { ...DEFAULT_CONFIG.queries, enabled: false },
      ...spendAlertsConfig({ enabled: false }),
      ...stationAlertsConfig({ enabled: false }),
      // The apps are off, so the toll stream they declare is declared here.
      streams: [tollTransactionsStream()],
      // Deployed functions keep their definitions in the cluster's PostgreSQL, which this test does not start.
      functions: { ...DEFAULT_CONFIG.functions, enabled: false },
      cluster: { natsServers: cluster.urls, postgresUrl: 'postgres://unused@127.0.0.1:1/none', nodeName: 'node-a', replicas: 3 },
    };
    const lines: string[] = [];
    const starting = startServer(config, { apps: SHIPPED_APPS, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
    let server: RunningServer | undefined;
    void starting.then((s) => (server = s), () => undefined);
    const waiting = () => lines.filter((l) => l.includes('cannot reach the NATS cluster'));
    for (let t = 0; waiting().length === 0 && t < 200; t++) await new Promise((r) => setTimeout(r, 50));
    expect(waiting()).toHaveLength(1);
    expect(server).toBeUndefined();
    for (let i = 0; i < cluster.servers.length; i++) await cluster.start(i);
    server = await starting;
    cleanups.push(() => server!.close());
    expect(waiting()).toHaveLength(1);

    const kinesis = new KinesisClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, maxAttempts: 1 });
    cleanups.push(() => kinesis.destroy());
    const put = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'toll_transactions',
        Records: Array.from({ length: 20 }, (_, i) => ({ PartitionKey: `plate-${i}`, Data: Buffer.from(JSON.stringify({ transaction_id: `t${i}`, amount: 1 })) })),
      }),
    );
    expect(put.FailedRecordCount).toBe(0);

    // A second node: an iterator one node hands out works on the other (they share the signing key).
    const secondDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-cluster-node-'));
    cleanups.push(() => fs.rmSync(secondDir, { recursive: true, force: true }));
    const second = await startServer({ ...config, dataDir: secondDir, cluster: { ...config.cluster!, nodeName: 'node-b' } }, { apps: SHIPPED_APPS, logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => second.close());
    const kinesisB = new KinesisClient({ endpoint: second.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, maxAttempts: 1 });
    cleanups.push(() => kinesisB.destroy());
    const shardId = put.Records![0]!.ShardId!;
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({ StreamName: 'toll_transactions', ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    const page = await kinesisB.send(new GetRecordsCommand({ ShardIterator }));
    expect(page.Records!.map((r) => r.SequenceNumber)).toEqual(put.Records!.filter((r) => r.ShardId === shardId).map((r) => r.SequenceNumber));

    const other = await openJetStreamLog({ servers: cluster.urls });
    cleanups.push(() => other.close());
    const d = await other.describeStream('toll_transactions');
    expect(d.dedupe).toMatchObject({ mode: 'field', field: 'transaction_id' });
    let stored = 0;
    for (const s of d.shards) stored += (await other.read('toll_transactions', s.shardId, { type: 'TRIM_HORIZON' })).records.length;
    expect(stored).toBe(20);
  });
});

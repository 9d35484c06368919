/**
 * One node of the lake failover test, in a process of its own (node-process.ts): the lake delivery of
 * `toll_transactions` into the Parquet lake every node shares (one folder, its commits in PostgreSQL), under the
 * node's leases, wired as the server wires it on a cluster (src/server/index.ts, src/server/work-leases.ts).
 *   lake-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, lakeSchema, leaseSchema, dir, node, leaseMs, renewMs }
 */
import { DeliveryStream, openSharedParquetLake } from '../../src/delivery/index.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { deliveryConsumers, startWorkLeases } from '../../src/server/work-leases.ts';
import { runNodeProcess, type NodeProcessConfig } from './node-process.ts';

interface LakeNodeConfig extends NodeProcessConfig {
  postgresUrl: string;
  lakeSchema: string;
  leaseSchema: string;
  dir: string;
  leaseMs: number;
  renewMs: number;
}

await runNodeProcess<LakeNodeConfig>(async (config, log, logger) => {
  const lake = await openSharedParquetLake({ dir: config.dir, postgresUrl: config.postgresUrl, postgresSchema: config.lakeSchema, logger });
  const delivery = new DeliveryStream({
    name: 'lake',
    log,
    stream: 'toll_transactions',
    destination: lake,
    buffering: { intervalSeconds: 0.3 },
    retry: { initialDelayMs: 50, maxDelayMs: 500 },
    readMaxRecords: 500,
    maxBatchRecords: 2000,
    shards: 'assigned',
    parentPollMs: 200,
    logger,
  });
  await delivery.start();
  const store = await openPostgresLeaseStore({ connectionString: config.postgresUrl, schema: config.leaseSchema, timeoutMs: config.renewMs });
  const undo: Array<() => Promise<void> | void> = [];
  const leases = await startWorkLeases(
    { store, owner: config.node, leaseMs: config.leaseMs, leaseRenewMs: config.renewMs, consumers: () => deliveryConsumers([delivery], new Map([['lake', 'toll_transactions']])), log, logger },
    undo,
  );
  return {
    leases,
    stop: async () => {
      for (const step of undo) await step();
      await delivery.stop();
      await lake.close();
    },
  };
});

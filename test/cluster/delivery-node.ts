/**
 * One node of the delivery failover tests, in a process of its own (node-process.ts): the delivery of
 * `toll_transactions` under the node's leases, wired as the server wires it (src/server/work-leases.ts), into the
 * PostgreSQL warehouse (delivery-failover.test.ts), or, given `lake`, into the Parquet lake every node shares (one
 * folder, its commits in PostgreSQL: lake-failover.test.ts).
 *   delivery-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, warehouseSchema | lake: { dir, schema }, leaseSchema, node, leaseMs, renewMs }
 */
import { DeliveryStream, openSharedParquetLake, warehouseDestination, type DeliveryDestination } from '../../src/delivery/index.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { deliveryConsumers, startWorkLeases } from '../../src/server/work-leases.ts';
import { TOLL_TRANSACTIONS } from '../../src/simulator/index.ts';
import { openPostgresWarehouse } from '../../src/warehouse/index.ts';
import { runNodeProcess, type NodeProcessConfig } from './node-process.ts';

interface DeliveryNodeConfig extends NodeProcessConfig {
  postgresUrl: string;
  warehouseSchema?: string;
  lake?: { dir: string; schema: string };
  leaseSchema: string;
  leaseMs: number;
  renewMs: number;
}

await runNodeProcess<DeliveryNodeConfig>(async (config, log, logger) => {
  const name = config.lake ? 'lake' : 'warehouse';
  let destination: DeliveryDestination & { close(): Promise<void> };
  if (config.lake) {
    destination = await openSharedParquetLake({ dir: config.lake.dir, schema: TOLL_TRANSACTIONS, postgresUrl: config.postgresUrl, postgresSchema: config.lake.schema, logger });
  } else {
    const warehouse = await openPostgresWarehouse({ connectionString: config.postgresUrl, schema: config.warehouseSchema });
    // As a node's server does at start: its warehouse connection knows the table its apps declare.
    await warehouse.ensureSchema([TOLL_TRANSACTIONS]);
    destination = { ...warehouseDestination(warehouse, 'toll_transactions'), close: () => warehouse.close() };
  }
  const delivery = new DeliveryStream({
    name,
    log,
    stream: 'toll_transactions',
    destination,
    // The lake's batches a little larger, so a batch is often in the middle of writing its files.
    buffering: { intervalSeconds: config.lake ? 0.3 : 0.1 },
    retry: { initialDelayMs: 50, maxDelayMs: 500 },
    readMaxRecords: 500,
    maxBatchRecords: config.lake ? 2000 : 1000,
    shards: 'assigned',
    parentPollMs: 200,
    logger,
  });
  await delivery.start();
  const store = await openPostgresLeaseStore({ connectionString: config.postgresUrl, schema: config.leaseSchema, timeoutMs: config.renewMs });
  const undo: Array<() => Promise<void> | void> = [];
  const leases = await startWorkLeases(
    { store, owner: config.node, leaseMs: config.leaseMs, leaseRenewMs: config.renewMs, consumers: () => deliveryConsumers([delivery], new Map([[name, 'toll_transactions']])), log, logger },
    undo,
  );
  return {
    leases,
    stop: async () => {
      for (const step of undo) await step();
      await delivery.stop();
      await destination.close();
    },
  };
});

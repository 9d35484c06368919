/**
 * One node of the delivery failover test, in a process of its own (node-process.ts): the PostgreSQL warehouse
 * and lease table (schemas given), and the warehouse delivery of `toll_transactions` under the node's leases,
 * wired as the server wires them (src/server/work-leases.ts).
 *   delivery-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, warehouseSchema, leaseSchema, node, leaseMs, renewMs }
 */
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { deliveryConsumers, startWorkLeases } from '../../src/server/work-leases.ts';
import { openPostgresWarehouse } from '../../src/warehouse/index.ts';
import { runNodeProcess, type NodeProcessConfig } from './node-process.ts';

interface DeliveryNodeConfig extends NodeProcessConfig {
  postgresUrl: string;
  warehouseSchema: string;
  leaseSchema: string;
  leaseMs: number;
  renewMs: number;
}

await runNodeProcess<DeliveryNodeConfig>(async (config, log, logger) => {
  const warehouse = await openPostgresWarehouse({ connectionString: config.postgresUrl, schema: config.warehouseSchema });
  const delivery = new DeliveryStream({
    name: 'warehouse',
    log,
    stream: 'toll_transactions',
    destination: warehouseDestination(warehouse, 'toll_transactions'),
    buffering: { intervalSeconds: 0.1 },
    retry: { initialDelayMs: 50, maxDelayMs: 500 },
    readMaxRecords: 500,
    maxBatchRecords: 1000,
    shards: 'assigned',
    parentPollMs: 200,
    logger,
  });
  await delivery.start();
  const store = await openPostgresLeaseStore({ connectionString: config.postgresUrl, schema: config.leaseSchema, timeoutMs: config.renewMs });
  const undo: Array<() => Promise<void> | void> = [];
  const leases = await startWorkLeases(
    { store, owner: config.node, leaseMs: config.leaseMs, leaseRenewMs: config.renewMs, consumers: () => deliveryConsumers([delivery], new Map([['warehouse', 'toll_transactions']])), log, logger },
    undo,
  );
  return {
    leases,
    stop: async () => {
      for (const step of undo) await step();
      await delivery.stop();
      await warehouse.close();
    },
  };
});

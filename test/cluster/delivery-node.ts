/**
 * One node of the delivery failover test, in a process of its own (so it can be killed with kill -9): the
 * JetStream log, the PostgreSQL warehouse and lease table (schemas given), and the warehouse delivery of
 * `toll_transactions` under the node's leases, wired as the server wires them (src/server/work-leases.ts).
 * Prints `ready`, then `held KEY,KEY,...` whenever the leases it holds change.
 *   delivery-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, warehouseSchema, leaseSchema, node, leaseMs, renewMs }
 */
import { createLogger } from '../../src/core/logger.ts';
import { DeliveryStream, warehouseDestination } from '../../src/delivery/index.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import { openJetStreamLog } from '../../src/log/index.ts';
import { deliveryConsumers, startWorkLeases } from '../../src/server/work-leases.ts';
import { openPostgresWarehouse } from '../../src/warehouse/index.ts';

interface NodeConfig {
  natsUrls: string[];
  prefix: string;
  postgresUrl: string;
  warehouseSchema: string;
  leaseSchema: string;
  node: string;
  leaseMs: number;
  renewMs: number;
}

const config = JSON.parse(process.argv[2] ?? '') as NodeConfig;
const logger = createLogger({ level: process.env.NODE_LOG ? 'info' : 'silent', format: 'json' });
const log = await openJetStreamLog({ servers: config.natsUrls, prefix: config.prefix, replicas: 3, nodeName: config.node, requestTimeoutMs: 20_000, wakeFallbackMs: 500 });
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
process.stdout.write('ready\n');
let last = '';
setInterval(() => {
  const held = leases.status().held.join(',');
  if (held !== last) process.stdout.write(`held ${held}\n`);
  last = held;
}, 20);
process.on('SIGTERM', () => {
  void (async () => {
    for (const step of undo) await step();
    await delivery.stop();
    await warehouse.close();
    await log.close();
    process.exit(0);
  })();
});

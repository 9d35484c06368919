/**
 * The work leases of this node: each warehouse delivery follows only the shards whose lease the node holds, one
 * lease per delivery and shard (`delivery:<name>:<stream>:<shardId>`). Alone (no `cluster`, or a node-local DuckDB
 * warehouse) the lease table is in memory and the node takes every lease; nodes sharing a PostgreSQL warehouse keep
 * it in PostgreSQL (`cluster.postgresUrl`, schema `tollstream_leases`) and split the leases fairly, taking over a
 * dead node's.
 */
import { leaseTimings, type TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { DeliveryStream } from '../delivery/index.ts';
import { LeaseCoordinator, memoryLeaseStore, openPostgresLeaseStore, type LeaseCoordinatorStatus, type LeaseStore } from '../leases/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';

export interface WorkLeases {
  status(): LeaseCoordinatorStatus;
}

export interface WorkLeasesOptions {
  /** The lease table (`openWorkLeaseStore`); closed with the leases. */
  readonly store: LeaseStore;
  /** This node's name among the lease owners. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly leaseRenewMs: number;
  /** Deliveries started with `shards: 'assigned'`. */
  readonly deliveries: readonly DeliveryStream[];
  /** The stream each delivery reads, by delivery name. */
  readonly streams: ReadonlyMap<string, string>;
  readonly log: StreamLog;
  /** Where the lease gauges go. @default none */
  readonly metrics?: Registry;
  readonly logger: Logger;
  /** How often the shards of the delivered streams are listed to create leases for new ones, in ms. @default 1000 */
  readonly shardSyncMs?: number;
}

/**
 * The node's lease table, with its owner name and timings: in PostgreSQL when the nodes of a cluster share the
 * warehouse (`warehouse.kind: postgres`); in memory otherwise, where this node's own DuckDB file receives every shard.
 */
export async function openWorkLeaseStore(config: TollstreamConfig, logger: Logger): Promise<Pick<WorkLeasesOptions, 'store' | 'owner' | 'leaseMs' | 'leaseRenewMs'>> {
  const cluster = config.cluster;
  const { leaseMs, leaseRenewMs } = leaseTimings(cluster);
  const shared = cluster !== undefined && config.warehouse.kind === 'postgres';
  const store = shared ? await openClusterLeaseStore(cluster.postgresUrl, leaseRenewMs, logger) : memoryLeaseStore();
  return { store, owner: cluster?.nodeName ?? 'local', leaseMs, leaseRenewMs };
}

/** Creates a lease per delivery and shard and starts taking leases. Its stop (releasing the leases, closing the store) is pushed on `undo`. */
export async function startWorkLeases(options: WorkLeasesOptions, undo: Array<() => Promise<void> | void>): Promise<WorkLeases> {
  const { store, logger } = options;
  undo.unshift(() => store.close());
  const work = new Map<string, { delivery: DeliveryStream; shardId: string }>();
  const coordinator = new LeaseCoordinator({
    store,
    owner: options.owner,
    leaseMs: options.leaseMs,
    renewMs: options.leaseRenewMs,
    onAcquired: async (key) => {
      const unit = work.get(key);
      if (unit) await unit.delivery.assignShard(unit.shardId);
    },
    onLost: async (key) => {
      const unit = work.get(key);
      if (unit) await unit.delivery.releaseShard(unit.shardId);
    },
    logger,
  });

  const syncShards = async (): Promise<boolean> => {
    const created: string[] = [];
    for (const delivery of options.deliveries) {
      const stream = options.streams.get(delivery.name)!;
      for (const shard of (await options.log.describeStream(stream)).shards) {
        const key = `delivery:${delivery.name}:${stream}:${shard.shardId}`;
        if (work.has(key)) continue;
        work.set(key, { delivery, shardId: shard.shardId });
        created.push(key);
      }
    }
    if (created.length > 0) await coordinator.ensure(created);
    return created.length > 0;
  };
  await syncShards();
  await coordinator.start();
  // New shards (a reshard) get their leases within a sync; a failed sync is tried again at the next.
  let syncing = false;
  const timer = setInterval(() => {
    if (syncing) return;
    syncing = true;
    syncShards()
      .then((created) => (created ? coordinator.refresh() : undefined))
      .catch((err: unknown) => logger.warn('listing shards for their leases failed; retrying', { component: 'leases', err }))
      .finally(() => (syncing = false));
  }, options.shardSyncMs ?? 1000);
  // Stopped before the deliveries: the node stops its work and releases its leases for the others.
  undo.unshift(async () => {
    clearInterval(timer);
    await coordinator.stop();
  });
  if (options.metrics) registerLeaseMetrics(options.metrics, coordinator);
  logger.info('work leases started', { component: 'leases', store: store.description, owner: coordinator.owner, leases: work.size, held: coordinator.heldKeys().length });
  return { status: () => coordinator.status() };
}

/** The PostgreSQL lease table; a node that cannot reach it at start says so in one line and keeps trying. */
async function openClusterLeaseStore(url: string, timeoutMs: number, logger: Logger, retryMs = 2000): Promise<LeaseStore> {
  let waiting = false;
  for (;;) {
    try {
      const store = await openPostgresLeaseStore({ connectionString: url, timeoutMs });
      if (waiting) logger.info('reached the lease table', { component: 'leases' });
      return store;
    } catch (err) {
      if (!isTollstreamError(err, 'LEASES_UNAVAILABLE')) throw err;
      if (!waiting) logger.warn(`cannot reach the lease table, retrying every ${retryMs} ms: ${err.message}`, { component: 'leases' });
      waiting = true;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

function registerLeaseMetrics(registry: Registry, coordinator: LeaseCoordinator): void {
  const held = registry.gauge('tollstream_leases_held', 'Work leases (one delivery on one shard) this node holds.').labels();
  const share = registry.gauge('tollstream_leases_fair_share', 'The fair share of work leases per live node at the last lease round.').labels();
  const reachable = registry.gauge('tollstream_leases_store_up', '1 when the last lease round reached the lease table, 0 otherwise.').labels();
  registry.onCollect(() => {
    const status = coordinator.status();
    held.set(status.held.length);
    share.set(status.fairShare ?? 0);
    reachable.set(status.storeReachable ? 1 : 0);
  });
}

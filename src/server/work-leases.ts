/**
 * The work leases of this node: each consumer of a shard (a warehouse delivery, a function mapping) works only the
 * shards whose lease the node holds, one lease per consumer and shard (`<kind>:<name>:<stream>:<shardId>`, e.g.
 * `delivery:warehouse:toll_transactions:shardId-000000000001`, `function:abc-tolls-validate:tolls:shardId-000000000000`).
 * Alone (no `cluster`) the lease table is in memory and the node takes every lease; nodes sharing the consumers'
 * destination keep it in PostgreSQL (`cluster.postgresUrl`, schema `tollstream_leases`) and split the leases
 * fairly, taking over a dead node's. A continuous query on a cluster node is one unit with one lease
 * (`query:<name>`), always in PostgreSQL, since its state is there (src/queries/postgres-store.ts).
 */
import { leaseStoreTimeoutMs, leaseTimings, type TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { DeliveryStream } from '../delivery/index.ts';
import type { FunctionsRuntime } from '../functions/index.ts';
import { LeaseCoordinator, memoryLeaseStore, openPostgresLeaseStore, type LeaseCoordinatorStatus, type LeaseLossReason, type LeaseStore, type LeaseToken } from '../leases/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import { openWhenReachable } from './reach.ts';

/** What consumes a stream shard by shard under leases: a delivery, a function mapping. */
export interface ShardConsumer {
  /** The first part of its lease keys: `delivery`, `function`. */
  readonly kind: 'delivery' | 'function';
  readonly name: string;
  readonly stream: string;
  /** Starts working `shardId` from its checkpoint under `lease` (the lease as taken); resolves once started. */
  assignShard(shardId: string, lease: LeaseToken): Promise<void>;
  /** Stops working `shardId`; resolves once nothing more of it can commit. */
  releaseShard(shardId: string): Promise<void>;
}

/** The lease key of one consumer on one shard. */
export function leaseKey(consumer: Pick<ShardConsumer, 'kind' | 'name' | 'stream'>, shardId: string): string {
  return `${consumer.kind}:${consumer.name}:${consumer.stream}:${shardId}`;
}

/** Deliveries started with `shards: 'assigned'`, as consumers; `streams` gives the stream each reads, by delivery name. */
export function deliveryConsumers(deliveries: readonly DeliveryStream[], streams: ReadonlyMap<string, string>): ShardConsumer[] {
  return deliveries.map((delivery) => ({
    kind: 'delivery',
    name: delivery.name,
    stream: streams.get(delivery.name)!,
    assignShard: (shardId) => delivery.assignShard(shardId),
    releaseShard: (shardId) => delivery.releaseShard(shardId),
  }));
}

/** The mappings running on a runtime started with `shards: 'assigned'`, as consumers (the list changes as functions come and go). */
export function functionConsumers(runtime: FunctionsRuntime): ShardConsumer[] {
  return runtime.mappings().map((mapping) => ({
    kind: 'function',
    name: mapping.name,
    stream: mapping.stream,
    assignShard: (shardId, lease) => runtime.assignShard(mapping.name, mapping.stream, shardId, lease),
    releaseShard: (shardId) => runtime.releaseShard(mapping.name, mapping.stream, shardId),
  }));
}

/** Work with one lease of its own rather than one per shard: a continuous query (`query:<name>`, docs/cluster.md). */
export interface LeasedUnit {
  readonly key: string;
  /** Starts the work from its checkpoint, its writes fenced by the lease at `epoch`; resolves once started. */
  start(epoch: number): Promise<void>;
  /** Stops the work; resolves once nothing more of it can commit. */
  stop(reason: LeaseLossReason): Promise<void>;
}

export interface WorkLeases {
  status(): LeaseCoordinatorStatus;
  /** Lists the consumers and their shards now and takes the new leases (a mapping just started), not waiting for the next sync. */
  sync(): Promise<void>;
}

export interface WorkLeasesOptions {
  /** The lease table (`openWorkLeaseStore`); closed with the leases. */
  readonly store: LeaseStore;
  /** This node's name among the lease owners. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly leaseRenewMs: number;
  /** The consumers now (read at every sync: function mappings come and go). */
  readonly consumers: () => readonly ShardConsumer[];
  readonly log: StreamLog;
  readonly logger: Logger;
  /** Units with a lease each (read at every sync: queries come and go); only those listed now are worked. */
  readonly units?: () => readonly LeasedUnit[];
  /** How often the consumers and their streams' shards are listed to create leases for new ones, in ms. @default 1000 */
  readonly shardSyncMs?: number;
}

/**
 * The node's lease table, with its owner name and timings: in PostgreSQL on a node of a cluster whose consumers
 * share their destination with the other nodes (the warehouse with `warehouse.kind: postgres`, the deployed
 * functions' tables: `sharing`); in memory otherwise, where this node works every shard.
 */
export async function openWorkLeaseStore(config: TollstreamConfig, logger: Logger, sharing = config.warehouse.kind === 'postgres'): Promise<Pick<WorkLeasesOptions, 'store' | 'owner' | 'leaseMs' | 'leaseRenewMs'>> {
  const cluster = config.cluster;
  const { leaseMs, leaseRenewMs } = leaseTimings(cluster);
  const store = cluster !== undefined && sharing ? await openClusterLeaseStore(cluster.postgresUrl, leaseStoreTimeoutMs({ leaseMs, leaseRenewMs }), logger) : memoryLeaseStore();
  return { store, owner: cluster?.nodeName ?? 'local', leaseMs, leaseRenewMs };
}

/** Creates a lease per consumer and shard and starts taking leases. Its stop (releasing the leases, closing the store) is pushed on `undo`. */
export async function startWorkLeases(options: WorkLeasesOptions, undo: Array<() => Promise<void> | void>): Promise<WorkLeases> {
  const { store, logger } = options;
  undo.unshift(() => store.close());
  const work = new Map<string, { consumer: ShardConsumer; shardId: string }>();
  // Every unit seen (a lease lost after its unit left the list still stops it), and the keys listed at the last sync.
  const units = new Map<string, LeasedUnit>();
  let listedUnits = new Set<string>();
  const coordinator = new LeaseCoordinator({
    store,
    owner: options.owner,
    leaseMs: options.leaseMs,
    renewMs: options.leaseRenewMs,
    onAcquired: async (key, lease) => {
      const unit = work.get(key);
      if (unit) await unit.consumer.assignShard(unit.shardId, lease);
      else await units.get(key)?.start(lease.epoch);
    },
    onLost: async (key, reason) => {
      const unit = work.get(key);
      if (unit) await unit.consumer.releaseShard(unit.shardId);
      else await units.get(key)?.stop(reason);
    },
    // Leases of consumers this node does not run (the alerts off here, a function deployed elsewhere) are others' work.
    canWork: (key) => work.has(key) || listedUnits.has(key),
    logger,
  });

  const syncShards = async (): Promise<boolean> => {
    const created = new Map<string, { consumer: ShardConsumer; shardId: string }>();
    const shardsOf = new Map<string, readonly string[]>();
    for (const consumer of options.consumers()) {
      let shards = shardsOf.get(consumer.stream);
      if (!shards) shardsOf.set(consumer.stream, (shards = (await options.log.describeStream(consumer.stream)).shards.map((s) => s.shardId)));
      for (const shardId of shards) {
        const key = leaseKey(consumer, shardId);
        if (!work.has(key)) created.set(key, { consumer, shardId });
      }
    }
    // A unit listed again (a query created anew, or resumed) gets its lease again: dropping a query removed it.
    const listed = options.units?.() ?? [];
    const keys = [...created.keys(), ...listed.filter((u) => !listedUnits.has(u.key)).map((u) => u.key)];
    // Known as work only once their leases exist: a failed `ensure` leaves them for the next sync to create.
    if (keys.length > 0) await coordinator.ensure(keys);
    for (const [key, unit] of created) work.set(key, unit);
    for (const unit of listed) units.set(unit.key, unit);
    listedUnits = new Set(listed.map((u) => u.key));
    return keys.length > 0;
  };
  // One sync at a time; a failed one is tried again at the next.
  let syncing: Promise<void> | undefined;
  const sync = (): Promise<void> =>
    (syncing ??= syncShards()
      .then((created) => (created ? coordinator.refresh() : undefined))
      .catch((err: unknown) => logger.warn('listing shards for their leases failed; retrying', { component: 'leases', err }))
      .finally(() => (syncing = undefined)));
  // A lease table or log that fails right at start (a statement timing out on a loaded server) must not end the
  // node's start: it says so once, and the sync below tries again every `shardSyncMs` until the leases exist.
  await syncShards().catch((err: unknown) => logger.warn('creating the leases of this node\'s work failed; retrying at every shard sync', { component: 'leases', err }));
  await coordinator.start();
  // New shards (a reshard) and new consumers (a function deployed) get their leases within a sync.
  const timer = setInterval(() => void sync(), options.shardSyncMs ?? 1000);
  // Stopped before the consumers: the node stops its work and releases its leases for the others.
  undo.unshift(async () => {
    clearInterval(timer);
    await syncing;
    await coordinator.stop();
  });
  logger.info('work leases started', { component: 'leases', store: store.description, owner: coordinator.owner, leases: work.size + listedUnits.size, held: coordinator.heldKeys().length });
  return { status: () => coordinator.status(), sync };
}

/**
 * The leases of a node's consumers, as the server starts them. On a node of a cluster, the consumers whose
 * destination the nodes share take their leases from the lease table in PostgreSQL and move between nodes: the
 * warehouse deliveries when the warehouse is in PostgreSQL, the lake delivery (`clusterDeliveries`: one lake in a
 * folder the nodes share, its commits in PostgreSQL), and the mappings of `sharedFunctions` (the apps' and the
 * deployed functions, on tables in PostgreSQL). The others keep their leases in a table of this node's own, in
 * memory, and it holds every one: the mappings of `functions` (their checkpoints are in this node's `tables.db`,
 * and a mapping must not move to a node that cannot see its checkpoints), and deliveries into this node's own
 * warehouse. Alone (no `cluster`), every consumer is in one table in memory.
 */
export async function startNodeLeases(
  deps: {
    config: TollstreamConfig;
    deliveries: readonly ShardConsumer[];
    /** Deliveries whose destination the nodes of a cluster always share (the cluster's lake): their leases are the cluster's whatever the warehouse. */
    clusterDeliveries?: readonly ShardConsumer[] | undefined;
    /** Mappings committing to this node's own tables (the apps' functions). */
    functions?: FunctionsRuntime | undefined;
    /**
     * Runtimes committing to the tables the nodes of a cluster share, fenced by the shared leases (the apps' and the
     * deployed functions'). Read at every sync: an app may open one as it starts.
     */
    sharedFunctions?: readonly FunctionsRuntime[] | undefined;
    /** Continuous queries on a cluster node: their leases (`query:<name>`) are always in the cluster's lease table. */
    queries?: { leaseUnits(): readonly LeasedUnit[] } | undefined;
    log: StreamLog;
    metrics: Registry;
    logger: Logger;
  },
  undo: Array<() => Promise<void> | void>,
): Promise<WorkLeases | undefined> {
  const { config, functions, log, logger } = deps;
  const queries = config.cluster ? deps.queries : undefined;
  const shared = deps.sharedFunctions ?? [];
  // Alone, a delivery the cluster would share is one more delivery of this node's.
  const clusterDeliveries = config.cluster ? (deps.clusterDeliveries ?? []) : [];
  const deliveries = config.cluster ? deps.deliveries : [...deps.deliveries, ...(deps.clusterDeliveries ?? [])];
  if (deliveries.length === 0 && clusterDeliveries.length === 0 && !functions && shared.length === 0 && !queries) return undefined;
  const deliveriesShared = config.cluster !== undefined && config.warehouse.kind === 'postgres';
  // Query state is in PostgreSQL on a cluster, so query leases are shared even when the warehouse is not.
  const queryUnits = queries ? () => queries.leaseUnits() : undefined;
  const table = await openWorkLeaseStore(config, logger, deliveriesShared || clusterDeliveries.length > 0 || shared.length > 0 || queryUnits !== undefined);
  const mappings = (runtime: FunctionsRuntime | undefined) => (runtime ? functionConsumers(runtime) : []);
  const sharedMappings = () => shared.flatMap(functionConsumers);
  const parts: WorkLeases[] = [];
  if (table.store.description === 'memory') {
    parts.push(await startWorkLeases({ ...table, consumers: () => [...deliveries, ...mappings(functions), ...sharedMappings()], log, logger }, undo));
  } else {
    parts.push(await startWorkLeases({ ...table, consumers: () => [...(deliveriesShared ? deliveries : []), ...clusterDeliveries, ...sharedMappings()], ...(queryUnits ? { units: queryUnits } : {}), log, logger }, undo));
    const own = () => [...(deliveriesShared ? [] : deliveries), ...mappings(functions)];
    if (functions || (!deliveriesShared && deliveries.length > 0)) parts.push(await startWorkLeases({ ...table, store: memoryLeaseStore(), consumers: own, log, logger }, undo));
  }
  const leases: WorkLeases = {
    status: () => {
      const [main, ...rest] = parts.map((p) => p.status());
      return {
        ...main!,
        held: [...main!.held, ...rest.flatMap((r) => r.held)].sort(),
        storeReachable: [main!, ...rest].every((r) => r.storeReachable),
        owners: Object.assign({}, main!.owners, ...rest.map((r) => r.owners)),
      };
    },
    sync: async () => {
      await Promise.all(parts.map((p) => p.sync()));
    },
  };
  // A mapping started later (a function deployed) gets its leases at once, not at the next sync.
  for (const runtime of [functions, ...shared]) if (runtime) undo.unshift(runtime.onMappingStarted(() => void leases.sync()));
  registerLeaseMetrics(deps.metrics, leases.status);
  return leases;
}

/** The PostgreSQL lease table; a node that cannot reach it at start says so in one line and keeps trying. */
function openClusterLeaseStore(url: string, timeoutMs: number, logger: Logger): Promise<LeaseStore> {
  return openWhenReachable(
    'the lease table',
    () => openPostgresLeaseStore({ connectionString: url, timeoutMs }),
    (err) => isTollstreamError(err, 'LEASES_UNAVAILABLE'),
    logger,
    { component: 'leases' },
  );
}

function registerLeaseMetrics(registry: Registry, leaseStatus: () => LeaseCoordinatorStatus): void {
  const held = registry.gauge('tollstream_leases_held', 'Work leases (one consumer on one shard) this node holds.').labels();
  const share = registry.gauge('tollstream_leases_fair_share', 'The fair share of work leases per live node at the last lease round.').labels();
  const reachable = registry.gauge('tollstream_leases_store_up', '1 when the last lease round reached the lease table, 0 otherwise.').labels();
  registry.onCollect(() => {
    const status = leaseStatus();
    held.set(status.held.length);
    share.set(status.fairShare ?? 0);
    reachable.set(status.storeReachable ? 1 : 0);
  });
}

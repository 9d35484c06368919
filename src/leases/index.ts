/**
 * Leases: the one public door. Who owns which unit of work (one consumer on one shard), with expiry, in the
 * manner of the Kinesis Client Library's lease table: in memory for one node, on PostgreSQL for a cluster.
 */
export type * from './types.ts';
export { LeaseCoordinator, type LeaseCoordinatorOptions, type LeaseCoordinatorStatus, type LeaseLossReason } from './coordinator.ts';
export { memoryLeaseStore } from './memory-store.ts';
export { fenceCommits, openPostgresLeaseStore, type PostgresLeaseStoreOptions } from './postgres-store.ts';
export { fairShare } from './balance.ts';

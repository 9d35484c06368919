/**
 * Continuous queries: streaming SQL running on the live stream log with exactly-once checkpoints. The one
 * public door.
 */
export { QueryManager } from './manager.ts';
export type { QueryLeaseUnit, QueryManagerOptions } from './manager.ts';
export { openPostgresQueryStore, queryLeaseKey, type PostgresQueryStore, type PostgresQueryStoreOptions } from './postgres-store.ts';
export { ReferenceFiles, type ReferenceFileInfo } from './reference-files.ts';
export type { CreateQueryRequest, LeaseFence, QueryStateStore, QueryDefinition, QueryInfo, QueryShardLag, QueryState, QueryStats } from './types.ts';

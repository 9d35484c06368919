/**
 * Continuous queries: streaming SQL running on the live stream log with exactly-once checkpoints. The one
 * public door.
 */
export { QueryManager } from './manager.ts';
export type { QueryManagerOptions } from './manager.ts';
export { ReferenceFiles, type ReferenceFileInfo } from './reference-files.ts';
export type { CreateQueryRequest, QueryDefinition, QueryInfo, QueryShardLag, QueryState, QueryStats } from './types.ts';

/**
 * One cluster node's continuous queries, wired as the server wires them: a query manager on the PostgreSQL query
 * store, running the queries whose lease it holds, with its own lease coordinator (`startWorkLeases`) and its own
 * connections. Used in the test process (several nodes over one log) and by `query-node.ts` (a node of its own, to
 * be killed with kill -9).
 */
import type { Logger } from '../../src/core/logger.ts';
import { openPostgresLeaseStore } from '../../src/leases/index.ts';
import type { StreamLog } from '../../src/log/index.ts';
import { openPostgresQueryStore, QueryManager } from '../../src/queries/index.ts';
import { startWorkLeases, type WorkLeases } from '../../src/server/work-leases.ts';

/** Lease timings of the takeover tests: longer than the lease tests' own, as a query runs in the same process on a shared machine. */
export const TEST_QUERY_LEASE_MS = 4500;
export const TEST_QUERY_RENEW_MS = 1000;

export interface LeasedNodeOptions {
  readonly name: string;
  readonly log: StreamLog;
  /** The PostgreSQL this node reaches (possibly through a proxy). */
  readonly postgresUrl: string;
  readonly leaseSchema: string;
  readonly querySchema: string;
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly logger: Logger;
}

export interface LeasedNode {
  readonly name: string;
  readonly manager: QueryManager;
  readonly leases: WorkLeases;
  /** A clean stop: the leases released (a query's after a final checkpoint), then the manager closed. */
  stop(): Promise<void>;
}

export async function startLeasedNode(options: LeasedNodeOptions): Promise<LeasedNode> {
  const { name, log, logger } = options;
  const leaseStore = await openPostgresLeaseStore({ connectionString: options.postgresUrl, schema: options.leaseSchema, timeoutMs: options.renewMs * 2 });
  const store = await openPostgresQueryStore({ connectionString: options.postgresUrl, schema: options.querySchema, leaseSchema: options.leaseSchema });
  const manager = new QueryManager({ log, store, leased: { owner: name, definitionSyncMs: 200 }, checkpointIntervalMs: 200, logger });
  await manager.start();
  const undo: Array<() => Promise<void> | void> = [];
  const leases = await startWorkLeases(
    { store: leaseStore, owner: name, leaseMs: options.leaseMs, leaseRenewMs: options.renewMs, consumers: () => [], units: () => manager.leaseUnits(), log, logger, shardSyncMs: 200 },
    undo,
  );
  let stopping: Promise<void> | undefined;
  return {
    name,
    manager,
    leases,
    stop: () =>
      (stopping ??= (async () => {
        for (const fn of undo) await fn();
        await manager.close();
      })()),
  };
}

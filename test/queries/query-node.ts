/**
 * A cluster node running continuous queries in a process of its own (test/cluster/node-process.ts), so the
 * takeover test can kill it with kill -9: the PostgreSQL query store and lease table (schemas given), see
 * leased-node.ts.
 *   query-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, leaseSchema, querySchema, node, leaseMs, renewMs }
 */
import { runNodeProcess, type NodeProcessConfig } from '../cluster/node-process.ts';
import { startLeasedNode } from './leased-node.ts';

interface QueryNodeConfig extends NodeProcessConfig {
  postgresUrl: string;
  leaseSchema: string;
  querySchema: string;
  leaseMs: number;
  renewMs: number;
}

await runNodeProcess<QueryNodeConfig>((config, log, logger) =>
  startLeasedNode({ name: config.node, log, postgresUrl: config.postgresUrl, leaseSchema: config.leaseSchema, querySchema: config.querySchema, leaseMs: config.leaseMs, renewMs: config.renewMs, logger }),
);

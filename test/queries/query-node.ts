/**
 * A cluster node running continuous queries in a process of its own, so the takeover test can kill it with
 * kill -9: the JetStream log, the PostgreSQL query store and lease table (schemas given), see leased-node.ts.
 * Prints `ready`, then `held KEY,KEY,...` whenever the leases it holds change.
 *   query-node.ts CONFIG_JSON   with { natsUrls, prefix, postgresUrl, leaseSchema, querySchema, node, leaseMs, renewMs }
 */
import { createLogger } from '../../src/core/logger.ts';
import { openJetStreamLog } from '../../src/log/index.ts';
import { startLeasedNode } from './leased-node.ts';

interface NodeConfig {
  natsUrls: string[];
  prefix: string;
  postgresUrl: string;
  leaseSchema: string;
  querySchema: string;
  node: string;
  leaseMs: number;
  renewMs: number;
}

const config = JSON.parse(process.argv[2] ?? '') as NodeConfig;
const logger = createLogger({ level: process.env.NODE_LOG ? 'info' : 'silent', format: 'json' });
const log = await openJetStreamLog({ servers: config.natsUrls, prefix: config.prefix, replicas: 3, nodeName: config.node, requestTimeoutMs: 20_000, wakeFallbackMs: 500 });
const node = await startLeasedNode({ name: config.node, log, postgresUrl: config.postgresUrl, leaseSchema: config.leaseSchema, querySchema: config.querySchema, leaseMs: config.leaseMs, renewMs: config.renewMs, logger });
process.stdout.write('ready\n');
let last = '';
setInterval(() => {
  const held = node.leases.status().held.join(',');
  if (held !== last) process.stdout.write(`held ${held}\n`);
  last = held;
}, 20);

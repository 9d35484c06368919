/**
 * The part every node process of the failover tests shares (delivery-node.ts, test/queries/query-node.ts): a node
 * in a process of its own, so a test can kill it with kill -9. Reads its config as JSON from the first argument,
 * opens the JetStream log, starts the node's work, prints `ready`, then `held KEY,KEY,...` whenever the leases it
 * holds change; SIGTERM stops the node and the log and exits 0.
 */
import { createLogger, type Logger } from '../../src/core/logger.ts';
import { openJetStreamLog, type StreamLog } from '../../src/log/index.ts';
import type { WorkLeases } from '../../src/server/work-leases.ts';

export interface NodeProcessConfig {
  readonly natsUrls: string[];
  readonly prefix: string;
  readonly node: string;
}

export interface RunningNodeWork {
  readonly leases: WorkLeases;
  /** Stops the node's work (its leases released); the log is closed after it. */
  stop(): Promise<void>;
}

/** Runs the node `start` builds on the log; logs go to stderr as JSON when NODE_LOG is set. */
export async function runNodeProcess<C extends NodeProcessConfig>(start: (config: C, log: StreamLog, logger: Logger) => Promise<RunningNodeWork>): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as C;
  const logger = createLogger({ level: process.env.NODE_LOG ? 'info' : 'silent', format: 'json' });
  const log = await openJetStreamLog({ servers: config.natsUrls, prefix: config.prefix, replicas: 3, nodeName: config.node, requestTimeoutMs: 20_000, wakeFallbackMs: 500 });
  const work = await start(config, log, logger);
  process.stdout.write('ready\n');
  let last = '';
  setInterval(() => {
    const held = work.leases.status().held.join(',');
    if (held !== last) process.stdout.write(`held ${held}\n`);
    last = held;
  }, 20);
  process.on('SIGTERM', () => {
    void (async () => {
      await work.stop();
      await log.close();
      process.exit(0);
    })();
  });
}

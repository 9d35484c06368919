/**
 * The stream log of a cluster node: the JetStream backend on `cluster.natsServers`. A node started while the
 * cluster cannot be reached (or has no JetStream quorum yet) says so in one line and keeps trying.
 */
import type { TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { openJetStreamLog } from '../log/index.ts';
import type { JetStreamStreamLog } from '../log/index.ts';

export async function openClusterLog(cluster: NonNullable<TollstreamConfig['cluster']>, config: TollstreamConfig, logger: Logger, retryMs = 2000): Promise<JetStreamStreamLog> {
  let waiting = false;
  for (;;) {
    try {
      const log = await openJetStreamLog({
        servers: cluster.natsServers,
        replicas: cluster.replicas,
        nodeName: cluster.nodeName,
        defaultRetentionHours: config.storage.retentionHours,
        logger: logger.child({ component: 'log' }),
      });
      if (waiting) logger.info('reached the NATS cluster', { servers: cluster.natsServers });
      return log;
    } catch (err) {
      if (!isTollstreamError(err, 'IO_ERROR')) throw err;
      if (!waiting) logger.warn(`cannot reach the NATS cluster, retrying every ${retryMs} ms: ${err.message}`, { servers: cluster.natsServers });
      waiting = true;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}

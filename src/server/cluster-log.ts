/**
 * The stream log of a cluster node: the JetStream backend on `cluster.natsServers`. A node started while the
 * cluster cannot be reached (or has no JetStream quorum yet) says so in one line and keeps trying.
 */
import type { TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { openJetStreamLog } from '../log/index.ts';
import type { JetStreamStreamLog } from '../log/index.ts';
import { openWhenReachable } from './reach.ts';

export function openClusterLog(cluster: NonNullable<TollstreamConfig['cluster']>, config: TollstreamConfig, logger: Logger, retryMs = 2000): Promise<JetStreamStreamLog> {
  return openWhenReachable(
    'the NATS cluster',
    () =>
      openJetStreamLog({
        servers: cluster.natsServers,
        replicas: cluster.replicas,
        nodeName: cluster.nodeName,
        defaultRetentionHours: config.storage.retentionHours,
        logger: logger.child({ component: 'log' }),
      }),
    (err) => isTollstreamError(err, 'IO_ERROR'),
    logger,
    { servers: cluster.natsServers },
    retryMs,
  );
}

/**
 * The stream log of a cluster node: the JetStream backend on `cluster.natsServers`. A node started while the
 * cluster cannot be reached (or has no JetStream quorum yet) says so in one line and keeps trying.
 */
import type { TollstreamConfig } from '../config/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { openJetStreamLog } from '../log/index.ts';
import type { JetStreamStreamLog, StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
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

/**
 * `tollstream_log_reachable`: 0 while the node cannot reach its log's servers (a cluster node cut off from NATS,
 * which then acknowledges no write), 1 otherwise; always 1 on the embedded log.
 */
export function registerLogReachableMetric(registry: Registry, log: StreamLog): void {
  const reachable = registry.gauge('tollstream_log_reachable', '1 when the stream log can be reached (on a cluster: the NATS cluster), 0 otherwise.').labels();
  registry.onCollect(() => reachable.set(log.health?.().reachable === false ? 0 : 1));
}

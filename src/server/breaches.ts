/**
 * Threshold breaches into the warehouse: the spend function's `spend-alerts` notifications are mirrored by
 * the notify dispatcher to the log stream `spend_alerts` (with `breach_id` = the notification's idempotency
 * key, the field the stream deduplicates on), and a delivery named `spend_alerts` loads that stream into
 * `threshold_breaches`, exactly once like the toll delivery. Runs when both alerts and the warehouse are on.
 */
import { DEFAULT_TOPIC } from '../apps/abc-tolls/index.ts';
import type { TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { isTollstreamError } from '../core/errors.ts';
import { DeliveryStream, warehouseDestination } from '../delivery/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { MirrorOptions } from '../notify/index.ts';
import { THRESHOLD_BREACHES, type Warehouse } from '../warehouse/index.ts';

/** The log stream of breach notifications, and the name of the delivery that reads it. */
export const BREACHES_STREAM = 'spend_alerts';
/** The field of a `spend_alerts` record holding the notification's idempotency key `breach:<customer>:<month>:<threshold>`. */
export const BREACH_ID_FIELD = 'breach_id';

/** For `openNotify({ mirror })`: breach notifications appended to `spend_alerts` as the dispatcher fans them out. */
export function breachMirror(log: StreamLog): MirrorOptions {
  return {
    routes: [{ topic: DEFAULT_TOPIC, stream: BREACHES_STREAM, keyField: BREACH_ID_FIELD }],
    append: (stream, records) => log.append(stream, records),
  };
}

/**
 * Creates `spend_alerts` when missing (one shard: a few records per customer and month; deduplicated on
 * `breach_id`, so a dispatcher that appends again after a crash stores nothing new) and starts its delivery
 * into `threshold_breaches`. The delivery's stop is pushed on `undo` as soon as it runs.
 */
export async function startBreachDelivery(
  log: StreamLog,
  warehouse: Warehouse,
  config: TollstreamConfig,
  logger: Logger,
  undo: Array<() => Promise<void> | void>,
): Promise<DeliveryStream> {
  await ensureBreachStream(log, config, logger);
  const delivery = new DeliveryStream({
    name: BREACHES_STREAM,
    log,
    stream: BREACHES_STREAM,
    destination: warehouseDestination(warehouse, THRESHOLD_BREACHES.name),
    buffering: { sizeMiB: config.delivery.bufferSizeMiB, intervalSeconds: config.delivery.bufferIntervalSeconds },
    // Follows the shards whose lease this node holds (work-leases.ts), as the warehouse delivery does.
    shards: 'assigned',
    logger,
  });
  await delivery.start();
  undo.unshift(() => delivery.stop());
  return delivery;
}

async function ensureBreachStream(log: StreamLog, config: TollstreamConfig, logger: Logger): Promise<void> {
  const existing = (await log.listStreams()).some((s) => s.name === BREACHES_STREAM);
  if (existing) {
    const { dedupe } = await log.describeStream(BREACHES_STREAM);
    const deduplicated = (dedupe?.mode === 'field' && dedupe.field === BREACH_ID_FIELD) || dedupe?.mode === 'key';
    if (!deduplicated) {
      logger.warn(`stream '${BREACHES_STREAM}' does not deduplicate on ${BREACH_ID_FIELD}: a breach appended again after a crash is stored twice (the report still counts it once)`, {
        stream: BREACHES_STREAM,
      });
    }
    return;
  }
  try {
    await log.createStream(BREACHES_STREAM, {
      shardCount: 1,
      retentionHours: config.storage.retentionHours,
      dedupe: { mode: 'field', field: BREACH_ID_FIELD },
    });
    logger.info('created the threshold breach stream', { stream: BREACHES_STREAM });
  } catch (err) {
    if (!isTollstreamError(err, 'STREAM_EXISTS')) throw err;
  }
}

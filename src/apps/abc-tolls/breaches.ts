/**
 * Threshold breaches into the warehouse: the spend function's `spend-alerts` notifications are mirrored by
 * the notify dispatcher to the log stream `spend_alerts` (with `breach_id` = the notification's idempotency
 * key, the field the stream deduplicates on), and the server delivers that stream into `threshold_breaches`,
 * exactly once like the toll delivery (a warehouse feed of the app). Runs when both alerts and the warehouse are on.
 */
import type { WarehouseFeed } from '../../app-contract/index.ts';
import type { TollstreamConfig } from '../../config/index.ts';
import type { Logger } from '../../core/logger.ts';
import { isTollstreamError } from '../../core/errors.ts';
import type { StreamLog } from '../../log/index.ts';
import type { MirrorRoute } from '../../notify/index.ts';
import { SOURCE_COLUMN_SCHEMAS, type TableSchema } from '../../warehouse/index.ts';
import { DEFAULT_TOPIC } from './ledger.ts';

/** The log stream of breach notifications, and the name of the delivery that reads it. */
export const BREACHES_STREAM = 'spend_alerts';
/** The field of a `spend_alerts` record holding the notification's idempotency key `breach:<customer>:<month>:<threshold>`. */
export const BREACH_ID_FIELD = 'breach_id';

/**
 * Spending-threshold breaches, one row per breach notification: the spend function's `spend-alerts` messages
 * appended to the stream `spend_alerts` and delivered here (see docs/warehouse.md, "Threshold breaches"). The
 * app declares it; the warehouse creates it (`ensureSchema`) when the server runs with the app.
 */
export const THRESHOLD_BREACHES: TableSchema = {
  name: 'threshold_breaches',
  description: 'One row per spending-threshold breach notification, delivered from the stream spend_alerts.',
  columns: [
    { name: 'breach_id', type: 'varchar', description: 'Idempotency key of the notification: breach:<customer>:<month>:<threshold>.' },
    { name: 'customer_id', type: 'varchar', description: 'Customer whose month passed the threshold.' },
    { name: 'month', type: 'varchar', description: 'Month of the total, YYYY-MM in the customer ledger\'s time zone.' },
    { name: 'threshold_cents', type: 'bigint', min: 0, description: 'The threshold crossed, integer cents.' },
    { name: 'total_cents', type: 'bigint', description: 'The month\'s total right after the crossing, integer cents.' },
    { name: 'breached_at', type: 'timestamp', description: 'Event time of the spend that crossed, or when a lowered threshold was set (UTC).' },
    { name: 'cause', type: 'varchar', description: 'transaction, window or threshold_change: what took the total past the threshold.' },
    ...SOURCE_COLUMN_SCHEMAS,
  ],
};

/** The breach notifications the dispatcher appends to `spend_alerts` as it fans them out. */
export const BREACH_MIRROR: MirrorRoute = { topic: DEFAULT_TOPIC, stream: BREACHES_STREAM, keyField: BREACH_ID_FIELD };

/**
 * `spend_alerts` into `threshold_breaches`. The stream is created when missing (one shard: a few records per
 * customer and month; deduplicated on `breach_id`, so a dispatcher that appends again after a crash stores nothing new).
 */
export function breachFeed(config: TollstreamConfig): WarehouseFeed {
  return { stream: BREACHES_STREAM, table: THRESHOLD_BREACHES.name, ensureStream: (log, logger) => ensureBreachStream(log, config, logger) };
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

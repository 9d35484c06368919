/**
 * Delivery and warehouse metrics on the shared registry: counters and gauges copied from each delivery's
 * `stats()` at scrape time (delivery pays nothing per record), and the warehouse's freshness, read from the
 * warehouse itself at each scrape (one small query of `_delivery_positions`).
 */
import type { Logger } from '../core/logger.ts';
import type { DeliveryStream } from '../delivery/index.ts';
import type { Registry } from '../metrics/index.ts';
import type { Warehouse } from '../warehouse/index.ts';

const STATES = ['created', 'running', 'retrying', 'stopped', 'failed'] as const;

export function registerDeliveryMetrics(registry: Registry, deliveries: readonly DeliveryStream[]): void {
  const rows = registry.counter('tollstream_delivery_rows_total', 'Rows delivered into the destination, by delivery.', ['delivery']);
  const bytes = registry.counter('tollstream_delivery_bytes_total', 'Bytes of record data delivered as rows, by delivery.', ['delivery']);
  const read = registry.counter('tollstream_delivery_records_read_total', 'Records read from the log, by delivery.', ['delivery']);
  const batches = registry.counter('tollstream_delivery_batches_total', 'Batches committed into the destination, by delivery.', ['delivery']);
  const dropped = registry.counter('tollstream_delivery_records_dropped_total', 'Records the transform dropped, by delivery.', ['delivery']);
  const errors = registry.counter('tollstream_delivery_errors_total', 'Records sent to the error output, by delivery and error type.', ['delivery', 'type']);
  const retries = registry.counter('tollstream_delivery_retries_total', 'Failed destination writes that were retried, by delivery.', ['delivery']);
  const buffered = registry.gauge('tollstream_delivery_buffered_records', 'Records read and waiting for their batch, by delivery.', ['delivery']);
  const dataFreshness = registry.gauge(
    'tollstream_delivery_data_freshness_seconds',
    "Age of the oldest record read but not yet delivered, in seconds (Firehose's DataFreshness); 0 when nothing waits.",
    ['delivery'],
  );
  const behind = registry.gauge('tollstream_delivery_behind_latest_seconds', 'How far the slowest shard reader is behind the newest record, in seconds.', ['delivery']);
  const state = registry.gauge('tollstream_delivery_state', '1 for the state the delivery is in (created, running, retrying, stopped, failed).', ['delivery', 'state']);

  registry.onCollect(() => {
    for (const family of [rows, bytes, read, batches, dropped, errors, retries, buffered, dataFreshness, behind, state]) family.reset();
    for (const delivery of deliveries) {
      const s = delivery.stats();
      const name = s.name;
      rows.labels(name).inc(s.rowsDelivered);
      bytes.labels(name).inc(s.bytesDelivered);
      read.labels(name).inc(s.recordsRead);
      batches.labels(name).inc(s.batchesDelivered);
      dropped.labels(name).inc(s.recordsDropped);
      for (const [type, count] of Object.entries(s.errors)) errors.labels(name, type).inc(count);
      retries.labels(name).inc(s.destinationRetries);
      buffered.labels(name).set(s.bufferedRecords);
      dataFreshness.labels(name).set(s.dataFreshnessSeconds);
      behind.labels(name).set(s.millisBehindLatest / 1000);
      for (const st of STATES) state.labels(name, st).set(s.state === st ? 1 : 0);
    }
  });
}

export function registerWarehouseMetrics(registry: Registry, warehouse: Warehouse, logger: Logger): void {
  const freshness = registry.gauge(
    'tollstream_warehouse_freshness_seconds',
    'Now minus the newest arrival time among rows loaded into the warehouse, in seconds; absent before the first row.',
  );
  const up = registry.gauge('tollstream_warehouse_up', '1 when the last freshness query of the warehouse succeeded, 0 otherwise.').labels();
  registry.onCollectAsync(async () => {
    try {
      const f = await warehouse.freshness();
      freshness.reset();
      if (f.seconds !== null) freshness.labels().set(f.seconds);
      up.set(1);
    } catch (err) {
      up.set(0);
      logger.warn('reading the warehouse freshness for /metrics failed', { err });
    }
  });
}

/**
 * What the gateway exports on /metrics. Request counters and latencies are updated per request through
 * cached series; per-shard record counts and fsync latencies come from the log's own stats at scrape time,
 * so ingest pays nothing per record.
 */
import type { StreamLog } from '../log/index.ts';
import { Registry, type CounterChild, type HistogramChild } from '../metrics/index.ts';
import type { ProtocolServerStats } from './server.ts';

const FSYNC_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface GatewayMetrics {
  readonly registry: Registry;
  /** One answered request: `api` is kinesis, firehose, native or ops; `operation` the Kinesis operation or native route. */
  request(api: string, operation: string, status: number, seconds: number): void;
  tailOpened(): void;
  tailClosed(): void;
  setReady(ready: boolean): void;
  /** Exports the protocol server's connection and body limits, read at scrape time. */
  watchServer(stats: () => ProtocolServerStats): void;
}

export function createGatewayMetrics(registry: Registry, log: StreamLog): GatewayMetrics {
  const requests = registry.counter('tollstream_requests_total', 'Requests answered, by API, operation and HTTP status.', ['api', 'operation', 'status']);
  const latency = registry.histogram('tollstream_request_duration_seconds', 'Time from request to response, by API and operation, in seconds.', ['api', 'operation']);
  const recordsIn = registry.counter('tollstream_records_in_total', 'Records stored, by stream and shard.', ['stream', 'shard']);
  const bytesIn = registry.counter('tollstream_bytes_in_total', 'Bytes of record data stored, by stream and shard.', ['stream', 'shard']);
  const duplicates = registry.counter('tollstream_duplicates_dropped_total', 'Records recognized as producer retries and not stored again.', ['stream', 'shard']);
  const stored = registry.gauge('tollstream_stored_bytes', 'Bytes held by the log now, by stream and shard.', ['stream', 'shard']);
  const failed = registry.gauge('tollstream_shard_failed', '1 while a shard refuses writes after a storage failure (it heals by itself once the disk does), else 0.', ['stream', 'shard']);
  const writeFailures = registry.counter('tollstream_shard_write_failures_total', 'Storage failures (write, fsync, roll) that made a shard refuse writes.', ['stream', 'shard']);
  const dedupeKeys = registry.gauge('tollstream_dedupe_keys', 'Keys the producer dedupe window of a stream remembers now.', ['stream']);
  const dedupeBytes = registry.gauge('tollstream_dedupe_bytes', 'Memory held by the producer dedupe window of a stream, in bytes (grows with its keys up to their bound).', ['stream']);
  const dedupeEvicted = registry.counter('tollstream_dedupe_evicted_early_total', 'Keys the producer dedupe window of a stream forgot before the window ended, for its key bound: retries of their records would be stored again.', ['stream']);
  const dedupeReach = registry.gauge('tollstream_dedupe_effective_window_seconds', 'How far back the producer dedupe window of a stream reaches now: the age of the oldest key it keeps, at most the window (less when the key bound cuts it short).', ['stream']);
  const fsync = registry.histogram('tollstream_fsync_duration_seconds', 'Duration of flushes to stable storage, in seconds.', [], FSYNC_BUCKETS_SECONDS).labels();
  const tails = registry.gauge('tollstream_tail_clients', 'Open tail (Server-Sent Events) connections.').labels();
  const ready = registry.gauge('tollstream_ready', '1 when the gateway serves requests, 0 while starting or stopping.').labels();

  registry.onCollect(() => {
    const stats = log.stats();
    recordsIn.reset();
    bytesIn.reset();
    duplicates.reset();
    stored.reset();
    failed.reset();
    writeFailures.reset();
    for (const s of stats.shards) {
      if (s.failed !== undefined) failed.labels(s.stream, s.shardId).set(s.failed ? 1 : 0);
      if (s.writeFailures !== undefined) writeFailures.labels(s.stream, s.shardId).inc(s.writeFailures);
      recordsIn.labels(s.stream, s.shardId).inc(s.recordsIn);
      bytesIn.labels(s.stream, s.shardId).inc(s.bytesIn);
      duplicates.labels(s.stream, s.shardId).inc(s.duplicatesDropped);
      stored.labels(s.stream, s.shardId).set(s.storedBytes);
    }
    dedupeKeys.reset();
    dedupeBytes.reset();
    dedupeEvicted.reset();
    dedupeReach.reset();
    for (const d of stats.dedupe ?? []) {
      dedupeKeys.labels(d.stream).set(d.keys);
      dedupeBytes.labels(d.stream).set(d.bytes);
      dedupeEvicted.labels(d.stream).inc(d.evictedEarly);
      dedupeReach.labels(d.stream).set(d.effectiveWindowSeconds);
    }
    for (const ms of stats.fsyncDurationsMs) fsync.observe(ms / 1000);
  });

  const series = new Map<string, { count: CounterChild; latency: HistogramChild }>();
  return {
    registry,
    request(api, operation, status, seconds) {
      const key = `${api} ${operation} ${status}`;
      let s = series.get(key);
      if (!s) {
        s = { count: requests.labels(api, operation, String(status)), latency: latency.labels(api, operation) };
        series.set(key, s);
      }
      s.count.inc();
      s.latency.observe(seconds);
    },
    tailOpened: () => tails.inc(1),
    tailClosed: () => tails.inc(-1),
    setReady: (value) => ready.set(value ? 1 : 0),
    watchServer(stats) {
      const connections = registry.gauge('tollstream_http_connections', 'Open connections on the HTTP port.').labels();
      const refusedConnections = registry.counter('tollstream_http_connections_refused_total', 'Connections closed as soon as accepted because http.maxConnections were open.');
      const bodyBytes = registry.gauge('tollstream_http_body_bytes_in_flight', 'Bytes of request bodies being received now (reserved against http.maxBodyBytesInFlight).').labels();
      const refusedBodies = registry.counter('tollstream_http_bodies_refused_total', 'Request bodies answered 503 because http.maxBodyBytesInFlight were being received.');
      registry.onCollect(() => {
        const s = stats();
        connections.set(s.openConnections);
        bodyBytes.set(s.bodyBytesInFlight);
        // Totals kept by the server: the series is set to them, as the log's counters are above.
        refusedConnections.reset();
        refusedConnections.labels().inc(s.refusedConnections);
        refusedBodies.reset();
        refusedBodies.labels().inc(s.refusedBodies);
      });
    },
  };
}

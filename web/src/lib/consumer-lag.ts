/**
 * How far behind each consumer (function, delivery, query) is, read from one `/metrics` scrape, per shard it
 * reads: in records (`tollstream_consumer_lag_records`) and in time (`tollstream_consumer_lag_seconds`, the age
 * of the oldest record after the consumer's committed position, 0 when none is), both labelled with the `kind`
 * of consumer. A consumer's time lag is its slowest shard's. A server whose log cannot count records behind (the
 * JetStream log) reports neither: then each consumer's own gauge is shown instead, as the consumer last measured
 * it (deliveries' and queries' distance of their last read to the newest record, functions' age of the last
 * record processed), which is not live. Plain TypeScript with no DOM use, so the tests import it under Node.
 */
import { samplesOf, type MetricFamily } from './prometheus.ts';

export interface ShardLag {
  readonly stream: string;
  readonly shard: string;
  readonly records: number;
  /** Seconds behind, when reported. */
  readonly seconds?: number;
}

export interface ConsumerLag {
  readonly consumer: string;
  readonly kind: 'delivery' | 'function' | 'query';
  /** Seconds behind the newest record on its slowest shard, when the consumer reports it. */
  readonly seconds?: number;
  /** Per stream shard, sorted by stream and shard. */
  readonly shards: readonly ShardLag[];
}

type Kind = ConsumerLag['kind'];
const kindOf = (label: string | undefined): Kind => (label === 'delivery' || label === 'query' ? label : 'function');

export function consumerLag(families: Map<string, MetricFamily>): ConsumerLag[] {
  // Keyed by kind and name (a function and a query may share a name), then by stream and shard.
  const byConsumer = new Map<string, { consumer: string; kind: Kind; shards: Map<string, { stream: string; shard: string; records?: number; seconds?: number }> }>();
  const shardEntry = (labels: Readonly<Record<string, string>>) => {
    const consumer = labels.consumer ?? '?';
    const kind = kindOf(labels.kind);
    const key = `${kind}\u0000${consumer}`;
    let c = byConsumer.get(key);
    if (!c) byConsumer.set(key, (c = { consumer, kind, shards: new Map() }));
    const stream = labels.stream ?? '';
    const shard = labels.shard ?? '';
    const shardKey = `${stream}\u0000${shard}`;
    let s = c.shards.get(shardKey);
    if (!s) c.shards.set(shardKey, (s = { stream, shard }));
    return s;
  };
  for (const s of samplesOf(families, 'tollstream_consumer_lag_records')) shardEntry(s.labels).records = s.value;
  const live = samplesOf(families, 'tollstream_consumer_lag_seconds');
  for (const s of live) shardEntry(s.labels).seconds = s.value;
  // Every consumer with a gauge of its own is listed (a LATEST mapping has no position, so no lag series, before
  // its first record); the gauge's value is shown only when the server reports no live lag at all.
  const measured = new Map<string, number>();
  const own = (kind: Kind, consumer: string | undefined, value: number) => {
    const key = `${kind}\u0000${consumer ?? '?'}`;
    if (!byConsumer.has(key)) byConsumer.set(key, { consumer: consumer ?? '?', kind, shards: new Map() });
    if (live.length === 0) measured.set(key, Math.max(value, measured.get(key) ?? value));
  };
  for (const s of samplesOf(families, 'tollstream_delivery_behind_latest_seconds')) own('delivery', s.labels.delivery, s.value);
  for (const s of samplesOf(families, 'tollstream_query_lag_seconds')) own('query', s.labels.query, s.value);
  for (const s of samplesOf(families, 'tollstream_function_iterator_age_seconds')) own('function', s.labels.mapping, s.value);
  return [...byConsumer.entries()].map(([key, c]) => {
    const shards = [...c.shards.values()]
      .map((s) => ({ stream: s.stream, shard: s.shard, records: s.records ?? 0, ...(s.seconds !== undefined ? { seconds: s.seconds } : {}) }))
      .sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream)));
    const seconds = shards.flatMap((s) => (s.seconds === undefined ? [] : [s.seconds]));
    const own = measured.get(key);
    const slowest = seconds.length > 0 ? Math.max(...seconds) : own;
    return { consumer: c.consumer, kind: c.kind, ...(slowest !== undefined ? { seconds: slowest } : {}), shards };
  });
}

/** The records behind over all of a consumer's shards, or undefined when it reports none. */
export function totalRecordsBehind(lag: ConsumerLag): number | undefined {
  return lag.shards.length === 0 ? undefined : lag.shards.reduce((n, s) => n + s.records, 0);
}

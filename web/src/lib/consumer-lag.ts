/**
 * How far behind each consumer (function, delivery, query) is, read from one `/metrics` scrape, per shard it
 * reads: in records (`tollstream_consumer_lag_records`) and in time (`tollstream_consumer_lag_seconds`, the age
 * of the oldest record after the consumer's committed position, 0 when none is), both labelled with the `kind`
 * of consumer. A consumer's time lag is its slowest shard's. Plain TypeScript with no DOM use, so the tests
 * import it under Node.
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
  for (const s of samplesOf(families, 'tollstream_consumer_lag_seconds')) shardEntry(s.labels).seconds = s.value;
  return [...byConsumer.values()].map((c) => {
    const shards = [...c.shards.values()]
      .map((s) => ({ stream: s.stream, shard: s.shard, records: s.records ?? 0, ...(s.seconds !== undefined ? { seconds: s.seconds } : {}) }))
      .sort((a, b) => (a.stream === b.stream ? a.shard.localeCompare(b.shard) : a.stream.localeCompare(b.stream)));
    const seconds = shards.flatMap((s) => (s.seconds === undefined ? [] : [s.seconds]));
    return { consumer: c.consumer, kind: c.kind, ...(seconds.length > 0 ? { seconds: Math.max(...seconds) } : {}), shards };
  });
}

/** The records behind over all of a consumer's shards, or undefined when it reports none. */
export function totalRecordsBehind(lag: ConsumerLag): number | undefined {
  return lag.shards.length === 0 ? undefined : lag.shards.reduce((n, s) => n + s.records, 0);
}

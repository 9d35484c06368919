/** The Streams page's consumer lag: seconds and records per shard joined per consumer from one scrape. */
import { describe, expect, it } from 'vitest';
import { consumerLag, totalRecordsBehind } from '../../web/src/lib/consumer-lag.ts';
import { parsePrometheusText } from '../../web/src/lib/prometheus.ts';

const SCRAPE = `# HELP tollstream_function_iterator_age_seconds x
# TYPE tollstream_function_iterator_age_seconds gauge
tollstream_function_iterator_age_seconds{mapping="spend"} 264.9
tollstream_function_iterator_age_seconds{mapping="fresh"} 0
# HELP tollstream_consumer_lag_records x
# TYPE tollstream_consumer_lag_records gauge
tollstream_consumer_lag_records{consumer="spend",stream="tolls",shard="shardId-000000000001",kind="function"} 41
tollstream_consumer_lag_records{consumer="spend",stream="tolls",shard="shardId-000000000000",kind="function"} 12
tollstream_consumer_lag_records{consumer="paused",stream="tolls",shard="shardId-000000000000",kind="function"} 0
tollstream_consumer_lag_records{consumer="warehouse",stream="tolls",shard="shardId-000000000000",kind="delivery"} 7
tollstream_consumer_lag_records{consumer="spend",stream="valid",shard="shardId-000000000000",kind="query"} 3
# HELP tollstream_consumer_lag_seconds x
# TYPE tollstream_consumer_lag_seconds gauge
tollstream_consumer_lag_seconds{consumer="spend",stream="tolls",shard="shardId-000000000001",kind="function"} 8.5
tollstream_consumer_lag_seconds{consumer="spend",stream="tolls",shard="shardId-000000000000",kind="function"} 0.25
tollstream_consumer_lag_seconds{consumer="paused",stream="tolls",shard="shardId-000000000000",kind="function"} 0
tollstream_consumer_lag_seconds{consumer="warehouse",stream="tolls",shard="shardId-000000000000",kind="delivery"} 1.5
tollstream_consumer_lag_seconds{consumer="spend",stream="valid",shard="shardId-000000000000",kind="query"} 2
`;

describe('consumerLag', () => {
  it("puts each consumer's seconds and records behind per shard on one row, its seconds its slowest shard's", () => {
    const lags = consumerLag(parsePrometheusText(SCRAPE));
    expect(lags).toEqual([
      {
        consumer: 'spend',
        kind: 'function',
        // The live lag, not the iterator age of the last batch (264.9 s in this scrape).
        seconds: 8.5,
        shards: [
          { stream: 'tolls', shard: 'shardId-000000000000', records: 12, seconds: 0.25 },
          { stream: 'tolls', shard: 'shardId-000000000001', records: 41, seconds: 8.5 },
        ],
      },
      { consumer: 'paused', kind: 'function', seconds: 0, shards: [{ stream: 'tolls', shard: 'shardId-000000000000', records: 0, seconds: 0 }] },
      { consumer: 'warehouse', kind: 'delivery', seconds: 1.5, shards: [{ stream: 'tolls', shard: 'shardId-000000000000', records: 7, seconds: 1.5 }] },
      // A query of the same name as a function is a consumer of its own.
      { consumer: 'spend', kind: 'query', seconds: 2, shards: [{ stream: 'valid', shard: 'shardId-000000000000', records: 3, seconds: 2 }] },
      // A LATEST mapping before its first record has no position, so no lag series: listed, with nothing measured.
      { consumer: 'fresh', kind: 'function', shards: [] },
    ]);
    expect(lags.map(totalRecordsBehind)).toEqual([53, 0, 7, 3, undefined]);
  });

  it("shows each consumer's own gauge when the server's log cannot count what is behind (JetStream)", () => {
    const scrape = `# TYPE tollstream_function_iterator_age_seconds gauge
tollstream_function_iterator_age_seconds{mapping="spend"} 0.5
# TYPE tollstream_delivery_behind_latest_seconds gauge
tollstream_delivery_behind_latest_seconds{delivery="warehouse"} 1.5
# TYPE tollstream_query_lag_seconds gauge
tollstream_query_lag_seconds{query="spend"} 2
`;
    expect(consumerLag(parsePrometheusText(scrape))).toEqual([
      { consumer: 'warehouse', kind: 'delivery', seconds: 1.5, shards: [] },
      { consumer: 'spend', kind: 'query', seconds: 2, shards: [] },
      { consumer: 'spend', kind: 'function', seconds: 0.5, shards: [] },
    ]);
  });
});

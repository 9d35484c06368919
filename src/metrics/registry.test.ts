import { describe, expect, it } from 'vitest';
import { Registry } from './index.ts';

describe('Registry', () => {
  it('renders counters and gauges with escaped labels in the text format', () => {
    const registry = new Registry();
    const records = registry.counter('records_in_total', 'Records accepted.', ['stream']);
    records.labels('tolls').inc(3);
    records.labels('tolls').inc();
    records.labels('we"ird\\name\n').inc(2);
    registry.gauge('ready', 'One when ready.').labels().set(1);

    const text = registry.render();
    expect(text).toContain('# HELP records_in_total Records accepted.\n# TYPE records_in_total counter\n');
    expect(text).toContain('records_in_total{stream="tolls"} 4\n');
    expect(text).toContain('records_in_total{stream="we\\"ird\\\\name\\n"} 2\n');
    expect(text).toContain('# TYPE ready gauge\nready 1\n');
  });

  it('renders histograms with cumulative buckets, sum and count', () => {
    const registry = new Registry();
    const latency = registry.histogram('latency_seconds', 'Latency.', ['op'], [0.1, 1]);
    const child = latency.labels('Put');
    child.observe(0.05);
    child.observe(0.5);
    child.observe(5);

    const text = registry.render();
    expect(text).toContain('latency_seconds_bucket{op="Put",le="0.1"} 1\n');
    expect(text).toContain('latency_seconds_bucket{op="Put",le="1"} 2\n');
    expect(text).toContain('latency_seconds_bucket{op="Put",le="+Inf"} 3\n');
    expect(text).toContain('latency_seconds_sum{op="Put"} 5.55\n');
    expect(text).toContain('latency_seconds_count{op="Put"} 3\n');
  });

  it('refreshes gauges from collectors at each rendering', () => {
    const registry = new Registry();
    const stored = registry.gauge('stored_bytes', 'Bytes stored.', ['shard']);
    let bytes = 10;
    registry.onCollect(() => {
      stored.reset();
      stored.labels('shardId-0').set(bytes);
    });
    expect(registry.render()).toContain('stored_bytes{shard="shardId-0"} 10\n');
    bytes = 20;
    expect(registry.render()).toContain('stored_bytes{shard="shardId-0"} 20\n');
  });

  it('rejects invalid names, duplicates and wrong label counts', () => {
    const registry = new Registry();
    expect(() => registry.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    registry.counter('ok_total', 'x', ['a']);
    expect(() => registry.counter('ok_total', 'x')).toThrow(/registered twice/);
    const c = registry.counter('two_total', 'x', ['a', 'b']);
    expect(() => c.labels('only-one')).toThrow(/takes labels/);
  });

  it('refreshes values that need a query before an async rendering, and keeps the old value when one fails', async () => {
    const registry = new Registry();
    const freshness = registry.gauge('freshness_seconds', 'Age of the newest row.').labels();
    let answer: () => Promise<number> = async () => 1.5;
    registry.onCollectAsync(async () => freshness.set(await answer()));
    expect(await registry.renderAsync()).toContain('freshness_seconds 1.5\n');
    answer = async () => {
      throw new Error('closed');
    };
    expect(await registry.renderAsync()).toContain('freshness_seconds 1.5\n');
  });
});

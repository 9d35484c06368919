/**
 * Samples the server while the end-to-end benchmark runs: lag and freshness gauges and progress counters from
 * /metrics (the continuous queries' last checkpoint among them), and its resident memory from /proc, every `intervalMs`, into one time series for the whole run.
 */
import { processCpuSeconds } from '../lib/cpu-usage.ts';
import { metricMax, metricSum, metricSumWithLabel, scrapeMetrics } from '../lib/prometheus.ts';
import { processRssBytes } from '../lib/process-memory.ts';
import { sleep } from '../lib/stats.ts';

export interface Sample {
  /** `performance.now()` when the scrape answered. */
  readonly at: number;
  /** Highest `tollstream_function_iterator_age_seconds` over the function mappings (the spend function), in ms. */
  readonly functionAgeMs: number | undefined;
  /** Highest `tollstream_delivery_behind_latest_seconds` over the deliveries, in ms. */
  readonly deliveryBehindMs: number | undefined;
  /** Highest `tollstream_query_lag_seconds` over the queries, in ms. */
  readonly queryLagMs: number | undefined;
  /** `tollstream_warehouse_freshness_seconds`. */
  readonly freshnessSeconds: number | undefined;
  /**
   * The largest `tollstream_function_records_total` over the function mappings: records the first function
   * after ingest (the one that reads every toll) committed. Later functions read fewer records (spend windows).
   */
  readonly functionRecords: number;
  /** Rows delivered plus records the delivery dropped or sent to its error output. */
  readonly deliveryRecords: number;
  readonly rssBytes: number;
  /** `nodejs_heap_size_used_bytes`: the JavaScript heap part of it. */
  readonly heapUsedBytes: number | undefined;
  /** `tollstream_dedupe_bytes` over all streams: producer dedupe windows, which grow with their keys to a set bound. */
  readonly dedupeBytes: number;
  /** `tollstream_records_in_total` of the ingest stream: tolls stored (producer retries the dedupe dropped left out). */
  readonly ingestRecords: number;
  /** CPU seconds (user + system, all threads) the server process has used so far, from /proc. */
  readonly serverCpuSeconds: number;
  /**
   * The continuous queries' last stored checkpoint: `tollstream_query_checkpoint_id` summed over the queries (it
   * goes up by one a checkpoint, so its rise over a step is the checkpoints taken), `_bytes` summed and
   * `_duration_seconds` the longest. Undefined when no query has stored one.
   */
  readonly checkpoint: { readonly ids: number; readonly bytes: number; readonly seconds: number } | undefined;
}

/** The stream every toll enters by. */
const INGEST_STREAM = 'toll_transactions';

export class ServerSampler {
  readonly samples: Sample[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly pid: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const next = performance.now() + this.intervalMs;
        await this.sampleOnce().catch(() => undefined); // a slow answer under load: skip this sample
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
  }

  /** Takes one sample now (also used right when a step's traffic stops). */
  async sampleOnce(): Promise<Sample> {
    const text = await scrapeMetrics(this.url);
    const queryLag = metricMax(text, 'tollstream_query_lag_seconds');
    const functionAge = metricMax(text, 'tollstream_function_iterator_age_seconds');
    const deliveryBehind = metricMax(text, 'tollstream_delivery_behind_latest_seconds');
    const sample: Sample = {
      at: performance.now(),
      functionAgeMs: functionAge === undefined ? undefined : functionAge * 1000,
      deliveryBehindMs: deliveryBehind === undefined ? undefined : deliveryBehind * 1000,
      queryLagMs: queryLag === undefined ? undefined : queryLag * 1000,
      freshnessSeconds: metricMax(text, 'tollstream_warehouse_freshness_seconds'),
      functionRecords: metricMax(text, 'tollstream_function_records_total') ?? 0,
      deliveryRecords:
        metricSum(text, 'tollstream_delivery_rows_total') +
        metricSum(text, 'tollstream_delivery_records_dropped_total') +
        metricSum(text, 'tollstream_delivery_errors_total'),
      rssBytes: processRssBytes(this.pid),
      heapUsedBytes: metricMax(text, 'nodejs_heap_size_used_bytes'),
      dedupeBytes: metricSum(text, 'tollstream_dedupe_bytes'),
      ingestRecords: metricSumWithLabel(text, 'tollstream_records_in_total', 'stream', INGEST_STREAM),
      serverCpuSeconds: processCpuSeconds(this.pid),
      checkpoint: metricMax(text, 'tollstream_query_checkpoint_id') === undefined
        ? undefined
        : {
            ids: metricSum(text, 'tollstream_query_checkpoint_id'),
            bytes: metricSum(text, 'tollstream_query_checkpoint_bytes'),
            seconds: metricMax(text, 'tollstream_query_checkpoint_duration_seconds') ?? 0,
          },
    };
    this.samples.push(sample);
    return sample;
  }

  /** Samples taken between two `performance.now()` times. */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

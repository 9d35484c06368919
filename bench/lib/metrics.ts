/**
 * Reads the fsync latency histogram from a Tollstream server's `/metrics`, so a benchmark can tell how
 * much of a request's latency the disk accounts for.
 */
export interface HistogramSnapshot {
  /** Cumulative counts by upper bound in seconds, ascending; the last bound is +Infinity. */
  readonly buckets: readonly { readonly le: number; readonly count: number }[];
  readonly count: number;
  readonly sumSeconds: number;
}

const METRIC = 'tollstream_fsync_duration_seconds';

export async function fetchFsyncHistogram(baseUrl: string): Promise<HistogramSnapshot | undefined> {
  let text: string;
  try {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    text = await response.text();
    if (response.status !== 200) return undefined;
  } catch {
    return undefined;
  }
  const buckets: { le: number; count: number }[] = [];
  let count = 0;
  let sumSeconds = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(METRIC)) continue;
    const bucket = /^tollstream_fsync_duration_seconds_bucket\{le="([^"]+)"\}\s+(\S+)/.exec(line);
    if (bucket) buckets.push({ le: bucket[1] === '+Inf' ? Infinity : Number(bucket[1]), count: Number(bucket[2]) });
    else if (line.startsWith(`${METRIC}_count`)) count = Number(line.split(/\s+/)[1]);
    else if (line.startsWith(`${METRIC}_sum`)) sumSeconds = Number(line.split(/\s+/)[1]);
  }
  if (buckets.length === 0) return undefined;
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, count, sumSeconds };
}

export interface FsyncSummary {
  readonly fsyncs: number;
  readonly meanMs: number;
  /** Upper bounds of the histogram buckets holding the 50th and 99th percentiles, in ms. */
  readonly p50AtMostMs: number;
  readonly p99AtMostMs: number;
}

/** The fsyncs between two snapshots. */
export function fsyncsBetween(before: HistogramSnapshot, after: HistogramSnapshot): FsyncSummary | undefined {
  const fsyncs = after.count - before.count;
  if (fsyncs <= 0) return undefined;
  const delta = after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) }));
  const bound = (q: number) => (delta.find((b) => b.count >= q * fsyncs)?.le ?? Infinity) * 1000;
  return {
    fsyncs,
    meanMs: Math.round(((after.sumSeconds - before.sumSeconds) / fsyncs) * 1e6) / 1000,
    p50AtMostMs: bound(0.5),
    p99AtMostMs: bound(0.99),
  };
}

/**
 * A long step cut into fixed windows (10 s by default), so a held rate shows whether it stayed held: per window
 * the tolls the server stored per second, its CPU per toll, its RSS at the window's end, warehouse freshness p99,
 * the breaches acknowledged in the window and their p99 to notification, and the rate against the goals.
 */
import { percentile, round } from '../lib/stats.ts';
import type { Sample } from './sampler.ts';

/** The rates the figures are compared with (tolls/s on one 2-core node): the target and the goal beyond it. */
export const RATE_GOALS = [100_000, 250_000] as const;

export interface WindowFigures {
  /** Seconds from the start of the traffic to the window's start and end (as sampled). */
  readonly fromS: number;
  readonly toS: number;
  /** Tolls stored on the ingest stream per second (`tollstream_records_in_total`; retries the dedupe dropped are not stored). */
  readonly storedRate: number;
  /** Server CPU (all threads) per stored toll, µs. */
  readonly serverCpuUsPerToll: number;
  readonly serverCores: number;
  /** RSS at the window's last sample, and the producer dedupe windows' part of it. */
  readonly rssMiB: number;
  readonly dedupeMiB: number;
  readonly freshnessP99Seconds: number | null;
  /** Planted breaches whose PutRecords was acknowledged in the window; Infinity in `p99Ms` when one was never notified. */
  readonly breaches: { readonly count: number; readonly p99Ms: number | null };
  /** `storedRate` over each of `RATE_GOALS`. */
  readonly goalRatios: readonly number[];
}

/** A planted breach: when its PutRecords was acknowledged and how long the notification took (Infinity: never). */
export interface BreachTiming {
  readonly ackAt: number;
  readonly latencyMs: number;
}

/**
 * Cuts the samples of one step's traffic (`from`..`to`, `performance.now()` times) into windows of `windowMs`.
 * A window's counters are the difference between the samples nearest its start and its end, over the time
 * between those two samples, so a sample missed under load widens the span measured rather than losing tolls.
 * A tail shorter than half a window joins the window before it. Empty when the step is shorter than one and a half.
 */
export function stepWindows(samples: readonly Sample[], breaches: readonly BreachTiming[], from: number, to: number, windowMs = 10_000): WindowFigures[] {
  const count = Math.floor((to - from) / windowMs + 0.5);
  if (count < 2) return [];
  const bounds = Array.from({ length: count + 1 }, (_, i) => (i === count ? to : from + i * windowMs));
  const usable = samples.filter((s) => Number.isFinite(s.serverCpuSeconds) && Number.isFinite(s.rssBytes));
  const nearest = (t: number) => {
    let found: Sample | undefined;
    for (const s of usable) if (!found || Math.abs(s.at - t) < Math.abs(found.at - t)) found = s;
    return found;
  };
  const out: WindowFigures[] = [];
  for (let i = 0; i < count; i++) {
    const start = nearest(bounds[i]!);
    const end = nearest(bounds[i + 1]!);
    if (!start || !end || end.at <= start.at) continue;
    const seconds = (end.at - start.at) / 1000;
    const stored = end.ingestRecords - start.ingestRecords;
    const cpu = end.serverCpuSeconds - start.serverCpuSeconds;
    const freshness = usable
      .filter((s) => s.at > bounds[i]! && s.at <= bounds[i + 1]! && s.freshnessSeconds !== undefined)
      .map((s) => s.freshnessSeconds!)
      .sort((a, b) => a - b);
    const inWindow = breaches
      .filter((b) => b.ackAt >= bounds[i]! && b.ackAt < bounds[i + 1]!)
      .map((b) => b.latencyMs)
      .sort((a, b) => a - b);
    const storedRate = Math.round(stored / seconds);
    out.push({
      fromS: round((start.at - from) / 1000, 1),
      toS: round((end.at - from) / 1000, 1),
      storedRate,
      serverCpuUsPerToll: stored > 0 ? Math.round((cpu * 1e6) / stored) : Number.NaN,
      serverCores: round(cpu / seconds, 2),
      rssMiB: Math.round(end.rssBytes / 1024 / 1024),
      dedupeMiB: Math.round(end.dedupeBytes / 1024 / 1024),
      freshnessP99Seconds: freshness.length ? round(percentile(freshness, 99), 2) : null,
      breaches: { count: inWindow.length, p99Ms: inWindow.length ? round(percentile(inWindow, 99), 0) : null },
      goalRatios: RATE_GOALS.map((goal) => round(storedRate / goal, 3)),
    });
  }
  return out;
}

/** The continuous queries' checkpoints during a step, from the sampled `tollstream_query_checkpoint_*` gauges. */
export interface CheckpointFigures {
  /** Checkpoints stored during the step: the rise of the summed checkpoint ids. */
  readonly count: number;
  readonly perSecond: number;
  /** Over the distinct checkpoints the samples saw (a sample shows only the last one): mean and largest. */
  readonly seen: number;
  readonly meanBytes: number | null;
  readonly maxBytes: number | null;
  readonly meanMs: number | null;
  readonly maxMs: number | null;
}

/**
 * Checkpoint count, size and time over `samples` (one step's traffic). The gauges describe the last checkpoint
 * only, so size and time are those of the checkpoints a sample happened to see, each counted once.
 */
export function checkpointFigures(samples: readonly Sample[]): CheckpointFigures | undefined {
  const withCheckpoint = samples.filter((s) => s.checkpoint !== undefined);
  if (withCheckpoint.length === 0) return undefined;
  const first = withCheckpoint[0]!;
  const last = withCheckpoint[withCheckpoint.length - 1]!;
  const count = last.checkpoint!.ids - first.checkpoint!.ids;
  const seconds = (last.at - first.at) / 1000;
  const seen = new Map<number, { bytes: number; seconds: number }>();
  for (const s of withCheckpoint) seen.set(s.checkpoint!.ids, s.checkpoint!);
  const bytes = [...seen.values()].map((c) => c.bytes);
  const ms = [...seen.values()].map((c) => c.seconds * 1000);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    count,
    perSecond: seconds > 0 ? round(count / seconds, 2) : 0,
    seen: seen.size,
    meanBytes: Math.round(mean(bytes)),
    maxBytes: Math.max(...bytes),
    meanMs: round(mean(ms), 1),
    maxMs: round(Math.max(...ms), 1),
  };
}

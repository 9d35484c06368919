/**
 * Drives a sink with generated traffic, either paced to a rate in real time (event time follows the wall
 * clock) or as fast as the sink accepts it.
 */
import type { GeneratedRecord, TrafficGenerator } from './generator.ts';
import type { Sink } from './sinks.ts';

export interface SimulationOptions {
  readonly generator: TrafficGenerator;
  readonly sink: Sink;
  /**
   * Records per second of wall-clock time; the generator's clock must then follow the wall clock
   * (start it at `Date.now()` with `eventsPerSecond` equal to this rate). Omit to send as fast as possible.
   */
  readonly rate?: number;
  /** Stop after this many records. */
  readonly count?: number;
  /** Stop after this long, in ms. */
  readonly durationMs?: number;
  /** @default 500 */
  readonly batchSize?: number;
  /** Batches in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Called with each batch once the sink acknowledged it. */
  readonly onAcknowledged?: (records: readonly GeneratedRecord[]) => void;
  /** Called about once a second. */
  readonly onProgress?: (stats: SimulationStats) => void;
  readonly signal?: AbortSignal;
}

export interface SimulationStats {
  sent: number;
  accepted: number;
  failed: number;
  duplicatesSent: number;
  elapsedMs: number;
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationStats> {
  const { generator, sink, rate } = options;
  const batchSize = options.batchSize ?? 500;
  const concurrency = options.concurrency ?? 4;
  if (options.count === undefined && options.durationMs === undefined && !options.signal) {
    throw new RangeError('runSimulation needs count, durationMs or signal to know when to stop');
  }
  const started = Date.now();
  const stats: SimulationStats = { sent: 0, accepted: 0, failed: 0, duplicatesSent: 0, elapsedMs: 0 };
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown;
  let lastProgress = started;

  const done = () =>
    firstError !== undefined ||
    options.signal?.aborted === true ||
    (options.count !== undefined && stats.sent >= options.count) ||
    (options.durationMs !== undefined && Date.now() - started >= options.durationMs);

  while (!done()) {
    const limit = Math.min(batchSize, options.count === undefined ? Infinity : options.count - stats.sent);
    const batch: GeneratedRecord[] = [];
    if (rate === undefined) {
      while (batch.length < limit) batch.push(generator.next());
    } else {
      const now = Date.now();
      while (batch.length < limit && generator.now <= now) batch.push(generator.next());
      if (batch.length === 0) {
        await sleep(Math.min(50, Math.max(1, generator.now - now)));
        continue;
      }
    }
    stats.sent += batch.length;
    for (const r of batch) if (r.duplicate) stats.duplicatesSent++;
    const p: Promise<void> = sink
      .send(batch.map((r) => r.transaction))
      .then((res) => {
        stats.accepted += res.accepted;
        stats.failed += res.failed;
        options.onAcknowledged?.(batch);
      })
      .catch((err: unknown) => {
        firstError ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (options.onProgress && Date.now() - lastProgress >= 1000) {
      lastProgress = Date.now();
      stats.elapsedMs = lastProgress - started;
      options.onProgress({ ...stats });
    }
  }
  await Promise.all(inFlight);
  stats.elapsedMs = Date.now() - started;
  if (firstError !== undefined) throw firstError;
  return stats;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

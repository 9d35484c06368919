import { describe, expect, it } from 'vitest';
import type { Sample } from '../../bench/e2e/sampler.ts';
import { checkpointFigures, stepWindows } from '../../bench/e2e/windows.ts';

/** A sample every 500 ms from `t0`: 1,000 tolls/s stored, half a core, RSS 300 MiB at `t0` growing 1 MiB a second. */
function samples(t0: number, seconds: number, skip: (t: number) => boolean = () => false): Sample[] {
  const out: Sample[] = [];
  for (let ms = 0; ms <= seconds * 1000; ms += 500) {
    if (skip(ms)) continue;
    out.push({
      at: t0 + ms,
      functionAgeMs: 0,
      deliveryBehindMs: 0,
      queryLagMs: 0,
      freshnessSeconds: ms / 10_000,
      functionRecords: 0,
      deliveryRecords: 0,
      rssBytes: (300 + ms / 1000) * 1024 * 1024,
      heapUsedBytes: undefined,
      dedupeBytes: 8 * 1024 * 1024,
      ingestRecords: ms,
      serverCpuSeconds: 100 + ms / 2000,
      // A checkpoint a second (ids from 40), the one stored at second n of 1,000 * n bytes taking 100 + n ms.
      checkpoint: { ids: 40 + Math.floor(ms / 1000), bytes: 1000 * Math.floor(ms / 1000), seconds: (100 + Math.floor(ms / 1000)) / 1000 },
    });
  }
  return out;
}

describe('a long step cut into 10 s windows', () => {
  it('reports per window the stored rate, CPU per toll, RSS, freshness, breaches and the goal ratios', () => {
    const t0 = 5000;
    const windows = stepWindows(samples(t0 - 1000, 32), [
      { ackAt: t0 + 3000, latencyMs: 800 },
      { ackAt: t0 + 4000, latencyMs: 1200 },
      { ackAt: t0 + 15_000, latencyMs: Infinity },
    ], t0, t0 + 30_000);
    expect(windows.map((w) => [w.fromS, w.toS])).toEqual([[0, 10], [10, 20], [20, 30]]);
    for (const w of windows) {
      expect(w.storedRate).toBe(1000);
      expect(w.serverCores).toBe(0.5);
      expect(w.serverCpuUsPerToll).toBe(500);
      expect(w.goalRatios).toEqual([0.01, 0.004]);
      expect(w.dedupeMiB).toBe(8);
    }
    expect(windows.map((w) => w.rssMiB)).toEqual([311, 321, 331]);
    expect(windows.map((w) => w.freshnessP99Seconds)).toEqual([1.1, 2.1, 3.1]);
    expect(windows.map((w) => w.breaches)).toEqual([{ count: 2, p99Ms: 1200 }, { count: 1, p99Ms: Infinity }, { count: 0, p99Ms: null }]);
  });

  it('measures a window over the samples it has when one is missing, and leaves short steps uncut', () => {
    const t0 = 0;
    // The scrape at 10 s did not answer (a stalled server): the windows meet at the nearest sample instead.
    const windows = stepWindows(samples(t0, 20, (ms) => ms === 10_000), [], t0, t0 + 20_000);
    expect(windows).toHaveLength(2);
    expect(windows[0]!.toS).toBe(windows[1]!.fromS);
    expect(windows.map((w) => w.storedRate)).toEqual([1000, 1000]);
    expect(stepWindows(samples(t0, 14), [], t0, t0 + 14_000)).toEqual([]);
  });
});

describe('the checkpoints of a step', () => {
  it('counts them by the rise of the checkpoint id and averages the size and time of each one seen once', () => {
    // 10 s sampled every 500 ms: ids 40..50, so 10 checkpoints, 11 distinct ones seen (sizes 0..10,000 bytes).
    const c = checkpointFigures(samples(0, 10));
    expect(c).toEqual({ count: 10, perSecond: 1, seen: 11, meanBytes: 5000, maxBytes: 10_000, meanMs: 105, maxMs: 110 });
  });

  it('is absent when no query has stored a checkpoint', () => {
    expect(checkpointFigures(samples(0, 10).map((s) => ({ ...s, checkpoint: undefined })))).toBeUndefined();
  });
});

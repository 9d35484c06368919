import { describe, expect, it } from 'vitest';
import { RandomCutForest } from './random-cut-forest.ts';

/** A sine wave of period 50 with small noise; at the given positions the value jumps far off the wave. */
function signal(n: number, spikes: ReadonlySet<number>): number[] {
  let noise = 7;
  return Array.from({ length: n }, (_, i) => {
    noise = (noise * 48271) % 2147483647;
    const wave = 10 * Math.sin((2 * Math.PI * i) / 50) + ((noise / 2147483647) - 0.5);
    return spikes.has(i) ? wave + 25 : wave;
  });
}

function scores(forest: RandomCutForest, values: readonly number[], shingle: number): number[] {
  return values.map((_, i) => {
    if (i + 1 < shingle) return 0;
    const point = values.slice(i + 1 - shingle, i + 1);
    const s = forest.count >= 64 ? forest.score(point) : 0;
    forest.update(point);
    return s;
  });
}

const options = { numberOfTrees: 50, subSampleSize: 64, timeDecay: 1000, seed: 1 };

describe('random cut forest', () => {
  it('scores injected spikes on a periodic signal above every ordinary point', () => {
    const spikes = new Set([400, 650, 900]);
    const values = signal(1000, spikes);
    const s = scores(new RandomCutForest({ ...options, dimensions: 4 }), values, 4);
    const ordinary = s.filter((_, i) => i >= 300 && ![...spikes].some((p) => i >= p && i < p + 4));
    const lowestSpike = Math.min(...[...spikes].map((p) => s[p]!));
    expect(lowestSpike).toBeGreaterThan(1.5 * Math.max(...ordinary));
    const mean = ordinary.reduce((a, b) => a + b, 0) / ordinary.length;
    expect(lowestSpike).toBeGreaterThan(2.5 * mean);
  });

  it('a forest restored from a snapshot scores what follows as the uninterrupted one does', () => {
    const values = signal(600, new Set([500]));
    const whole = scores(new RandomCutForest({ ...options, dimensions: 2 }), values, 2);
    const first = new RandomCutForest({ ...options, dimensions: 2 });
    const before = scores(first, values.slice(0, 300), 2);
    const restored = new RandomCutForest({ ...options, dimensions: 2 });
    restored.restore(JSON.parse(JSON.stringify(first.snapshot())));
    // The shingle of the point after the cut reaches back over it.
    const after = values.slice(300).map((v, i) => {
      const point = [values[299 + i]!, v];
      const s = restored.score(point);
      restored.update(point);
      return s;
    });
    expect([...before, ...after]).toEqual(whole);
    expect(whole.some((x) => x > 0)).toBe(true);
  });

  it('the same seed gives the same scores, another seed other scores', () => {
    const values = signal(300, new Set());
    const a = scores(new RandomCutForest({ ...options, dimensions: 1 }), values, 1);
    const b = scores(new RandomCutForest({ ...options, dimensions: 1 }), values, 1);
    const c = scores(new RandomCutForest({ ...options, seed: 2, dimensions: 1 }), values, 1);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });
});

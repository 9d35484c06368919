import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.ts';
import type { Hotspot } from './hotspots.ts';
import { HotspotDetector } from './hotspots.ts';

/**
 * DBSCAN by its definition, over every pair of points: the hotspots a window must have. Also counts the
 * border points within reach of two hotspots, whose hotspot the definition leaves open.
 */
function byDefinition(points: readonly (readonly number[])[], radius: number, minimum: number): { spots: Hotspot[]; ambiguous: number } {
  const near = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) <= radius * radius;
  const neighbours = points.map((p, i) => points.flatMap((q, j) => (i !== j && near(p, q) ? [j] : [])));
  const core = neighbours.map((n) => n.length + 1 >= minimum);
  const cluster = points.map(() => -1);
  let clusters = 0;
  points.forEach((_, start) => {
    if (!core[start] || cluster[start] !== -1) return;
    const queue = [start];
    cluster[start] = clusters;
    while (queue.length) for (const n of neighbours[queue.pop()!]!) if (core[n] && cluster[n] === -1) (cluster[n] = clusters), queue.push(n);
    clusters++;
  });
  let ambiguous = 0;
  points.forEach((_, i) => {
    if (core[i]) return;
    const reach = new Set(neighbours[i]!.filter((n) => core[n]).map((n) => cluster[n]!));
    if (reach.size > 1) ambiguous++;
    if (reach.size > 0) cluster[i] = [...reach][0]!;
  });
  const dims = points[0]!.length;
  const boxOf = (ps: readonly (readonly number[])[]) => ({
    min: Array.from({ length: dims }, (_, d) => Math.min(...ps.map((p) => p[d]!))),
    max: Array.from({ length: dims }, (_, d) => Math.max(...ps.map((p) => p[d]!))),
  });
  const all = boxOf(points);
  const span = (lo: number, hi: number) => Math.max(hi - lo, radius);
  const spots = Array.from({ length: clusters }, (_, c) => {
    const ps = points.filter((_, i) => cluster[i] === c);
    const b = boxOf(ps);
    let share = 1;
    for (let d = 0; d < dims; d++) share *= span(b.min[d]!, b.max[d]!) / span(all.min[d]!, all.max[d]!);
    return { density: ps.length / points.length / share, minValues: b.min, maxValues: b.max };
  });
  return { spots: spots.sort((a, b) => b.density - a.density), ambiguous };
}

describe('HOTSPOTS detector', () => {
  for (const dims of [1, 2, 3]) {
    it(`finds the hotspots DBSCAN's definition gives, in ${dims} dimension(s), as the window slides`, () => {
      const random = new Random(dims);
      const centres = [0, 1, 2].map(() => Array.from({ length: dims }, () => random.next() * 10));
      const windowSize = 150;
      const radius = 0.25 * dims;
      const detector = new HotspotDetector({ windowSize, scanRadius: radius, minimumPoints: 8 });
      const window: number[][] = [];
      let compared = 0;
      for (let i = 0; i < 600; i++) {
        // The centres take turns being dense, so hotspots come and go as the window slides.
        const dense = Math.floor(i / 150) % 3;
        const p = i % 3 === 0 ? centres[dense]!.map((c) => c + (random.next() - 0.5) * radius * 2) : Array.from({ length: dims }, () => random.next() * 10);
        detector.add(p);
        window.push(p);
        if (window.length > windowSize) window.shift();
        if (i % 25 !== 24) continue;
        const expected = byDefinition(window, radius, 8);
        if (expected.ambiguous > 0) continue;
        const found = detector.hotspots();
        expect(found.map((s) => [s.minValues, s.maxValues])).toEqual(expected.spots.map((s) => [s.minValues, s.maxValues]));
        found.forEach((s, k) => expect(s.density).toBeCloseTo(expected.spots[k]!.density, 9));
        if (expected.spots.length > 0) compared++;
      }
      // Most checks had hotspots to compare (a border point between two hotspots is rare here).
      expect(compared).toBeGreaterThanOrEqual(15);
    });
  }
});

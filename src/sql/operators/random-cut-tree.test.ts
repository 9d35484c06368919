import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.ts';
import { RandomCutTree } from './random-cut-tree.ts';

/** Every check a tree's checkpoint allows from outside: its leaves (point, mass) and each cut's consistency. */
function leavesOf(tree: RandomCutTree, points: readonly (readonly number[])[]): Map<string, number> {
  const key = (p: readonly number[]) => p.join(',');
  const index = new Map(points.map((p, i) => [key(p), i]));
  const state = tree.snapshot((p) => index.get(key(p))!);
  const leaves = new Map<string, number>();
  let at = 0;
  // Walks the preorder layout, checking that every point lies on the side of each cut above it.
  const walk = (bounds: { dim: number; value: number; left: boolean }[]): void => {
    const head = state.heads[at]!;
    const second = state.values[at++]!;
    if (head < 0) {
      const p = points[-1 - head]!;
      for (const b of bounds) expect(p[b.dim]! <= b.value).toBe(b.left);
      leaves.set(key(p), second);
      return;
    }
    walk([...bounds, { dim: head, value: second, left: true }]);
    walk([...bounds, { dim: head, value: second, left: false }]);
  };
  if (state.heads.length > 0) walk([]);
  expect(at).toBe(state.heads.length);
  return leaves;
}

describe('random cut tree', () => {
  it('after inserts and deletes in any order holds exactly the points left, copies counted, each on its side of every cut', () => {
    const random = new Random(3);
    const tree = new RandomCutTree(2);
    const held: number[][] = [];
    for (let step = 0; step < 3000; step++) {
      if (held.length > 0 && random.next() < 0.45) {
        const [gone] = held.splice(Math.floor(random.next() * held.length), 1);
        tree.delete(gone!);
      } else {
        // Coarse values, so the same point often comes again.
        const p = [Math.floor(random.next() * 8), Math.floor(random.next() * 8) / 2];
        held.push(p);
        tree.insert(p, random);
      }
      if (step % 250 !== 0) continue;
      const expected = new Map<string, number>();
      for (const p of held) expected.set(p.join(','), (expected.get(p.join(',')) ?? 0) + 1);
      const distinct = [...new Map(held.map((p) => [p.join(','), p])).values()];
      expect(leavesOf(tree, distinct)).toEqual(expected);
      expect(tree.mass).toBe(held.length);
    }
  });

  it('restored from its checkpoint (boxes recomputed from the leaves), scores every point as the tree it was taken from, whose boxes were kept up through deletes', () => {
    const random = new Random(9);
    const tree = new RandomCutTree(3);
    const all = Array.from({ length: 300 }, () => [random.next(), random.next() * 5, Math.floor(random.next() * 3)]);
    for (const p of all) tree.insert(p, random);
    // Deleting the extremes first shrinks boxes high in the tree.
    const byFirst = [...all].sort((a, b) => a[0]! - b[0]!);
    for (const p of [...byFirst.slice(0, 50), ...byFirst.slice(-50)]) tree.delete(p);
    const points = byFirst.slice(50, -50);
    const index = new Map(points.map((p, i) => [p.join(','), i]));
    const copy = new RandomCutTree(3);
    copy.restore(JSON.parse(JSON.stringify(tree.snapshot((p) => index.get(p.join(','))!))), (i) => points[i]);
    const probes = [...points.slice(0, 20), [0.5, 2.5, 1], [3, -1, 7]];
    expect(probes.map((p) => copy.score(p, null))).toEqual(probes.map((p) => tree.score(p, null)));
    expect(copy.mass).toBe(200);
    expect(tree.mass).toBe(200);
  });

  it('an empty tree scores 0, and deleting a point it does not hold is an internal error', () => {
    const tree = new RandomCutTree(1);
    expect(tree.score([1], null)).toBe(0);
    tree.insert([1], new Random(1));
    expect(() => tree.delete([2])).toThrow(/does not hold/);
  });
});

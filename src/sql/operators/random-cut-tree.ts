/**
 * One random cut tree (Guha, Mishra, Roy, Schrijvers, "Robust random cut forest based anomaly detection on
 * streams", ICML 2016): a binary tree over a set of points in which every internal node cuts its bounding box
 * at a value drawn uniformly over the sum of the box's side lengths, so a dimension is cut in proportion to
 * its range. Points are inserted and deleted in place; the tree after a deletion is distributed as if the
 * point had never been there, which is what lets a sample of the stream be kept in it.
 *
 * Scoring walks the path a query point would take and asks, node by node from the leaf up, how likely a cut
 * of the node's box grown to take in the query would have separated the query there: a point separated near
 * the root (far from everything) scores high, a point deep among its neighbours low.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { Random } from '../../core/random.ts';

interface Leaf {
  readonly leaf: true;
  readonly point: readonly number[];
  /** Copies of this point in the tree. */
  mass: number;
  parent: Cut | null;
}

interface Cut {
  readonly leaf: false;
  readonly dim: number;
  /** A point goes left when its value in `dim` is at most this. */
  readonly value: number;
  left: TreeNode;
  right: TreeNode;
  parent: Cut | null;
  readonly min: number[];
  readonly max: number[];
  mass: number;
}

type TreeNode = Leaf | Cut;

/**
 * A tree in a checkpoint: its nodes in preorder (a cut, then its left subtree, then its right one), two
 * numbers each, kept in two arrays so the whole numbers of the first are written compactly: a cut is its
 * dimension (0 or more) and its value; a leaf is -1 - i, where i is the position of its point in the tree's
 * sample (which the checkpoint holds anyway), and its mass.
 */
export interface TreeState {
  readonly heads: number[];
  readonly values: number[];
}

const lowOf = (n: TreeNode): readonly number[] => (n.leaf ? n.point : n.min);
const highOf = (n: TreeNode): readonly number[] => (n.leaf ? n.point : n.max);

function samePoint(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What a tree says of a query point: its score, and the score split by dimension and side (for explanations). */
export interface TreeScore {
  score: number;
  /** Per dimension, the part of the score from the query lying above the data there. */
  high: number[];
  /** Per dimension, the part from lying below. */
  low: number[];
}

export class RandomCutTree {
  private root: TreeNode | null = null;

  constructor(private readonly dims: number) {}

  get mass(): number {
    return this.root?.mass ?? 0;
  }

  insert(point: readonly number[], random: Random): void {
    if (this.root === null) {
      this.root = { leaf: true, point, mass: 1, parent: null };
      return;
    }
    let node: TreeNode = this.root;
    for (;;) {
      const lo = lowOf(node);
      const hi = highOf(node);
      let total = 0;
      for (let d = 0; d < this.dims; d++) total += Math.max(hi[d]!, point[d]!) - Math.min(lo[d]!, point[d]!);
      if (total === 0) {
        // The same point again: a leaf counts its copies. Its ancestors were counted on the way down.
        (node as Leaf).mass++;
        return;
      }
      let r = random.next() * total;
      let dim = -1;
      let lastRanged = 0;
      for (let d = 0; d < this.dims; d++) {
        const range = Math.max(hi[d]!, point[d]!) - Math.min(lo[d]!, point[d]!);
        if (range === 0) continue;
        lastRanged = d;
        if (r < range) {
          dim = d;
          break;
        }
        r -= range;
      }
      if (dim < 0) {
        // Rounding ran past the last range: cut the last dimension that has one at its low end.
        dim = lastRanged;
        r = 0;
      }
      const cutAt = Math.min(lo[dim]!, point[dim]!) + r;
      const goesLeft = point[dim]! < lo[dim]! && cutAt < lo[dim]!;
      const goesRight = point[dim]! > hi[dim]! && cutAt >= hi[dim]!;
      if (goesLeft || goesRight || node.leaf) {
        // The cut falls between the point and the node's box: the point becomes the node's new sibling.
        // (A leaf is always separated; the test above can only miss it by rounding, then cut at its edge.)
        const left = goesLeft || (!goesRight && point[dim]! < lo[dim]!);
        const value = goesLeft || goesRight ? cutAt : left ? point[dim]! : hi[dim]!;
        this.splitAbove(node, point, dim, value, left);
        return;
      }
      for (let d = 0; d < this.dims; d++) {
        if (point[d]! < node.min[d]!) node.min[d] = point[d]!;
        if (point[d]! > node.max[d]!) node.max[d] = point[d]!;
      }
      node.mass++;
      node = point[node.dim]! <= node.value ? node.left : node.right;
    }
  }

  private splitAbove(node: TreeNode, point: readonly number[], dim: number, value: number, pointLeft: boolean): void {
    const leaf: Leaf = { leaf: true, point, mass: 1, parent: null };
    const lo = lowOf(node);
    const hi = highOf(node);
    const cut: Cut = {
      leaf: false,
      dim,
      value,
      left: pointLeft ? leaf : node,
      right: pointLeft ? node : leaf,
      parent: node.parent,
      min: lo.map((v, d) => Math.min(v, point[d]!)),
      max: hi.map((v, d) => Math.max(v, point[d]!)),
      mass: node.mass + 1,
    };
    this.replace(node, cut);
    leaf.parent = cut;
    node.parent = cut;
  }

  private replace(old: TreeNode, by: TreeNode): void {
    const parent = old.parent;
    by.parent = parent;
    if (parent === null) this.root = by;
    else if (parent.left === old) parent.left = by;
    else parent.right = by;
  }

  delete(point: readonly number[]): void {
    let node = this.root;
    while (node !== null && !node.leaf) node = point[node.dim]! <= node.value ? node.left : node.right;
    if (node === null || !samePoint(node.point, point)) {
      throw new TollstreamError('INTERNAL', 'a random cut tree was asked to delete a point it does not hold');
    }
    for (let n: TreeNode | null = node; n !== null; n = n.parent) n.mass--;
    if (node.mass > 0) return;
    const parent = node.parent;
    if (parent === null) {
      this.root = null;
      return;
    }
    const sibling = parent.left === node ? parent.right : parent.left;
    this.replace(parent, sibling);
    for (let n = sibling.parent; n !== null; n = n.parent) {
      const a = n.left;
      const b = n.right;
      for (let d = 0; d < this.dims; d++) {
        n.min[d] = Math.min(lowOf(a)[d]!, lowOf(b)[d]!);
        n.max[d] = Math.max(highOf(a)[d]!, highOf(b)[d]!);
      }
    }
  }

  /** The score of a point (0 for an empty tree); `split` also fills the per-dimension parts. */
  score(point: readonly number[], split: TreeScore | null): number {
    if (this.root === null) return 0;
    let node: TreeNode = this.root;
    let depth = 0;
    while (!node.leaf) {
      depth++;
      node = point[node.dim]! <= node.value ? node.left : node.right;
    }
    let score: number;
    if (samePoint(node.point, point)) {
      // Seen before: as deep as its copies would make a subtree of their own.
      score = 1 / (depth + Math.log2(node.mass + 1));
      if (split) for (let d = 0; d < this.dims; d++) split.high[d] = split.low[d] = score / (2 * this.dims);
    } else {
      score = 1 / (depth + 1);
      if (split) {
        let total = 0;
        for (let d = 0; d < this.dims; d++) total += Math.abs(point[d]! - node.point[d]!);
        for (let d = 0; d < this.dims; d++) {
          const part = (score * Math.abs(point[d]! - node.point[d]!)) / total;
          split.high[d] = point[d]! > node.point[d]! ? part : 0;
          split.low[d] = point[d]! < node.point[d]! ? part : 0;
        }
      }
    }
    // From the leaf's parent up. Once the query lies inside a node's box it lies inside every box above it
    // (each holds the one below), where no cut can set it apart: the walk stops there.
    let i = depth - 1;
    for (let n = node.parent; n !== null; n = n.parent, i--) {
      let grown = 0;
      let outside = 0;
      for (let d = 0; d < this.dims; d++) {
        const below = Math.max(0, n.min[d]! - point[d]!);
        const above = Math.max(0, point[d]! - n.max[d]!);
        outside += below + above;
        grown += n.max[d]! - n.min[d]! + below + above;
      }
      if (outside === 0) break;
      // The chance that a cut of the grown box falls between the query and the node's points.
      const separated = outside / grown;
      const here = 1 / (i + 1);
      score = separated * here + (1 - separated) * score;
      if (split) {
        for (let d = 0; d < this.dims; d++) {
          split.high[d] = (here * Math.max(0, point[d]! - n.max[d]!)) / grown + (1 - separated) * split.high[d]!;
          split.low[d] = (here * Math.max(0, n.min[d]! - point[d]!)) / grown + (1 - separated) * split.low[d]!;
        }
      }
    }
    return score;
  }

  /** `indexOf` gives the position in the sample of a point with these values. */
  snapshot(indexOf: (point: readonly number[]) => number): TreeState {
    const out: TreeState = { heads: [], values: [] };
    const walk = (n: TreeNode): void => {
      out.heads.push(n.leaf ? -1 - indexOf(n.point) : n.dim);
      out.values.push(n.leaf ? n.mass : n.value);
      if (n.leaf) return;
      walk(n.left);
      walk(n.right);
    };
    if (this.root !== null) walk(this.root);
    return out;
  }

  /** `pointAt` gives the sample's point at a position. */
  restore(state: TreeState, pointAt: (index: number) => readonly number[] | undefined): void {
    let at = 0;
    const build = (parent: Cut | null): TreeNode => {
      const head = state.heads[at];
      const second = state.values[at++];
      if (head === undefined || second === undefined) throw this.badState('it ends inside a node');
      if (head < 0) {
        const point = pointAt(-1 - head);
        if (point === undefined || point.length !== this.dims) throw this.badState('a leaf names no point of the sample');
        return { leaf: true, point, mass: second, parent };
      }
      const cut: Cut = { leaf: false, dim: head, value: second, left: null!, right: null!, parent, min: [], max: [], mass: 0 };
      cut.left = build(cut);
      cut.right = build(cut);
      cut.mass = cut.left.mass + cut.right.mass;
      for (let d = 0; d < this.dims; d++) {
        cut.min.push(Math.min(lowOf(cut.left)[d]!, lowOf(cut.right)[d]!));
        cut.max.push(Math.max(highOf(cut.left)[d]!, highOf(cut.right)[d]!));
      }
      return cut;
    };
    this.root = state.heads.length === 0 ? null : build(null);
    if (at !== state.heads.length || at !== state.values.length) throw this.badState('numbers are left after its last node');
  }

  private badState(problem: string): TollstreamError {
    return new TollstreamError('INTERNAL', `a random cut tree in the checkpoint is not in the layout it writes: ${problem}`, { context: { dims: this.dims } });
  }
}

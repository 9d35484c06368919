/**
 * A robust random cut forest over a stream (Guha et al., ICML 2016): each tree holds its own sample of the
 * stream's points, kept by time-decayed weighted reservoir sampling, so a tree is a synopsis of the recent
 * stream; a point's score is its trees' scores averaged. Points are scored before they join the samples.
 *
 * The sample: a point arriving as the stream's n-th gets the key ln(-ln u) - n / timeDecay (u uniform in
 * (0, 1)), and a tree keeps the subSampleSize points of smallest key. That is weighted sampling without
 * replacement (Efraimidis and Spirakis) with weight e^(n / timeDecay): a point weighs half as much as one
 * that came timeDecay * ln 2 points after it, so old points leave the samples for new ones.
 *
 * Everything random comes from one seeded generator whose state is part of the checkpoint, so a forest
 * restored from a checkpoint scores the points that follow as the uninterrupted forest does.
 */
import { TollstreamError } from '../../core/errors.ts';
import { Random } from '../../core/random.ts';
import type { TreeScore, TreeState } from './random-cut-tree.ts';
import { RandomCutTree } from './random-cut-tree.ts';

export interface ForestOptions {
  readonly numberOfTrees: number;
  readonly subSampleSize: number;
  readonly timeDecay: number;
  /** Numbers in a point. */
  readonly dimensions: number;
  readonly seed: number;
}

/** A tree's sample: keys and points, index for index. */
interface Sample {
  readonly tree: RandomCutTree;
  keys: number[];
  points: (readonly number[])[];
  /** Where the largest key is (the point the next accepted one replaces). */
  largest: number;
}

export interface ForestState {
  readonly seen: number;
  readonly random: number[];
  /** Per tree its sample (keys, and points one after another) and its structure, whose leaves name the sample's points. */
  readonly trees: { keys: number[]; points: number[]; tree: TreeState }[];
}

/** A point's score with its parts by dimension: above (`high`) and below (`low`) the forest's data. */
export interface Explained {
  readonly score: number;
  readonly high: readonly number[];
  readonly low: readonly number[];
}

export class RandomCutForest {
  private readonly random: Random;
  private readonly samples: Sample[] = [];
  /** Points the forest has been given. */
  private seen = 0;

  constructor(private readonly options: ForestOptions) {
    this.random = new Random(options.seed);
    for (let i = 0; i < options.numberOfTrees; i++) this.samples.push({ tree: new RandomCutTree(options.dimensions), keys: [], points: [], largest: 0 });
  }

  /** Points given so far. */
  get count(): number {
    return this.seen;
  }

  score(point: readonly number[]): number {
    let sum = 0;
    for (const s of this.samples) sum += s.tree.score(point, null) * normalizer(s.tree.mass);
    return sum / this.samples.length;
  }

  /** The score and its parts by dimension; the parts add up to the score. */
  explain(point: readonly number[]): Explained {
    const dims = this.options.dimensions;
    const high = new Array<number>(dims).fill(0);
    const low = new Array<number>(dims).fill(0);
    const split: TreeScore = { score: 0, high: new Array<number>(dims).fill(0), low: new Array<number>(dims).fill(0) };
    let sum = 0;
    for (const s of this.samples) {
      const k = normalizer(s.tree.mass);
      sum += s.tree.score(point, split) * k;
      for (let d = 0; d < dims; d++) {
        high[d]! += split.high[d]! * k;
        low[d]! += split.low[d]! * k;
      }
    }
    const n = this.samples.length;
    return { score: sum / n, high: high.map((v) => v / n), low: low.map((v) => v / n) };
  }

  /** Offers the point to every tree's sample. */
  update(point: readonly number[]): void {
    const age = this.seen++ / this.options.timeDecay;
    const capacity = this.options.subSampleSize;
    for (const s of this.samples) {
      let u = this.random.next();
      if (u === 0) u = Number.MIN_VALUE;
      const key = Math.log(-Math.log(u)) - age;
      if (s.keys.length < capacity) {
        s.keys.push(key);
        s.points.push(point);
        s.tree.insert(point, this.random);
        if (key > s.keys[s.largest]!) s.largest = s.keys.length - 1;
        continue;
      }
      if (key >= s.keys[s.largest]!) continue;
      s.tree.delete(s.points[s.largest]!);
      s.keys[s.largest] = key;
      s.points[s.largest] = point;
      s.tree.insert(point, this.random);
      let largest = 0;
      for (let i = 1; i < s.keys.length; i++) if (s.keys[i]! > s.keys[largest]!) largest = i;
      s.largest = largest;
    }
  }

  snapshot(): ForestState {
    return {
      seen: this.seen,
      random: this.random.state(),
      trees: this.samples.map((s) => {
        // A leaf's point has the values of some point of the sample (of several, when it holds copies).
        const index = new Map<string, number>();
        s.points.forEach((p, i) => index.set(p.join(','), i));
        return { keys: [...s.keys], points: s.points.flat(), tree: s.tree.snapshot((p) => index.get(p.join(','))!) };
      }),
    };
  }

  restore(state: ForestState): void {
    if (state.trees.length !== this.samples.length) {
      throw new TollstreamError('INTERNAL', 'the checkpoint of a random cut forest has another number of trees', { context: { trees: this.samples.length, found: state.trees.length } });
    }
    this.seen = state.seen;
    this.random.setState(state.random);
    state.trees.forEach((t, i) => {
      const s = this.samples[i]!;
      const dims = this.options.dimensions;
      s.keys = [...t.keys];
      s.points = s.keys.map((_, j) => t.points.slice(j * dims, (j + 1) * dims));
      s.tree.restore(t.tree, (j) => s.points[j]);
      s.largest = 0;
      for (let j = 1; j < s.keys.length; j++) if (s.keys[j]! > s.keys[s.largest]!) s.largest = j;
    });
  }
}

/**
 * Scales a tree's score so that a point as deep as a typical point of a balanced tree of that many points
 * scores about 1: a tree's raw score is about one over the depth at which the point is set apart.
 */
function normalizer(mass: number): number {
  return Math.log2(mass + 1);
}

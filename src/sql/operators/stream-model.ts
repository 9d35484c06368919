/**
 * The operator of `TABLE(RANDOM_CUT_FOREST(CURSOR(...)))`, `RANDOM_CUT_FOREST_WITH_EXPLANATION` and
 * `TABLE(HOTSPOTS(CURSOR(...)))`: every row leaves as it came, in arrival order, with the model's columns
 * after its own. The model learns from the rows in that order, as the managed service's does; its state (and
 * the forest's random generator) is the checkpoint, so a restored query goes on with the same numbers.
 *
 * A row with a NULL among the numeric columns is no point: it leaves with NULL in the model's columns and
 * the model does not learn from it.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { RandomCutForestModel, StreamModel } from '../ast/index.ts';
import type { Row, Value } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { HotspotDetector } from './hotspots.ts';
import type { ForestState } from './random-cut-forest.ts';
import { RandomCutForest } from './random-cut-forest.ts';

/** The forest's generator starts from this seed, so two runs over the same rows give the same scores. */
export const FOREST_SEED = 20160620;

interface Model {
  /** The model's columns for a point, after it has seen the points before it. */
  next(point: readonly number[]): Value[];
  readonly width: number;
  snapshot(): unknown;
  restore(state: unknown): void;
}

export class StreamModelOperator implements Operator {
  private readonly model: Model;

  constructor(
    readonly description: string,
    model: StreamModel,
    /** Positions of the numeric columns in the input row. */
    private readonly numeric: readonly number[],
    /** Their names, for the explanation. */
    names: readonly string[],
  ) {
    this.model = model.fn === 'HOTSPOTS' ? hotspotsModel(model.windowSize, model.scanRadius, model.minimumNumberOfPointsInAHotspot) : forestModel(model, names);
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const point: number[] = [];
      for (const i of this.numeric) {
        const v = row[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) break;
        point.push(v);
      }
      const added = point.length === this.numeric.length ? this.model.next(point) : new Array<Value>(this.model.width).fill(null);
      out.emit([...row, ...added]);
    }
  }

  handleWatermark(): void {}

  handleCheckpoint(): unknown {
    return this.model.snapshot();
  }

  restoreState(state: unknown): void {
    if (state === null || typeof state !== 'object') {
      throw new TollstreamError('INTERNAL', 'the checkpoint of a RANDOM_CUT_FOREST or HOTSPOTS operator is not in the layout it writes', { context: { operator: this.description } });
    }
    this.model.restore(state);
  }

  handleEnd(): void {}
}

function forestModel(model: RandomCutForestModel, names: readonly string[]): Model {
  const dims = names.length;
  const forest = new RandomCutForest({
    numberOfTrees: model.numberOfTrees,
    subSampleSize: model.subSampleSize,
    timeDecay: model.timeDecay,
    dimensions: dims * model.shingleSize,
    seed: FOREST_SEED,
  });
  const explain = model.fn === 'RANDOM_CUT_FOREST_WITH_EXPLANATION';
  /** The last shingleSize points, oldest first. */
  let shingle: (readonly number[])[] = [];
  return {
    width: explain ? 2 : 1,
    next(point) {
      shingle.push(point);
      if (shingle.length > model.shingleSize) shingle.shift();
      if (shingle.length < model.shingleSize) return explain ? [0, '{}'] : [0];
      const shingled = shingle.flat();
      // Scores are 0 until every tree's sample is full.
      const ready = forest.count >= model.subSampleSize;
      let added: Value[];
      if (!explain) added = [ready ? forest.score(shingled) : 0];
      else if (!ready) added = [0, '{}'];
      else {
        const e = forest.explain(shingled);
        added = [e.score, explanation(names, e.high, e.low, model.withDirectionality)];
      }
      forest.update(shingled);
      return added;
    },
    snapshot: () => ({ shingle: shingle.map((p) => [...p]), forest: forest.snapshot() }),
    restore(state) {
      const s = state as { shingle: number[][]; forest: ForestState };
      shingle = s.shingle.map((p) => [...p]);
      forest.restore(s.forest);
    },
  };
}

/**
 * ANOMALY_EXPLANATION: per numeric column, the part of the score it accounts for (over every position of
 * the shingle); with directionality also whether the row is anomalous by being high or low there, and how
 * strongly (the difference between the two parts). Laid out as the Developer Guide shows the service's:
 * `{"col":{"DIRECTION":"HIGH","STRENGTH":"0.8567","ATTRIBUTION_SCORE":"1.7447"}}`, numbers as text with four
 * decimals, so a consumer written for the service reads it.
 */
function explanation(names: readonly string[], high: readonly number[], low: readonly number[], withDirectionality: boolean): string {
  const out: Record<string, { DIRECTION?: 'HIGH' | 'LOW'; STRENGTH?: string; ATTRIBUTION_SCORE: string }> = {};
  names.forEach((name, c) => {
    let h = 0;
    let l = 0;
    for (let d = c; d < high.length; d += names.length) {
      h += high[d]!;
      l += low[d]!;
    }
    const attribution = (h + l).toFixed(4);
    out[name] = withDirectionality ? { DIRECTION: h >= l ? 'HIGH' : 'LOW', STRENGTH: Math.abs(h - l).toFixed(4), ATTRIBUTION_SCORE: attribution } : { ATTRIBUTION_SCORE: attribution };
  });
  return JSON.stringify(out);
}

function hotspotsModel(windowSize: number, scanRadius: number, minimumPoints: number): Model {
  const detector = new HotspotDetector({ windowSize, scanRadius, minimumPoints });
  return {
    width: 1,
    next(point) {
      detector.add(point);
      return [JSON.stringify({ hotspots: detector.hotspots() })];
    },
    snapshot: () => detector.snapshot(),
    restore: (state) => detector.restore(state as number[][]),
  };
}

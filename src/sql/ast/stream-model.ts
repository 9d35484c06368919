/**
 * Kinesis Analytics' machine-learning table functions over a stream, `TABLE(RANDOM_CUT_FOREST(CURSOR(...), ...))`
 * and `TABLE(HOTSPOTS(CURSOR(...), ...))`: every row of the cursor comes out with a column the model adds.
 * The parameters are checked and defaulted by the parser (their bounds are the reference's).
 */
import type { SourcePos } from '../diagnostics.ts';
import type { SubqueryFrom } from './query.ts';

export interface RandomCutForestModel {
  readonly fn: 'RANDOM_CUT_FOREST' | 'RANDOM_CUT_FOREST_WITH_EXPLANATION';
  readonly numberOfTrees: number;
  readonly subSampleSize: number;
  readonly timeDecay: number;
  readonly shingleSize: number;
  /** RANDOM_CUT_FOREST_WITH_EXPLANATION's withDirectionality. */
  readonly withDirectionality: boolean;
}

export interface HotspotsModel {
  readonly fn: 'HOTSPOTS';
  readonly windowSize: number;
  readonly scanRadius: number;
  readonly minimumNumberOfPointsInAHotspot: number;
}

export type StreamModel = RandomCutForestModel | HotspotsModel;

export interface StreamModelFrom {
  readonly kind: 'streamModel';
  readonly model: StreamModel;
  /** The CURSOR's query. */
  readonly source: SubqueryFrom;
  readonly alias: string | null;
  readonly pos: SourcePos;
}

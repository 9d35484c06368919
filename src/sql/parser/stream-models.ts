/**
 * The arguments of `TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM ...), numberOfTrees, subSampleSize, timeDecay,
 * shingleSize))`, `RANDOM_CUT_FOREST_WITH_EXPLANATION(..., shingleSize, withDirectionality)` and
 * `HOTSPOTS(CURSOR(...), windowSize, scanRadius, minimumNumberOfPointsInAHotspot)`, checked against the
 * reference's bounds. The forest's parameters may be left off from the end; each takes its default then.
 */
import type { SelectQuery, StreamModel, StreamModelFrom } from '../ast/index.ts';
import type { SourcePos } from '../diagnostics.ts';
import type { Cursor } from './cursor.ts';

export type StreamModelFunction = StreamModel['fn'];

export const STREAM_MODEL_FUNCTIONS: ReadonlySet<string> = new Set<StreamModelFunction>(['RANDOM_CUT_FOREST', 'RANDOM_CUT_FOREST_WITH_EXPLANATION', 'HOTSPOTS']);

interface NumberParameter {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Whole numbers only. */
  readonly whole: boolean;
  /** null: the argument must be given. */
  readonly default: number | null;
}

const FOREST_PARAMETERS: readonly NumberParameter[] = [
  { name: 'numberOfTrees', min: 1, max: 1000, whole: true, default: 100 },
  { name: 'subSampleSize', min: 10, max: 1000, whole: true, default: 256 },
  { name: 'timeDecay', min: 1, max: 2147483647, whole: true, default: 100000 },
  { name: 'shingleSize', min: 1, max: 30, whole: true, default: 1 },
];

const HOTSPOTS_PARAMETERS: readonly NumberParameter[] = [
  { name: 'windowSize', min: 100, max: 1000, whole: true, default: null },
  { name: 'scanRadius', min: Number.MIN_VALUE, max: Number.MAX_VALUE, whole: false, default: null },
  { name: 'minimumNumberOfPointsInAHotspot', min: 2, max: 1000, whole: true, default: null },
];

function bounds(p: NumberParameter): string {
  if (!p.whole) return 'a number greater than 0';
  return `a whole number from ${p.min} to ${p.max.toLocaleString('en-US')}`;
}

/** From the opening parenthesis after the function's name to its closing one. */
export function parseStreamModel(c: Cursor, fn: StreamModelFunction, pos: SourcePos, parseSelect: (c: Cursor) => SelectQuery): Omit<StreamModelFrom, 'alias'> {
  const forest = fn !== 'HOTSPOTS';
  const usage = forest
    ? `TABLE(${fn}(CURSOR(SELECT STREAM * FROM s), 100, 256, 100000, 1${fn === 'RANDOM_CUT_FOREST' ? '' : ', false'}))`
    : 'TABLE(HOTSPOTS(CURSOR(SELECT STREAM x, y FROM s), 1000, 0.2, 17))';
  c.expectOp('(');
  c.expectWord('CURSOR', `The first argument is the input: ${usage}.`);
  const cursorPos = c.peek().pos;
  c.expectOp('(');
  const query = parseSelect(c);
  c.expectOp(')');
  const parameters = forest ? FOREST_PARAMETERS : HOTSPOTS_PARAMETERS;
  const values: number[] = [];
  let withDirectionality = false;
  for (const p of parameters) {
    if (!c.acceptOp(',')) {
      if (p.default === null) throw c.error(`${fn} needs ${p.name}, ${bounds(p)}`, `Write ${usage}.`);
      break;
    }
    const at = c.peek().pos;
    const negative = c.acceptOp('-');
    const t = c.next();
    const n = Number(t.text) * (negative ? -1 : 1);
    if (t.type !== 'number' || !Number.isFinite(n) || n < p.min || n > p.max || (p.whole && !Number.isInteger(n))) {
      throw c.errorAt(at, `${p.name} of ${fn} is ${bounds(p)}`, `Write ${usage}.`);
    }
    values.push(n);
  }
  while (values.length < parameters.length) values.push(parameters[values.length]!.default!);
  if (fn === 'RANDOM_CUT_FOREST_WITH_EXPLANATION' && c.acceptOp(',')) {
    const t = c.next();
    if (t.type !== 'word' || (t.upper !== 'TRUE' && t.upper !== 'FALSE')) throw c.errorAt(t.pos, `withDirectionality of ${fn} is TRUE or FALSE`, `Write ${usage}.`);
    withDirectionality = t.upper === 'TRUE';
  }
  if (c.isOp(',')) throw c.error(`${fn} takes ${parameters.length + (fn === 'RANDOM_CUT_FOREST_WITH_EXPLANATION' ? 1 : 0)} argument(s) after the CURSOR`, `Write ${usage}.`);
  c.expectOp(')');
  c.expectOp(')');
  const source = { kind: 'subquery' as const, query, alias: null, pos: cursorPos };
  if (!forest) {
    const [windowSize, scanRadius, minimumNumberOfPointsInAHotspot] = values as [number, number, number];
    if (minimumNumberOfPointsInAHotspot > windowSize) {
      throw c.errorAt(pos, `minimumNumberOfPointsInAHotspot of HOTSPOTS (${minimumNumberOfPointsInAHotspot}) is more than windowSize (${windowSize}): no hotspot could ever be found`, `Write ${usage}.`);
    }
    return { kind: 'streamModel', model: { fn, windowSize, scanRadius, minimumNumberOfPointsInAHotspot }, source, pos };
  }
  const [numberOfTrees, subSampleSize, timeDecay, shingleSize] = values as [number, number, number, number];
  return { kind: 'streamModel', model: { fn, numberOfTrees, subSampleSize, timeDecay, shingleSize, withDirectionality }, source, pos };
}

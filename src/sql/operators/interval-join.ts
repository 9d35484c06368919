/**
 * Interval join of two streams: `a JOIN b ON a.k = b.k AND b.ts BETWEEN a.ts - X AND a.ts + Y` (a window
 * join, `ON a.window_end = b.window_end ...`, is one of width zero).
 * An outer join (LEFT, RIGHT, FULL) emits a row of a preserved side that matched nothing, padded with NULLs,
 * when it leaves the buffer: then no row that could match it can come any more.
 * Both sides are buffered by key in time order. A row leaves the buffer once the watermark shows that no
 * future row of the other side can match it, counting how far behind the watermark that side may still
 * emit (its `lag`: a windowed aggregate emits a window only after the watermark passed it). A row that
 * arrives later than its own side's lag allows could have lost matches already: it goes to the error
 * stream as LATE_ROW, never silently.
 *
 * Its checkpoints are incremental (see runtime/keyed-state.ts): per side, the chunks of rows that changed and
 * those dropped (or, once a side keeps its rows by key, the keys), with the watermark, the eviction limits and
 * the late rows whole. A join keeping minutes of rows writes its newest chunk (up to 4,096 rows) and the chunks a
 * match was noted in, or the keys rows came to, rather than every row.
 */
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError, formatTimestamp } from '../expr/types.ts';
import { TollstreamError } from '../../core/errors.ts';
import type { KeyedSection, KeyedState, SectionName } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf, restoredTime } from '../runtime/operator.ts';
import type { BufferMeta } from './keyed-time-buffer.ts';
import { KeyedTimeBuffer } from './keyed-time-buffer.ts';

export interface IntervalJoinSide {
  readonly keyFns: readonly CompiledFn[];
  readonly timeFn: CompiledFn;
  /** Rows of this side can still arrive with a time down to watermark - lag (ms). */
  readonly lag: number;
}

const SIDE_NAMES = ['left', 'right'] as const;

/** Section names of the keyed state: each side's chunks of rows, and its keys once its rows are by key. */
const chunkSection = (input: number) => `chunks:${input}`;
const keySection = (input: number) => `keys:${input}`;

/** The part of the state written whole at every checkpoint. */
interface JoinMeta {
  readonly watermark: number;
  readonly sides: readonly BufferMeta[];
}

/** What an outer join needs to pad a row that matched nothing; a semi- or anti-join keeps the left rows only. */
export interface OuterJoin {
  readonly mode: 'outer' | 'semi' | 'anti';
  /** Which sides keep their unmatched rows: [left, right]. */
  readonly preserve: readonly [boolean, boolean];
  /** The number of fields of each side. */
  readonly widths: readonly [number, number];
  /** Each side's hidden ROWTIME field (-1: none); a padded side's ROWTIME is the present side's. */
  readonly rowtimeAt: readonly [number, number];
}

export class IntervalJoinOperator implements Operator {
  private readonly buffers = [new KeyedTimeBuffer(), new KeyedTimeBuffer()];
  private watermark = Number.NEGATIVE_INFINITY;
  /** A semi- or anti-join: rows leave as left rows, never joined. */
  private readonly leftOnly: boolean;
  /** Per input, the join key values of the row being processed. */
  private readonly keyValues: Value[][];
  /** A candidate pair's joined values, for the condition (reused). */
  private readonly probe: Row = [];

  /**
   * Matching rows satisfy right.ts in [left.ts - lower, left.ts + upper]. Future right rows have
   * right.ts >= watermark - right lag, so a left row can still match while left.ts + upper >= that; future
   * left rows have left.ts >= watermark - left lag, so a right row can match while right.ts + lower >= that.
   */
  constructor(
    readonly description: string,
    private readonly sides: readonly [IntervalJoinSide, IntervalJoinSide],
    private readonly lower: number,
    private readonly upper: number,
    private readonly condition: (row: Row) => boolean,
    private readonly outer: OuterJoin | null = null,
  ) {
    this.leftOnly = outer?.mode === 'semi' || outer?.mode === 'anti';
    this.keyValues = sides.map((side) => new Array<Value>(side.keyFns.length).fill(null));
  }

  processBatch(rows: readonly Row[], input: number, out: Output): void {
    const side = this.sides[input]!;
    const other = this.buffers[1 - input]!;
    const mine = this.buffers[input]!;
    const lateBefore = this.watermark - side.lag;
    const track = this.outer?.preserve ?? [false, false];
    const keyFns = side.keyFns;
    // Reused for every row: `keyOf` reads the values and keeps none of them.
    const keys = this.keyValues[input]!;
    for (const row of rows) {
      try {
        let nullKey = false;
        for (let i = 0; i < keyFns.length; i++) {
          const v = keyFns[i]!(row);
          if (v === null) nullKey = true;
          keys[i] = v;
        }
        const t = side.timeFn(row);
        // A row without a key or time satisfies no equality or BETWEEN: it has no match to wait for.
        if (nullKey || typeof t !== 'number') continue;
        if (t < lateBefore) {
          out.error(
            'LATE_ROW',
            `the ${SIDE_NAMES[input]} input's time ${formatTimestamp(t)} is behind the join's watermark ${formatTimestamp(this.watermark)}${side.lag ? ` minus ${side.lag} ms` : ''}: rows it would match may already be gone. Raise the WATERMARK delay (or allowed lateness) if such rows are expected.`,
            row,
          );
          continue;
        }
        const k = keyOf(keys);
        const found = other.find(k);
        // Whether this row found a match (noted for a preserved side, and for a semi-join's left rows).
        let rowMatched = false;
        if (found > 0) {
          // The condition reads a reused row of both sides' values (it keeps none of it), written from the
          // buffer's columns: only a pair that passes gets a row of its own.
          const probe = this.probe;
          const width = row.length;
          if (input === 0) for (let x = 0; x < width; x++) probe[x] = row[x]!;
          for (let i = 0; i < found; i++) {
            const otherWidth = other.foundWidth(i);
            if (input === 0) other.writeFound(i, probe, width);
            else {
              other.writeFound(i, probe, 0);
              for (let x = 0; x < width; x++) probe[otherWidth + x] = row[x]!;
            }
            const w = width + otherWidth;
            if (probe.length !== w) probe.length = w;
            if (!this.condition(probe)) continue;
            if (this.leftOnly) {
              // A semi-join sends a left row at its first match; an anti-join only notes the match.
              const first = input === 0 ? !rowMatched : !other.isMatched(i);
              if (first) {
                if (input === 0) rowMatched = true;
                else other.markMatched(i);
                if (this.outer!.mode === 'semi') out.emit(input === 0 ? row : other.foundRow(i));
              }
              continue;
            }
            out.emit(probe.slice(0, w));
            if (track[input]) rowMatched = true;
            if (track[1 - input]) other.markMatched(i);
          }
        }
        mine.add(k, t, row, rowMatched);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  handleWatermark(time: number, out: Output): void {
    this.watermark = time;
    this.buffers[0]!.evictBefore(time - this.sides[1].lag - this.upper, this.unmatchedOut(0, out));
    this.buffers[1]!.evictBefore(time - this.sides[0].lag - this.lower, this.unmatchedOut(1, out));
  }

  /** For a preserved side: emits a leaving row that matched nothing, padded with NULLs. */
  private unmatchedOut(input: 0 | 1, out: Output): ((row: Row, matched: boolean) => void) | undefined {
    const o = this.outer;
    if (!o || !o.preserve[input]) return undefined;
    const nulls: Row = new Array<null>(o.widths[1 - input]!).fill(null);
    if (this.leftOnly) {
      // Only an anti-join sends the left rows that matched nothing.
      return (row, matched) => {
        if (!matched && o.mode === 'anti') out.emit(row);
      };
    }
    return (row, matched) => {
      if (matched) return;
      const padded = input === 0 ? row.concat(nulls) : nulls.concat(row);
      const [l, r] = o.rowtimeAt;
      if (l >= 0 && r >= 0) {
        if (input === 0) padded[o.widths[0] + r] = row[l]!;
        else padded[l] = row[r]!;
      }
      out.emit(padded);
    };
  }

  handleCheckpoint(): KeyedState {
    const sections: KeyedSection[] = [];
    const dropped: SectionName[] = [];
    const sides = this.buffers.map((b, input) => {
      const changes = b.takeChanges();
      if (changes.chunksDropped) dropped.push(chunkSection(input));
      if (changes.chunks.set.length > 0 || changes.chunks.removed.length > 0) sections.push({ name: chunkSection(input), ...changes.chunks });
      if (changes.keys.set.length > 0 || changes.keys.removed.length > 0) sections.push({ name: keySection(input), ...changes.keys });
      return changes.meta;
    });
    const meta: JoinMeta = { watermark: this.watermark, sides };
    return { keyed: 1, meta, dropped, sections };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return this.restoreWholeState(state);
    const meta = state.meta as JoinMeta;
    const sections = new Map(state.sections.map((s) => [s.name, s.set]));
    const corrupt = (what: string, section: unknown) =>
      new TollstreamError('STATE_CORRUPT', `a checkpoint of ${this.description} holds ${what}: it was written by another query or damaged`, {
        context: { operator: this.description, section },
      });
    if (!Array.isArray(meta?.sides) || meta.sides.length !== this.buffers.length) throw corrupt('no eviction limits for its two inputs', 'meta');
    this.watermark = restoredTime(meta.watermark);
    this.buffers.forEach((b, input) => {
      const chunks = sections.get(chunkSection(input)) ?? [];
      const keys = sections.get(keySection(input)) ?? [];
      sections.delete(chunkSection(input));
      sections.delete(keySection(input));
      if (!b.restore(meta.sides[input]!, chunks, keys, this.sides[input]!.timeFn)) throw corrupt(`rows of the ${SIDE_NAMES[input]} input in no layout a join keeps`, chunkSection(input));
    });
    const [stray] = sections.keys();
    if (stray !== undefined) throw corrupt(`a part '${String(stray)}' an interval join does not have`, stray);
  }

  /** A checkpoint written before incremental checkpoints, both sides whole: all of it counts as changed. */
  private restoreWholeState(state: unknown): void {
    // Older snapshots hold the two sides' rows only.
    const s = Array.isArray(state) ? { watermark: null, sides: state as Row[][] } : (state as { watermark: unknown; sides: Row[][]; matched?: boolean[][] });
    this.watermark = restoredTime(s.watermark);
    s.sides.forEach((rows, input) => {
      const side = this.sides[input]!;
      rows.forEach((row, j) => {
        const t = side.timeFn(row);
        if (typeof t === 'number') this.buffers[input]!.add(keyOf(side.keyFns.map((f) => f(row))), t, row, s.matched?.[input]?.[j] === true);
      });
    });
  }

  handleEnd(): void {}
}

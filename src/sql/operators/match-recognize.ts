/**
 * MATCH_RECOGNIZE with ONE ROW PER MATCH: rows wait for the watermark (as far behind it as their time can
 * still come), then join their partition's rows in time order, and the search for a match runs from the
 * partition's first unmatched row (see row-pattern.ts). A match leaves as one row: the partition columns,
 * the measures, and its last row's time as ROWTIME. A partition keeps its rows from the row the next match
 * may start at (plus the rows PREV may look back at), so the state of a partial match is the rows
 * themselves: a checkpoint holds them and a restore resumes the search.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { MatchView, PatternExpr } from '../expr/pattern-navigation.ts';
import { evaluatePattern } from '../expr/pattern-navigation.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { EntryKey, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { HeldRows } from './held-rows.ts';
import type { OrderKey } from './time-ordered-top-n.ts';
import { compareValues } from './time-ordered-top-n.ts';
import type { RowPattern, SearchState } from './row-pattern.ts';
import { matchAt } from './row-pattern.ts';

export type AfterMatch = { readonly to: 'PAST LAST ROW' } | { readonly to: 'NEXT ROW' } | { readonly to: 'FIRST' | 'LAST'; readonly variable: number; readonly name: string };

export interface MatchRecognizeSpec {
  readonly timeFn: CompiledFn;
  /** The ORDER BY items after the time: rows of one time in their order (else in the order they came). */
  readonly thenBy: readonly OrderKey[];
  readonly holdBack: number;
  readonly partitionFns: readonly CompiledFn[];
  readonly variables: readonly string[];
  /** DEFINE by variable index (null: any row). */
  readonly define: readonly (PatternExpr | null)[];
  readonly steps: RowPattern['steps'];
  readonly within: number | null;
  readonly measures: readonly PatternExpr[];
  readonly afterMatch: AfterMatch;
  /** Rows before a match's first row that PREV can reach. */
  readonly prevReach: number;
}

/** A partition in a checkpoint: its rows, their times, where the next match may start. */
type PartitionState = [Row[], number[], number];

interface Partition {
  rows: Row[];
  times: number[];
  /** Where the next match may start; the rows before it are kept for PREV only. */
  start: number;
  /** The search from `start` that waits for rows (not checkpointed: a restore starts it again). */
  search: SearchState | null;
}

export class MatchRecognizeOperator implements Operator {
  private readonly held: HeldRows;
  private readonly partitions = new Map<EntryKey, Partition>();
  /** Partitions whose rows or start changed since the previous checkpoint (gone ones included). */
  private readonly changed = new Set<EntryKey>();
  private readonly pattern: RowPattern;
  /** Rows whose DEFINE condition failed with an error, reported once although the search may try them again. */
  private readonly reported = new WeakSet<Row>();
  private out: Output | null = null;

  constructor(
    readonly description: string,
    private readonly spec: MatchRecognizeSpec,
  ) {
    this.held = new HeldRows(spec.timeFn, spec.holdBack, {
      noTime: 'the row has no value in the MATCH_RECOGNIZE ORDER BY time column',
      late: (t, wm) => `the ORDER BY time ${t} is behind the watermark ${wm}: the rows after it were already matched. Raise the WATERMARK delay (or the allowed lateness) if such rows are expected.`,
    });
    const conditions = spec.define.map((d) => (d === null ? null : (view: MatchView) => this.holds(d, view)));
    this.pattern = { steps: spec.steps, conditions, within: spec.within };
  }

  private holds(d: PatternExpr, view: MatchView): boolean {
    try {
      return evaluatePattern(d, view) === true;
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      const row = view.rows[view.current]!;
      if (!this.reported.has(row)) {
        this.reported.add(row);
        this.out?.error(err.errorName, `DEFINE ${this.spec.variables[view.currentVar]}: ${err.message}`, row);
      }
      return false;
    }
  }

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    this.held.holdAll(rows, out);
  }

  handleWatermark(time: number, out: Output): void {
    const released = this.ordered(this.held.release(time), out);
    if (released.length === 0 && this.spec.within === null && time !== Number.POSITIVE_INFINITY) return;
    const touched = new Set<Partition>();
    for (const h of released) {
      let key: EntryKey;
      try {
        key = keyOf(this.spec.partitionFns.map((f) => f(h.row)));
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, h.row);
        continue;
      }
      let p = this.partitions.get(key);
      if (!p) {
        p = { rows: [], times: [], start: 0, search: null };
        this.partitions.set(key, p);
      }
      p.rows.push(h.row);
      p.times.push(h.time);
      touched.add(p);
      this.changed.add(key);
    }
    // Without new rows a partition's search ends differently only when no row can come in time any more.
    const all = this.spec.within !== null || time === Number.POSITIVE_INFINITY;
    this.out = out;
    for (const [key, p] of this.partitions) {
      if (!all && !touched.has(p)) continue;
      const [length, start] = [p.rows.length, p.start];
      this.search(p, out);
      if (p.rows.length !== length || p.start !== start) this.changed.add(key);
      if (p.rows.length === 0) this.partitions.delete(key);
    }
  }

  /** Rows of one time in the order of the ORDER BY items after the time (stable: then as they came). */
  private ordered(rows: readonly { time: number; row: Row }[], out: Output): readonly { time: number; row: Row }[] {
    const thenBy = this.spec.thenBy;
    if (thenBy.length === 0) return rows;
    const keyed: { time: number; row: Row; keys: Value[] }[] = [];
    for (const r of rows) {
      try {
        keyed.push({ ...r, keys: thenBy.map((o) => o.fn(r.row)) });
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, r.row);
      }
    }
    return keyed.sort((a, b) => {
      if (a.time !== b.time) return a.time - b.time;
      for (let i = 0; i < thenBy.length; i++) {
        const c = compareValues(a.keys[i]!, b.keys[i]!);
        if (c !== 0) return thenBy[i]!.descending ? -c : c;
      }
      return 0;
    });
  }

  /** A waiting search's match ends at or after its first row: later matches are not older than that. */
  heldWatermark(): number {
    let held = Number.POSITIVE_INFINITY;
    for (const p of this.partitions.values()) if (p.start < p.rows.length && p.times[p.start]! < held) held = p.times[p.start]!;
    return held;
  }

  private search(p: Partition, out: Output): void {
    const releasedBefore = this.held.releasedBefore;
    while (p.start < p.rows.length) {
      const within = this.spec.within;
      const canGrow = releasedBefore !== Number.POSITIVE_INFINITY && (within === null || releasedBefore - p.times[p.start]! <= within);
      const found = matchAt(this.pattern, p.rows, p.times, p.start, canGrow, p.search ?? undefined);
      p.search = null;
      if (found.kind === 'wait') {
        p.search = found.search;
        break;
      }
      if (found.kind === 'none') {
        p.start++;
        continue;
      }
      this.emit(p, found.end, found.vars, out);
      p.start = this.nextStart(p, found.end, found.vars, out);
    }
    // Keep the rows PREV can still reach from the next match's first row.
    const drop = Math.max(0, p.start - this.spec.prevReach);
    if (drop > 0) {
      p.rows.splice(0, drop);
      p.times.splice(0, drop);
      p.start -= drop;
      // The waiting search's positions count from the rows it was given.
      if (p.search) for (const f of p.search.stack) f.pos -= drop;
    }
  }

  private emit(p: Partition, end: number, vars: readonly number[], out: Output): void {
    const view: MatchView = { rows: p.rows, times: p.times, start: p.start, vars, current: end, currentVar: -1 };
    const last = p.rows[end - 1]!;
    try {
      const keys: Value[] = this.spec.partitionFns.map((f) => f(last));
      const measures = this.spec.measures.map((m) => evaluatePattern(m, view));
      out.emit([...keys, ...measures, p.times[end - 1]!]);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      out.error(err.errorName, `MEASURES: ${err.message}`, last);
    }
  }

  private nextStart(p: Partition, end: number, vars: readonly number[], out: Output): number {
    const skip = this.spec.afterMatch;
    if (skip.to === 'PAST LAST ROW') return end;
    if (skip.to === 'NEXT ROW') return p.start + 1;
    const at = skip.to === 'FIRST' ? vars.indexOf(skip.variable) : vars.lastIndexOf(skip.variable);
    if (at > 0) return p.start + at;
    // The standard makes both an error: the search would start again where it started, or nowhere.
    out.error(
      'MATCH_SKIP',
      at === 0
        ? `AFTER MATCH SKIP TO ${skip.to} ${skip.name} points at the first row of the match, where the search would start again forever; it goes on at the next row`
        : `AFTER MATCH SKIP TO ${skip.to} ${skip.name}: no row of the match is mapped to ${skip.name}; the search goes on at the next row`,
      p.rows[p.start]!,
    );
    return p.start + 1;
  }

  /** The rows waiting for the watermark whole, and the partitions changed since the previous checkpoint. */
  handleCheckpoint(): KeyedState {
    const set: [EntryKey, PartitionState][] = [];
    const removed: EntryKey[] = [];
    for (const key of this.changed) {
      const p = this.partitions.get(key);
      if (p) set.push([key, [p.rows.slice(), p.times.slice(), p.start]]);
      else removed.push(key);
    }
    this.changed.clear();
    return { keyed: 1, meta: this.held.snapshot(), dropped: [], sections: [{ name: 0, set, removed }] };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) {
      throw new TollstreamError('INTERNAL', 'the checkpoint of a MATCH_RECOGNIZE operator is not in the layout it writes', { context: { operator: this.description } });
    }
    this.held.restore(state.meta as Parameters<HeldRows['restore']>[0]);
    for (const section of state.sections) {
      for (const [key, value] of section.set) {
        const [rows, times, start] = value as PartitionState;
        this.partitions.set(key, { rows, times, start, search: null });
      }
    }
  }

  handleEnd(): void {}
}

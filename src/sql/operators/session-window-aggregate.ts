/**
 * GROUP BY over SESSION windows: per key, rows closer than `gap` share a session; sessions merge when a row
 * bridges them. A session is final when the watermark passes its last row plus the gap.
 */
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { formatTimestamp } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf, restoredTime } from '../runtime/operator.ts';

interface Session {
  start: number;
  /** Last row time + gap. */
  end: number;
  accs: Acc[];
}

export class SessionWindowAggregateOperator implements Operator {
  private readonly keys = new Map<unknown, { values: Value[]; sessions: Session[] }>();
  private watermark = Number.NEGATIVE_INFINITY;

  constructor(
    readonly description: string,
    private readonly gap: number,
    private readonly timeFn: CompiledFn,
    private readonly keyFns: readonly CompiledFn[],
    private readonly aggs: readonly CompiledAggregate[],
    private readonly allowedLateness: number,
  ) {}

  processBatch(rows: readonly Row[], _input: number, out: Output): void {
    for (const row of rows) {
      const ts = this.timeFn(row);
      if (typeof ts !== 'number') {
        out.error('NULL_TIME', 'the row has no event time, so no session can hold it', row);
        continue;
      }
      if (ts + this.gap <= this.watermark - this.allowedLateness) {
        out.error('LATE_ROW', `event time ${formatTimestamp(ts)} is behind the watermark ${formatTimestamp(this.watermark)}: its session already closed.`, row);
        continue;
      }
      const values = this.keyFns.map((f) => f(row));
      const k = keyOf(values);
      let entry = this.keys.get(k);
      if (!entry) {
        entry = { values, sessions: [] };
        this.keys.set(k, entry);
      }
      const fresh: Session = { start: ts, end: ts + this.gap, accs: this.aggs.map((a) => a.create()) };
      this.aggs.forEach((a, i) => a.add(fresh.accs[i]!, row));
      const keep: Session[] = [];
      for (const s of entry.sessions) {
        if (s.start < fresh.end && fresh.start < s.end) {
          fresh.start = Math.min(fresh.start, s.start);
          fresh.end = Math.max(fresh.end, s.end);
          this.aggs.forEach((a, i) => a.merge(fresh.accs[i]!, s.accs[i]!));
        } else keep.push(s);
      }
      keep.push(fresh);
      entry.sessions = keep;
    }
  }

  handleWatermark(time: number, out: Output): void {
    this.watermark = time;
    const limit = time - this.allowedLateness;
    const due: { values: Value[]; s: Session }[] = [];
    for (const [k, entry] of this.keys) {
      const remaining: Session[] = [];
      for (const s of entry.sessions) (s.end <= limit ? due.push({ values: entry.values, s }) : remaining.push(s));
      if (remaining.length === 0) this.keys.delete(k);
      else entry.sessions = remaining;
    }
    due.sort((a, b) => a.s.end - b.s.end);
    for (const { values, s } of due) {
      const row: Row = values.slice();
      this.aggs.forEach((a, i) => row.push(a.result(s.accs[i]!)));
      row.push(s.start, s.end, s.end - 1, s.end);
      out.emit(row);
    }
  }

  handleCheckpoint(): unknown {
    return {
      watermark: this.watermark,
      keys: [...this.keys.values()].map((e) => ({ keys: e.values, sessions: e.sessions.map((s) => ({ start: s.start, end: s.end, accs: snapshotAccs(s.accs) })) })),
    };
  }

  restoreState(state: unknown): void {
    const s = state as { watermark: unknown; keys: { keys: Value[]; sessions: { start: number; end: number; accs: unknown }[] }[] };
    this.watermark = restoredTime(s.watermark);
    for (const e of s.keys) {
      this.keys.set(keyOf(e.keys), { values: e.keys, sessions: e.sessions.map((x) => ({ start: x.start, end: x.end, accs: restoreAccs(x.accs) })) });
    }
  }

  handleEnd(): void {}
}

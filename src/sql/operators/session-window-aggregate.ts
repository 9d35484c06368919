/**
 * GROUP BY over SESSION windows: per key, rows closer than `gap` share a session; sessions merge when a row
 * bridges them. A session is final when the watermark passes its last row plus the gap.
 *
 * Its checkpoints are incremental (see runtime/keyed-state.ts): the keys rows came to and the keys a session
 * closed in since the previous checkpoint, with their open sessions, and the keys left without one; the
 * watermark whole. A key whose sessions stayed as they were is not written again.
 */
import { TollstreamError } from '../../core/errors.ts';
import type { Acc, CompiledAggregate } from '../expr/aggregates.ts';
import { restoreAccs, snapshotAccs } from '../expr/aggregates.ts';
import type { CompiledFn, Row, Value } from '../expr/types.ts';
import { formatTimestamp } from '../expr/types.ts';
import type { EntryKey, KeyedState } from '../runtime/keyed-state.ts';
import { isKeyedState } from '../runtime/keyed-state.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf, restoredTime } from '../runtime/operator.ts';

interface Session {
  start: number;
  /** Last row time + gap. */
  end: number;
  accs: Acc[];
}

interface KeySessions {
  readonly key: EntryKey;
  readonly values: Value[];
  sessions: Session[];
  /** Changed since the last checkpoint (it is in `changed`). */
  changed: boolean;
}

/**
 * A key's open sessions as a checkpoint keeps them: its GROUP BY values and [start, end, aggregates] per
 * session. Tuples: a checkpoint holds one per key, and an object's property names are written each time.
 */
type StoredKey = readonly [values: Value[], sessions: (readonly [start: number, end: number, accs: unknown])[]];

/** The one section of the keyed state. */
const KEYS = 'keys';

export class SessionWindowAggregateOperator implements Operator {
  private readonly keys = new Map<unknown, KeySessions>();
  private watermark = Number.NEGATIVE_INFINITY;
  /** Keys changed since the last checkpoint, each once, and keys left without a session. */
  private changed: KeySessions[] = [];
  private removed: EntryKey[] = [];

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
        entry = { key: k, values, sessions: [], changed: false };
        this.keys.set(k, entry);
      }
      this.changedKey(entry);
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
      if (remaining.length === entry.sessions.length) continue;
      if (remaining.length === 0) {
        this.keys.delete(k);
        this.removed.push(entry.key);
      } else {
        entry.sessions = remaining;
        this.changedKey(entry);
      }
    }
    due.sort((a, b) => a.s.end - b.s.end);
    for (const { values, s } of due) {
      const row: Row = values.slice();
      this.aggs.forEach((a, i) => row.push(a.result(s.accs[i]!)));
      row.push(s.start, s.end, s.end - 1, s.end);
      out.emit(row);
    }
  }

  private changedKey(entry: KeySessions): void {
    if (entry.changed) return;
    entry.changed = true;
    this.changed.push(entry);
  }

  handleCheckpoint(): KeyedState {
    const set: [EntryKey, StoredKey][] = [];
    for (const e of this.changed) {
      e.changed = false;
      // A key closed and gone since is among `removed` (and one back again is a new entry, in this list too).
      if (this.keys.get(e.key) !== e) continue;
      set.push([e.key, [e.values, e.sessions.map((x) => [x.start, x.end, snapshotAccs(x.accs)] as const)]]);
    }
    const removed = this.removed;
    this.changed = [];
    this.removed = [];
    return { keyed: 1, meta: { watermark: this.watermark }, dropped: [], sections: set.length > 0 || removed.length > 0 ? [{ name: KEYS, set, removed }] : [] };
  }

  restoreState(state: unknown): void {
    if (!isKeyedState(state)) return this.restoreWholeState(state);
    this.watermark = restoredTime((state.meta as { watermark?: unknown } | null)?.watermark);
    for (const section of state.sections) {
      if (section.name !== KEYS) {
        throw new TollstreamError('STATE_CORRUPT', `a checkpoint of ${this.description} holds a part '${String(section.name)}' a session window does not have: it was written by another query`, {
          context: { operator: this.description, section: section.name },
        });
      }
      for (const [key, value] of section.set) {
        const [values, sessions] = value as StoredKey;
        this.keys.set(key, { key, values, sessions: sessions.map(([start, end, accs]) => ({ start, end, accs: restoreAccs(accs) })), changed: false });
      }
    }
  }

  /** A checkpoint written before incremental checkpoints, every key whole: all of it counts as changed. */
  private restoreWholeState(state: unknown): void {
    const s = state as { watermark: unknown; keys: { keys: Value[]; sessions: { start: number; end: number; accs: unknown }[] }[] };
    this.watermark = restoredTime(s.watermark);
    for (const e of s.keys) {
      const key = keyOf(e.keys);
      const entry: KeySessions = { key, values: e.keys, sessions: e.sessions.map((x) => ({ start: x.start, end: x.end, accs: restoreAccs(x.accs) })), changed: false };
      this.keys.set(key, entry);
      this.changedKey(entry);
    }
  }

  handleEnd(): void {}
}

/**
 * The rows LAG can still reach, per partition of one OVER window: the last `offset` rows (with IGNORE NULLS
 * the last `offset` rows whose value is not NULL), each with its time and its position in the partition,
 * so a row the window's frame no longer holds (older than the range, or more rows back than ROWS n) gives
 * the default. Rows are fed in the window's order, one at a time, so rows of the same time are told apart
 * by the order they came in.
 */
import type { CompiledLag } from '../expr/lag.ts';
import type { Row, Value } from '../expr/types.ts';
import type { EntryKey } from '../runtime/keyed-state.ts';

/** True when a row at `time`, `rowsBack` rows before the current row at `t`, is in the current row's frame. */
export type FrameTest = (time: number, rowsBack: number, t: number) => boolean;

interface Partition {
  readonly key: unknown;
  /** The position the next row of the partition gets. */
  next: number;
  /** [time, position, value], oldest first, at most `offset` of them. */
  entries: [number, number, Value][];
  /** Taken from since the last `takeChanges` (it is in `changed`). */
  changed: boolean;
}

/** A partition as a checkpoint keeps it. */
interface StoredPartition {
  readonly next: number;
  readonly entries: [number, number, Value][];
}

export class LagBuffer {
  private readonly partitions = new Map<unknown, Partition>();
  /** Partitions taken from since the last `takeChanges`, each once; only for an operator that reports changes. */
  private changed: Partition[] = [];

  constructor(
    readonly lag: CompiledLag,
    private readonly inFrame: FrameTest,
    /** Whether the owner checkpoints by `takeChanges` (else `snapshot`, and nothing is tracked). */
    private readonly tracksChanges = false,
  ) {}

  /** The LAG of `row` (at time `t`, of partition `key`); then the row joins its partition. */
  take(key: unknown, t: number, row: Row): Value {
    const { offset, ignoreNulls } = this.lag;
    const v = this.lag.value(row);
    let p = this.partitions.get(key);
    if (!p) {
      p = { key, next: 0, entries: [], changed: false };
      this.partitions.set(key, p);
    }
    if (this.tracksChanges && !p.changed) {
      p.changed = true;
      this.changed.push(p);
    }
    const position = p.next++;
    let result: Value;
    if (offset === 0) result = v;
    else {
      const e = p.entries.length >= offset ? p.entries[p.entries.length - offset]! : null;
      result = e !== null && this.inFrame(e[0], position - e[1], t) ? e[2] : this.lag.fallback(row);
    }
    if (offset > 0 && !(ignoreNulls && v === null)) {
      p.entries.push([t, position, v]);
      if (p.entries.length > offset) p.entries.shift();
    }
    return result;
  }

  snapshot(): unknown {
    return [...this.partitions].map(([key, p]) => ({ key, next: p.next, entries: p.entries }));
  }

  /** Every partition, whole; after it, `takeChanges` reports every partition again. */
  restore(state: unknown): void {
    for (const s of state as { key: unknown; next: number; entries: [number, number, Value][] }[]) {
      const p: Partition = { key: s.key, next: s.next, entries: s.entries, changed: this.tracksChanges };
      this.partitions.set(s.key, p);
      if (this.tracksChanges) this.changed.push(p);
    }
  }

  /** For an incremental checkpoint: the partitions taken from since the last call, as [key, copy]. */
  takeChanges(): [EntryKey, StoredPartition][] {
    const out = new Array<[EntryKey, StoredPartition]>(this.changed.length);
    for (let i = 0; i < this.changed.length; i++) {
      const p = this.changed[i]!;
      p.changed = false;
      out[i] = [p.key as EntryKey, { next: p.next, entries: p.entries.slice() }];
    }
    this.changed = [];
    return out;
  }

  /** Takes back what `takeChanges` reported, merged; the partitions count as reported. */
  restoreChanges(entries: Iterable<readonly [EntryKey, unknown]>): void {
    for (const [key, value] of entries) {
      const s = value as StoredPartition;
      this.partitions.set(key, { key, next: s.next, entries: s.entries, changed: false });
    }
  }
}

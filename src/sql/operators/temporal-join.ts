/**
 * Event-time temporal join, `s [LEFT] JOIN t FOR SYSTEM_TIME AS OF s.ts ON s.k = t.k`: input 0 is the
 * probe stream, input 1 the versions of `t`'s rows, each valid from its time until the next version of
 * its key. A probe row waits until the watermark (less how far behind it versions can still come) passes
 * its time, so every version that could be valid at that time has arrived; then it joins the last version
 * of its key whose time is at or before its own (a LEFT join keeps it, padded with NULLs, when there is none
 * or ON fails). The answer depends on the data, not on the order or speed rows arrive in. Versions older
 * than the one valid at the watermark are dropped. A version that comes behind the watermark still counts
 * for the probe rows after it (those before it have left already).
 */
import type { CompiledFn, Row } from '../expr/types.ts';
import { RowError } from '../expr/types.ts';
import type { Operator, Output } from '../runtime/operator.ts';
import { keyOf } from '../runtime/operator.ts';
import { HeldRows } from './held-rows.ts';

/** One key's versions, oldest first. */
interface Versions {
  times: number[];
  rows: Row[];
}

export interface TemporalJoinSide {
  readonly keyFns: readonly CompiledFn[];
  readonly timeFn: CompiledFn;
}

export class TemporalJoinOperator implements Operator {
  /** Probe rows waiting for the versions valid at their time. */
  private readonly held: HeldRows;
  private readonly versions = new Map<unknown, Versions>();

  constructor(
    readonly description: string,
    private readonly probe: TemporalJoinSide,
    private readonly table: TemporalJoinSide,
    /** Versions can still come this far behind the watermark (ms). */
    holdBack: number,
    private readonly tableWidth: number,
    private readonly condition: (row: Row) => boolean,
    private readonly keepUnmatched: boolean,
  ) {
    this.held = new HeldRows(probe.timeFn, holdBack, {
      noTime: 'the row has no value in the FOR SYSTEM_TIME AS OF column',
      late: (t, wm) => `the FOR SYSTEM_TIME AS OF time ${t} is behind the watermark ${wm}: the versions it needs may be gone. Raise the WATERMARK delay (or the allowed lateness) if such rows are expected.`,
    });
  }

  processBatch(rows: readonly Row[], input: number, out: Output): void {
    for (const row of rows) {
      try {
        if (input === 0) this.held.hold(row, out);
        else this.addVersion(row, out);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        out.error(err.errorName, err.message, row);
      }
    }
  }

  private addVersion(row: Row, out: Output): void {
    const t = this.table.timeFn(row);
    if (typeof t !== 'number') {
      out.error('NULL_TIME', 'the version has no value in its WATERMARK column, so it is valid from no time', row);
      return;
    }
    const keys = this.table.keyFns.map((f) => f(row));
    // A version without a key can be valid for no probe row.
    if (keys.includes(null)) return;
    const k = keyOf(keys);
    let v = this.versions.get(k);
    if (!v) {
      v = { times: [], rows: [] };
      this.versions.set(k, v);
    }
    // After every version of the same or an earlier time: of two versions of one time, the later one wins.
    let at = v.times.length;
    while (at > 0 && v.times[at - 1]! > t) at--;
    v.times.splice(at, 0, t);
    v.rows.splice(at, 0, row);
  }

  handleWatermark(time: number, out: Output): void {
    for (const p of this.held.release(time)) this.join(p.time, p.row, out);
    this.dropOutdated(this.held.releasedBefore);
  }

  private join(t: number, row: Row, out: Output): void {
    try {
      const keys = this.probe.keyFns.map((f) => f(row));
      let version: Row | null = null;
      if (!keys.includes(null)) {
        const v = this.versions.get(keyOf(keys));
        if (v) {
          let at = v.times.length - 1;
          while (at >= 0 && v.times[at]! > t) at--;
          if (at >= 0) version = v.rows[at]!;
        }
      }
      if (version) {
        const joined = row.concat(version);
        if (this.condition(joined)) {
          out.emit(joined);
          return;
        }
      }
      if (this.keepUnmatched) out.emit(row.concat(new Array<null>(this.tableWidth).fill(null)));
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      out.error(err.errorName, err.message, row);
    }
  }

  /** Keeps, per key, the version valid at `limit` and the later ones: no probe row before `limit` can come. */
  private dropOutdated(limit: number): void {
    for (const v of this.versions.values()) {
      let valid = 0;
      while (valid + 1 < v.times.length && v.times[valid + 1]! <= limit) valid++;
      if (valid > 0) {
        v.times.splice(0, valid);
        v.rows.splice(0, valid);
      }
    }
  }

  handleCheckpoint(): unknown {
    return { ...this.held.snapshot(), versions: [...this.versions].map(([key, v]) => ({ key, times: v.times, rows: v.rows })) };
  }

  restoreState(state: unknown): void {
    const s = state as { doneBefore: unknown; pending: [number, Row][]; versions: { key: unknown; times: number[]; rows: Row[] }[] };
    this.held.restore(s);
    for (const v of s.versions) this.versions.set(v.key, { times: v.times, rows: v.rows });
  }

  handleEnd(): void {}
}

import { describe, expect, it } from 'vitest';
import type { Row } from '../expr/types.ts';
import { Random } from '../../core/random.ts';
import { KeyedTimeBuffer } from './keyed-time-buffer.ts';

/** A seeded generator, so a failure repeats. */
function random(seed: number): () => number {
  const generator = new Random(seed);
  return () => generator.next();
}

interface Kept {
  key: unknown;
  time: number;
  row: Row;
}

/**
 * What the buffer promises, written the plain way: a lookup finds the rows of the key whose time is not
 * before the highest eviction limit so far, oldest first and in arrival order among equal times; an eviction
 * hands out, oldest first (any order among equal times), every row before the limit not handed out yet.
 */
class Model {
  private kept: Kept[] = [];
  private limit = Number.NEGATIVE_INFINITY;
  add(key: unknown, time: number, row: Row): void {
    this.kept.push({ key, time, row });
  }
  matches(key: unknown): Row[] {
    return this.kept
      .filter((k) => Object.is(k.key, key) && k.time >= this.limit)
      .sort((a, b) => a.time - b.time)
      .map((k) => k.row);
  }
  evictBefore(limit: number): Row[] {
    this.limit = Math.max(this.limit, limit);
    const gone = this.kept.filter((k) => k.time < this.limit).sort((a, b) => a.time - b.time);
    this.kept = this.kept.filter((k) => k.time >= this.limit);
    return gone.map((k) => k.row);
  }
  rows(): Row[] {
    return [...this.kept].sort((a, b) => a.time - b.time).map((k) => k.row);
  }
}

/** Rows are [seq, time]: evicted rows of one time may leave in any order among themselves. */
const inTimeOrder = (rows: Row[]) => rows.every((r, i) => i === 0 || (rows[i - 1]![1] as number) <= (r[1] as number));
const bySeq = (rows: Row[]) => [...rows].sort((a, b) => (a[0] as number) - (b[0] as number));

describe('KeyedTimeBuffer', () => {
  it('finds and evicts exactly what a plain list would, in chunks and by key, with rows out of order and late rows', () => {
    for (const [seed, keyCount, lookupsPerRow, byKey] of [
      [1, 5, 0.02, false], // few keys, rarely looked up: the rows stay in chunks
      [2, 50_000, 0.01, false], // a key per row nearly (q7's price)
      [3, 300, 1, true], // looked up for every row: the rows move to a KeyIndex
    ] as const) {
      const rnd = random(seed);
      const buffer = new KeyedTimeBuffer();
      const model = new Model();
      const into: Row[] = [];
      let now = 0;
      let limit = Number.NEGATIVE_INFINITY;
      let seq = 0;
      for (let step = 0; step < 40_000; step++) {
        now += Math.floor(rnd() * 3);
        // Mostly in order, some rows up to 500 ms behind, and some behind the eviction limit.
        const time = rnd() < 0.1 ? now - Math.floor(rnd() * 500) : now;
        const key: unknown = rnd() < 0.01 ? Number.NaN : rnd() < 0.5 ? Math.floor(rnd() * keyCount) : `s${Math.floor(rnd() * keyCount)}`;
        const row: Row = [seq++, time];
        buffer.add(key, time, row);
        model.add(key, time, row);
        if (rnd() < lookupsPerRow) {
          const probe: unknown = rnd() < 0.5 ? Math.floor(rnd() * keyCount) : Number.NaN;
          const n = buffer.matches(probe, into);
          expect(into.slice(0, n)).toEqual(model.matches(probe));
        }
        if (rnd() < 0.002) {
          limit = Math.max(limit, now - 300 - Math.floor(rnd() * 2000));
          const out: Row[] = [];
          buffer.evictBefore(limit, (r) => out.push(r));
          expect(inTimeOrder(out)).toBe(true);
          expect(bySeq(out)).toEqual(bySeq(model.evictBefore(limit)));
        }
      }
      // Which layout the rows ended in (a private field: both layouts must be covered).
      expect((buffer as unknown as { keyed: unknown }).keyed !== null).toBe(byKey);
      expect(bySeq(buffer.rows())).toEqual(bySeq(model.rows()));
      const out: Row[] = [];
      buffer.evictBefore(Number.POSITIVE_INFINITY, (r) => out.push(r));
      expect(inTimeOrder(out)).toBe(true);
      expect(bySeq(out)).toEqual(bySeq(model.evictBefore(Number.POSITIVE_INFINITY)));
      expect(buffer.rows()).toEqual([]);
    }
  });

  it('an eviction without a callback forgets the rows all the same', () => {
    const buffer = new KeyedTimeBuffer();
    for (let t = 0; t < 10_000; t++) buffer.add(t % 7, t, [t]);
    buffer.evictBefore(9_990);
    const into: Row[] = [];
    const n = buffer.matches(3, into);
    expect(into.slice(0, n)).toEqual([[9_992], [9_999]]);
    expect(buffer.rows()).toEqual(Array.from({ length: 10 }, (_, i) => [9_990 + i]));
  });
});

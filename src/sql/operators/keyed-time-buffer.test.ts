import { describe, expect, it } from 'vitest';
import type { Row } from '../expr/types.ts';
import { KeyedTimeBuffer } from './keyed-time-buffer.ts';

/** A small deterministic generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kept {
  key: unknown;
  time: number;
  row: Row;
}

/**
 * What the buffer promises, written the plain way: a lookup finds the rows of the key whose time is not
 * before the highest eviction limit so far, oldest first and in arrival order among equal times; an eviction
 * hands out, oldest first, every row before the limit that was not handed out yet.
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

describe('KeyedTimeBuffer', () => {
  it('finds and evicts exactly what a plain list would, over many chunks, with rows out of order, late rows and indexed chunks', () => {
    for (const [seed, keyCount, lookupsPerRow] of [
      [1, 5, 0.02], // few keys, rarely looked up: chunks are scanned
      [2, 50_000, 0.01], // a key per row nearly (q7's price)
      [3, 300, 1], // looked up for every row: chunks get indexes
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
          expect(out).toEqual(model.evictBefore(limit));
        }
      }
      expect(buffer.rows()).toEqual(model.rows());
      const out: Row[] = [];
      buffer.evictBefore(Number.POSITIVE_INFINITY, (r) => out.push(r));
      expect(out).toEqual(model.evictBefore(Number.POSITIVE_INFINITY));
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

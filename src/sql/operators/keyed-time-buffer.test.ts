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
  matched: boolean;
}

/**
 * What the buffer promises, written the plain way: a lookup finds the rows of the key whose time is not
 * before the highest eviction limit so far, oldest first and in arrival order among equal times; an eviction
 * hands out, oldest first (any order among equal times), every row before the limit not handed out yet.
 */
class Model {
  private kept: Kept[] = [];
  private limit = Number.NEGATIVE_INFINITY;
  add(key: unknown, time: number, row: Row, matched: boolean): void {
    this.kept.push({ key, time, row, matched });
  }
  /** Notes a match of the row whose first value is `seq`. */
  markMatched(seq: unknown): void {
    this.kept.find((k) => k.row[0] === seq)!.matched = true;
  }
  /** The first values (seq) of the rows that found a match, in order. */
  matchedSeqs(): unknown[] {
    return this.kept.filter((k) => k.matched).map((k) => k.row[0]).sort((a, b) => (a as number) - (b as number));
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
    this.gone.push(...gone.filter((k) => k.matched).map((k) => k.row[0]));
    return gone.map((k) => k.row);
  }
  /** The seqs of evicted rows that had found a match. */
  gone: unknown[] = [];
  rows(): Row[] {
    return [...this.kept].sort((a, b) => a.time - b.time).map((k) => k.row);
  }
}

/** The rows `buffer` finds for `key`, as rows of their own. */
function found(buffer: KeyedTimeBuffer, key: unknown): Row[] {
  const n = buffer.find(key);
  return Array.from({ length: n }, (_, i) => buffer.foundRow(i));
}

/** Rows are [seq, time]: evicted rows of one time may leave in any order among themselves. */
const inTimeOrder = (rows: Row[]) => rows.every((r, i) => i === 0 || (rows[i - 1]![1] as number) <= (r[1] as number));
const bySeq = (rows: Row[]) => [...rows].sort((a, b) => (a[0] as number) - (b[0] as number));

describe('KeyedTimeBuffer', () => {
  it('finds and evicts exactly what a plain list would, and which rows found a match, in chunks and by key, with rows out of order and late rows', () => {
    for (const [seed, keyCount, lookupsPerRow, byKey] of [
      [1, 5, 0.02, false], // few keys, rarely looked up: the rows stay in chunks
      [2, 50_000, 0.01, false], // a key per row nearly (q7's price)
      [3, 300, 1, true], // looked up for every row: the rows move to a KeyIndex
    ] as const) {
      const rnd = random(seed);
      const buffer = new KeyedTimeBuffer();
      const model = new Model();
      let now = 0;
      let limit = Number.NEGATIVE_INFINITY;
      let seq = 0;
      /** The seqs of evicted rows handed out as matched. */
      const gone: unknown[] = [];
      for (let step = 0; step < 40_000; step++) {
        now += Math.floor(rnd() * 3);
        // Mostly in order, some rows up to 500 ms behind, and some behind the eviction limit.
        const time = rnd() < 0.1 ? now - Math.floor(rnd() * 500) : now;
        const key: unknown = rnd() < 0.01 ? Number.NaN : rnd() < 0.5 ? Math.floor(rnd() * keyCount) : `s${Math.floor(rnd() * keyCount)}`;
        const row: Row = [seq++, time];
        const matched = rnd() < 0.05;
        buffer.add(key, time, row, matched);
        model.add(key, time, row, matched);
        if (rnd() < lookupsPerRow) {
          const probe: unknown = rnd() < 0.5 ? Math.floor(rnd() * keyCount) : Number.NaN;
          const rows = found(buffer, probe);
          expect(rows).toEqual(model.matches(probe));
          for (let j = 0; j < rows.length; j++) {
            if (rnd() < 0.3) {
              buffer.markMatched(j);
              model.markMatched(rows[j]![0]);
            }
          }
        }
        if (rnd() < 0.002) {
          limit = Math.max(limit, now - 300 - Math.floor(rnd() * 2000));
          const out: Row[] = [];
          buffer.evictBefore(limit, (r, m) => {
            out.push(r);
            if (m) gone.push(r[0]);
          });
          expect(inTimeOrder(out)).toBe(true);
          expect(bySeq(out)).toEqual(bySeq(model.evictBefore(limit)));
          expect(gone.sort((a, b) => (a as number) - (b as number))).toEqual([...model.gone].sort((a, b) => (a as number) - (b as number)));
        }
      }
      const kept = buffer.rows();
      expect(kept.rows.filter((_, i) => kept.matched[i]).map((r) => r[0]).sort((a, b) => (a as number) - (b as number))).toEqual(model.matchedSeqs());
      // Which layout the rows ended in (a private field: both layouts must be covered).
      expect((buffer as unknown as { keyed: unknown }).keyed !== null).toBe(byKey);
      expect(bySeq(buffer.rows().rows)).toEqual(bySeq(model.rows()));
      const out: Row[] = [];
      buffer.evictBefore(Number.POSITIVE_INFINITY, (r) => out.push(r));
      expect(inTimeOrder(out)).toBe(true);
      expect(bySeq(out)).toEqual(bySeq(model.evictBefore(Number.POSITIVE_INFINITY)));
      expect(buffer.rows().rows).toEqual([]);
    }
  });

  it('an eviction without a callback forgets the rows all the same', () => {
    const buffer = new KeyedTimeBuffer();
    for (let t = 0; t < 10_000; t++) buffer.add(t % 7, t, [t]);
    buffer.evictBefore(9_990);
    expect(found(buffer, 3)).toEqual([[9_992], [9_999]]);
    expect(buffer.rows().rows).toEqual(Array.from({ length: 10 }, (_, i) => [9_990 + i]));
  });

  it('gives back rows equal value for value, whatever their columns hold and however a column changes kind', () => {
    const rnd = random(7);
    const buffer = new KeyedTimeBuffer();
    const added: Row[] = [];
    const keys: unknown[] = [];
    const pick = (values: readonly Row[number][]) => values[Math.floor(rnd() * values.length)]!;
    // Past two chunks, so that columns start anew in each chunk.
    for (let i = 0; i < 9_000; i++) {
      const row: Row = [
        i,
        null, // never a value: the columns a query does not read
        i < 5_000 ? null : i, // NULL for a while, then numbers (within a chunk)
        i % 4096 < 3_000 ? i * 0.5 : pick(['x', null, true]), // numbers, then anything
        pick([-0, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e300, -7]),
        pick(['', 'a', null, false, 3]),
      ];
      added.push(row);
      // Keys as well: numbers, then other kinds too (a Map's equality: NaN equals NaN, -0 equals 0).
      const key = i < 2_000 ? i % 11 : i % 3 === 0 ? pick([null, 'k', -0, Number.NaN]) : i % 11;
      keys.push(key);
      buffer.add(key, i, row);
    }
    expect(buffer.rows().rows).toEqual(added);
    for (const key of [5, 0, -0, Number.NaN, 'k', null, 'x']) {
      const rows = found(buffer, key);
      expect(rows).toEqual(added.filter((_, i) => new Map([[keys[i], true]]).has(key)));
      if (key !== 'x') expect(rows.length).toBeGreaterThan(0);
      // Written into a longer row from a place, as the join writes a pair.
      const pair: Row = ['left'];
      rows.forEach((row, i) => {
        buffer.writeFound(i, pair, 1);
        expect(pair).toEqual(['left', ...row]);
        expect(buffer.foundWidth(i)).toBe(row.length);
      });
    }
  });
});

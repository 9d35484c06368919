import { describe, expect, it } from 'vitest';
import { Random } from '../../core/random.ts';
import type { CompiledAggregate } from '../expr/aggregates.ts';
import type { Row } from '../expr/types.ts';
import type { KeyedState } from '../runtime/keyed-state.ts';
import { mergeState, restorableState } from '../runtime/keyed-state.ts';
import type { Output } from '../runtime/operator.ts';
import { SessionWindowAggregateOperator } from './session-window-aggregate.ts';

const COUNT: CompiledAggregate = {
  name: 'COUNT',
  type: 'BIGINT',
  text: 'COUNT(*)',
  create: () => ({ v: null, n: 0 }),
  add: (acc) => void acc.n++,
  merge: (a, b) => void (a.n += b.n),
  result: (acc) => acc.n,
};
const SUM: CompiledAggregate = {
  name: 'SUM',
  type: 'BIGINT',
  text: 'SUM(v)',
  create: () => ({ v: 0, n: 0 }),
  add: (acc, row) => void (acc.v = (acc.v as number) + (row[2] as number)),
  merge: (a, b) => void (a.v = (a.v as number) + (b.v as number)),
  result: (acc) => acc.v,
};

/** Sessions of rows [key, time, value] per key with a 10 s gap: COUNT(*) and SUM(value). */
function sessions() {
  const op = new SessionWindowAggregateOperator('SessionWindowAggregate', 10_000, (r) => r[1]!, [(r) => r[0]!], [COUNT, SUM], 0);
  const emitted: string[] = [];
  const out: Output = { emit: (r) => emitted.push(JSON.stringify(r)), error: (name, _m, row) => emitted.push(`${name} ${JSON.stringify(row)}`) };
  return { op, out, emitted };
}

/** The state a restore gets after `checkpoints`, merged in order as the query store does (a copy, as if read back). */
function merged(checkpoints: readonly unknown[]): unknown {
  let state: unknown = null;
  for (const c of checkpoints) state = mergeState(state, structuredClone(c));
  return structuredClone(restorableState(state));
}

const setKeys = (state: KeyedState) => [...(state.sections.find((s) => s.name === 'keys')?.set ?? [])].map(([k]) => k).sort();
const removedKeys = (state: KeyedState) => [...(state.sections.find((s) => s.name === 'keys')?.removed ?? [])].sort();

describe('SessionWindowAggregateOperator checkpoints', () => {
  it('hold only the keys rows came to or a session closed in since the previous checkpoint, and the keys left without one', () => {
    const { op, out, emitted } = sessions();
    op.processBatch(Array.from({ length: 1000 }, (_, k) => [`k${k}`, k, 1]), 0, out);
    expect(setKeys(op.handleCheckpoint())).toHaveLength(1000);
    // k1 and k2 get rows at 20 s: a new session each, the first one still open.
    op.processBatch([['k1', 20_000, 5], ['k2', 20_000, 6]], 0, out);
    const second = op.handleCheckpoint();
    expect(setKeys(second)).toEqual(['sk1', 'sk2']);
    expect(removedKeys(second)).toEqual([]);
    // The watermark closes every first session: k1 and k2 keep their second, the others are gone.
    op.handleWatermark(15_000, out);
    expect(emitted).toHaveLength(1000);
    const third = op.handleCheckpoint();
    expect(setKeys(third)).toEqual(['sk1', 'sk2']);
    expect(removedKeys(third)).toHaveLength(998);
    expect(op.handleCheckpoint().sections).toEqual([]);
  });

  it('restored from its checkpoints merged, at any of them, gives the rows of a run never cut', () => {
    // 200 keys, a row every 100 ms on a random key (a key every 20 s or so: many sessions per key, two open at
    // once when one starts before the watermark closed the one before), pauses longer than the gap now and then.
    const generator = new Random(11);
    const rnd = () => generator.next();
    const batches: { rows: Row[]; watermark: number }[] = [];
    let now = 0;
    for (let b = 0; b < 40; b++) {
      const rows: Row[] = [];
      for (let i = 0; i < 50; i++) {
        now += rnd() < 0.02 ? 30_000 : 100;
        rows.push([`k${Math.floor(rnd() * 200)}`, now - Math.floor(rnd() * 2000), Math.floor(rnd() * 100)]);
      }
      batches.push({ rows, watermark: now - 3000 });
    }
    const run = (o: ReturnType<typeof sessions>, from: number, to: number, checkpoints: unknown[] | null) => {
      for (const { rows, watermark } of batches.slice(from, to)) {
        o.op.processBatch(rows, 0, o.out);
        o.op.handleWatermark(watermark, o.out);
        checkpoints?.push(o.op.handleCheckpoint());
      }
    };
    const whole = sessions();
    run(whole, 0, batches.length, null);
    whole.op.handleWatermark(Number.POSITIVE_INFINITY, whole.out);
    expect(whole.emitted.length).toBeGreaterThan(100);
    for (let cut = 1; cut < batches.length; cut += 3) {
      const before = sessions();
      const checkpoints: unknown[] = [];
      run(before, 0, cut, checkpoints);
      const after = sessions();
      after.op.restoreState(merged(checkpoints));
      run(after, cut, batches.length, null);
      after.op.handleWatermark(Number.POSITIVE_INFINITY, after.out);
      expect([...before.emitted, ...after.emitted]).toEqual(whole.emitted);
    }
  });

  it('restores a checkpoint written whole (before incremental checkpoints), and reports all of it at the next one', () => {
    const whole = { watermark: 5000, keys: [{ keys: ['a'], sessions: [{ start: 1000, end: 11_000, accs: [{ v: null, n: 2 }, { v: 7, n: 0 }] }] }] };
    const after = sessions();
    after.op.restoreState(structuredClone(whole));
    const next = after.op.handleCheckpoint();
    expect(setKeys(next)).toEqual(['sa']);
    const again = sessions();
    again.op.restoreState(merged([whole, next]));
    for (const o of [after, again]) {
      o.op.processBatch([['a', 12_000, 3], ['a', 4000, 1]], 0, o.out);
      o.op.handleWatermark(Number.POSITIVE_INFINITY, o.out);
      expect(o.emitted).toEqual([JSON.stringify(['a', 4, 11, 1000, 22_000, 21_999, 22_000])]);
    }
  });

  it('refuses a checkpoint holding a part a session window does not have, as STATE_CORRUPT', () => {
    const { op, out } = sessions();
    op.processBatch([['a', 100, 1]], 0, out);
    const good = op.handleCheckpoint();
    const stray = { ...good, sections: [...good.sections, { name: 'rows:0', set: [['sa', []]], removed: [] }] };
    expect(() => sessions().op.restoreState(merged([stray]))).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
  });
});

import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './queue.ts';

describe('BoundedQueue', () => {
  it('makes a sender wait while the queue holds its capacity in rows, and delivers in order', async () => {
    const q = new BoundedQueue(4);
    await q.send(0, { kind: 'data', rows: [[1], [2], [3]] });
    let sent = false;
    const pending = q.send(1, { kind: 'data', rows: [[4], [5]] }).then(() => {
      sent = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(sent).toBe(false);
    const first = await q.receive();
    expect(first.input).toBe(0);
    await pending;
    expect(sent).toBe(true);
    await q.send(0, { kind: 'watermark', time: 10 });
    expect((await q.receive()).message).toEqual({ kind: 'data', rows: [[4], [5]] });
    expect((await q.receive()).message).toEqual({ kind: 'watermark', time: 10 });
    expect(q.maxDepth).toBe(3);
  });

  it('accepts a batch larger than the capacity when empty, so big batches cannot deadlock', async () => {
    const q = new BoundedQueue(2);
    await q.send(0, { kind: 'data', rows: [[1], [2], [3]] });
    expect(q.depth).toBe(3);
  });
});

describe('BoundedQueue memory', () => {
  it('lets go of a message once it is received, so the rows that passed through do not stay reachable', async () => {
    v8.setFlagsFromString('--expose-gc');
    const collectGarbage = vm.runInNewContext('gc') as () => void;
    const q = new BoundedQueue(1 << 20);
    const refs: WeakRef<unknown[]>[] = [];
    // Fewer messages than the queue's compaction threshold: only clearing each slot on receive frees them.
    // In a function of its own, whose finished frame holds no received message.
    const passThrough = async () => {
      for (let i = 0; i < 100; i++) {
        const rows = [[i, `row ${i}`]];
        refs.push(new WeakRef(rows));
        await q.send(0, { kind: 'data', rows });
        await q.receive();
      }
    };
    await passThrough();
    // A WeakRef made in this turn keeps its target alive until the turn ends.
    await new Promise((r) => setImmediate(r));
    collectGarbage();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    // The queue still works after its slots were cleared.
    await q.send(0, { kind: 'watermark', time: 5 });
    expect((await q.receive()).message).toEqual({ kind: 'watermark', time: 5 });
  });
});

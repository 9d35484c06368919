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

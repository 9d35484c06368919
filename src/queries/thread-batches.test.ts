import { describe, expect, it } from 'vitest';
import { packBytes, transferList, unpackBytes } from './thread-batches.ts';

describe('packed batches', () => {
  it('give back every record with its own bytes, empty ones and views into larger buffers included', () => {
    const whole = Buffer.from('xx{"a":1}yy');
    const records = [Buffer.from('{"customer_id":"C1"}'), new Uint8Array(0), whole.subarray(2, 9), Buffer.from('é€😀', 'utf8')];
    const packed = packBytes(records);
    expect(packed.bytes.byteLength).toBe(records.reduce((n, r) => n + r.byteLength, 0));
    const back = unpackBytes(packed);
    expect(back.map((b) => Buffer.from(b).toString('utf8'))).toEqual(['{"customer_id":"C1"}', '', '{"a":1}', 'é€😀']);
  });

  it('survive being moved to another thread: the receiver reads the same records', async () => {
    const { MessageChannel } = await import('node:worker_threads');
    const { port1, port2 } = new MessageChannel();
    const packed = packBytes([Buffer.from('one'), Buffer.from('two')]);
    const received = new Promise<Parameters<typeof unpackBytes>[0]>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, transferList(packed));
    // Moved, not copied: the sender's buffer is detached.
    expect(packed.bytes.byteLength).toBe(0);
    expect(unpackBytes(await received).map(String)).toEqual(['one', 'two']);
    port1.close();
    port2.close();
  });
});

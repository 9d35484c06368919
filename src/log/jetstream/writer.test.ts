import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { checkBatch, encodeBatch } from '../batch.ts';
import { DedupeWindow, FieldExtractor } from '../dedupe.ts';
import type { AppendResult } from '../types.ts';
import type { ShardMessage, ShardMessages } from './messages.ts';
import { formatPosition, positionOf, shardPrefix } from './sequence.ts';
import { ShardWriter } from './writer.ts';

const tx = (id: string) => ({ partitionKey: `plate-${id}`, data: Buffer.from(`{"transaction_id":"${id}"}`) });

/** One shard's messages in memory, with JetStream's expected-last-sequence check on publish. */
class FakeShard {
  readonly stored: Buffer[] = [];
  /** Runs before a publish is answered (to interleave another process's work). */
  beforeAnswer: ((expected: number) => Promise<void>) | undefined;

  message(seq: number): ShardMessage {
    const buf = this.stored[seq - 1]!;
    const check = checkBatch(buf, 0, buf.length, true);
    if (!check.ok) throw new Error(check.detail);
    return { kind: 'batch', message: { seq, buf, header: check.header } };
  }

  readonly messages = {
    loc: { stream: 's', shardId: 'shardId-000000000000', jsStream: 'p_s_0', subject: 'p.log.s.0' },
    next: async (seq: number) => (Math.max(seq, 1) <= this.stored.length ? this.message(Math.max(seq, 1)) : undefined),
    last: async () => (this.stored.length ? this.message(this.stored.length) : undefined),
    state: async () => ({ firstSeq: 1, lastSeq: this.stored.length, messages: this.stored.length, bytes: 0 }),
    seqAtTime: async () => 1,
    scan: async () => undefined,
  } as unknown as ShardMessages;

  readonly js = {
    publish: async (_subject: string, data: Uint8Array, opts: { expect: { lastSequence: number } }) => {
      const expected = opts.expect.lastSequence;
      await this.beforeAnswer?.(expected);
      if (expected !== this.stored.length) {
        throw new JetStreamApiError({ code: 400, err_code: 10071, description: `wrong last sequence: ${this.stored.length}` });
      }
      this.stored.push(Buffer.from(data));
      return { stream: 'p_s_0', seq: this.stored.length, duplicate: false };
    },
  } as unknown as JetStreamClient;
}

describe('ShardWriter', () => {
  it("keeps a key another process stored while this writer's publish of the same key was in flight", async () => {
    const shard = new FakeShard();
    const dedupe = { window: new DedupeWindow(3_600_000, 1000), extractor: new FieldExtractor('transaction_id') };
    const writer: ShardWriter = new ShardWriter({
      nc: { publish: () => undefined } as unknown as NatsConnection,
      js: shard.js,
      messages: shard.messages,
      shardIndex: 0,
      wakeSubject: 'p.wake.s.0',
      now: () => 1_000_000,
      timeoutMs: 1000,
      messageBytes: 1 << 20,
      producerId: 'w',
      dedupe,
      siblings: () => [writer],
      counters: { recordsIn: 0, bytesIn: 0, duplicatesDropped: 0, storedBytes: 0 },
    });
    await writer.init();
    // While the publish is in flight, another process stores the same key, and a catch-up (as another shard's
    // writer runs before its own dedupe decisions) reads that message into the window; then the publish fails
    // its expected-sequence check.
    shard.beforeAnswer = async (expected) => {
      if (expected !== 0) return;
      shard.stored.push(encodeBatch([tx('K')], 1_000_000));
      writer.announcedSeq = 1;
      await writer.catchUp();
    };
    const results: AppendResult[] = [];
    await new Promise<void>((resolve, reject) => writer.submit({ records: [tx('K')], indexes: [0], results, bytes: 100, resolve, reject }));
    expect(results[0]).toEqual({ ok: true, shardId: 'shardId-000000000000', sequenceNumber: formatPosition(shardPrefix(0), positionOf(1, 0)), duplicate: true });
    expect(shard.stored).toHaveLength(1);
  });
});

import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkBatch, encodeBatch } from '../batch.ts';
import { DedupeWindow, FieldExtractor } from '../dedupe.ts';
import type { AppendResult } from '../types.ts';
import type { ShardMessage, ShardMessages } from './messages.ts';
import { formatPosition, positionOf, shardPrefix } from './sequence.ts';
import { ShardWriter } from './writer.ts';

const tx = (id: string) => ({ partitionKey: `plate-${id}`, data: Buffer.from(`{"transaction_id":"${id}"}`) });

/** An answer that never comes. */
const NEVER = new Promise<never>(() => undefined);

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

  /** Every copy published: its message id and expected last sequence. */
  readonly sent: Array<{ msgID: string; expected: number }> = [];
  /**
   * How the next publishes go unanswered, one entry each: `dropped` reaches a server that is no leader any more (not
   * stored), `stored` is stored but its answer is lost. Unanswered ones fail after their timeout, as nats.js does.
   */
  unanswered: Array<'dropped' | 'stored'> = [];
  /** How long the leader takes to store and answer each copy, one after the other, in ms (0: at once). */
  slowMs = 0;
  private leaderBusy: Promise<unknown> = Promise.resolve();
  /** Message ids stored, and their sequence: JetStream's duplicate window. */
  private readonly ids = new Map<string, number>();

  readonly js = {
    // An answer later than the copy's timeout is not heard: the copy fails with a timeout, as in nats.js.
    publish: (subject: string, data: Uint8Array, opts: { msgID: string; expect: { lastSequence: number }; timeout: number }) =>
      Promise.race([this.answer(subject, data, opts), this.noAnswer(opts.timeout)]),
  } as unknown as JetStreamClient;

  private async answer(_subject: string, data: Uint8Array, opts: { msgID: string; expect: { lastSequence: number }; timeout: number }) {
    const expected = opts.expect.lastSequence;
    this.sent.push({ msgID: opts.msgID, expected });
    const lost = this.unanswered.shift();
    if (lost === 'dropped') return NEVER;
    if (this.slowMs > 0) {
      const turn = this.leaderBusy.then(() => new Promise((r) => setTimeout(r, this.slowMs)));
      this.leaderBusy = turn;
      await turn;
    }
    const seen = this.ids.get(opts.msgID);
    if (seen !== undefined) return { stream: 'p_s_0', seq: seen, duplicate: true };
    await this.beforeAnswer?.(expected);
    if (expected !== this.stored.length) {
      throw new JetStreamApiError({ code: 400, err_code: 10071, description: `wrong last sequence: ${this.stored.length}` });
    }
    this.stored.push(Buffer.from(data));
    this.ids.set(opts.msgID, this.stored.length);
    if (lost === 'stored') return NEVER;
    return { stream: 'p_s_0', seq: this.stored.length, duplicate: false };
  }

  private noAnswer(timeoutMs: number): Promise<never> {
    return new Promise((_resolve, reject) => setTimeout(() => reject(new natsErrors.TimeoutError()), timeoutMs));
  }
}

function writerOn(shard: FakeShard, options: { timeoutMs: number; dedupe?: ConstructorParameters<typeof ShardWriter>[0]['dedupe'] }): ShardWriter {
  const writer: ShardWriter = new ShardWriter({
    nc: { publish: () => undefined } as unknown as NatsConnection,
    js: shard.js,
    messages: shard.messages,
    shardIndex: 0,
    wakeSubject: 'p.wake.s.0',
    now: () => 1_000_000,
    timeoutMs: options.timeoutMs,
    messageBytes: 1 << 20,
    producerId: 'w',
    dedupe: options.dedupe,
    siblings: () => [writer],
    counters: { recordsIn: 0, bytesIn: 0, duplicatesDropped: 0, storedBytes: 0 },
  });
  return writer;
}

function append(writer: ShardWriter, id: string): { results: AppendResult[]; done: Promise<void> } {
  const results: AppendResult[] = [];
  const done = new Promise<void>((resolve, reject) => writer.submit({ records: [tx(id)], indexes: [0], results, bytes: 100, resolve, reject }));
  return { results, done };
}

describe('ShardWriter', () => {
  it("keeps a key another process stored while this writer's publish of the same key was in flight", async () => {
    const shard = new FakeShard();
    const dedupe = { window: new DedupeWindow(3_600_000, 1000), extractor: new FieldExtractor('transaction_id') };
    const writer = writerOn(shard, { timeoutMs: 1000, dedupe });
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

  describe('when the leader of the shard changes', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('sends an append that got no answer again with the same message id, long before the request timeout, and stores it once', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const shard = new FakeShard();
      // A request timeout far longer than anyone waits: the append must not depend on it.
      const writer = writerOn(shard, { timeoutMs: 600_000 });
      await writer.init();
      // The new leader was announced before this append was sent, and its first copy reaches the leader before,
      // which drops it; the second is stored but its answer is lost; the third is answered as a duplicate.
      writer.leaderElected();
      shard.unanswered = ['dropped', 'stored'];
      const { results, done } = append(writer, 'A');
      await vi.advanceTimersByTimeAsync(10_000);
      expect(shard.sent).toHaveLength(3);
      await done;
      expect(results[0]).toEqual({ ok: true, shardId: 'shardId-000000000000', sequenceNumber: formatPosition(shardPrefix(0), positionOf(1, 0)), duplicate: false });
      expect(shard.stored).toHaveLength(1);
      expect(new Set(shard.sent.map((s) => s.msgID)).size).toBe(1);
      // The next append goes on from there.
      const next = append(writer, 'B');
      await vi.advanceTimersByTimeAsync(0);
      await next.done;
      expect(next.results[0]).toMatchObject({ ok: true, sequenceNumber: formatPosition(shardPrefix(0), positionOf(2, 0)) });
    });

    it('fails an append with a clear error once no leader answered it for 12 s', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const shard = new FakeShard();
      const writer = writerOn(shard, { timeoutMs: 5000 });
      await writer.init();
      shard.unanswered = Array.from({ length: 100 }, () => 'dropped' as const);
      const { results, done } = append(writer, 'A');
      let settled = false;
      void done.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(11_000);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(2000);
      expect(settled).toBe(true);
      await done;
      expect(results[0]).toMatchObject({ ok: false, errorCode: 'InternalFailure' });
      expect(results[0]!.ok === false && results[0]!.errorMessage).toMatch(/shard shardId-000000000000 of stream 's' had no JetStream leader that answered within 12000 ms/);
      expect(shard.stored).toHaveLength(0);
      expect(new Set(shard.sent.map((s) => s.msgID)).size).toBe(1);
    });

    it('takes the late answer to a copy sent before, from a leader slower than the pause before a copy is sent again', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      const shard = new FakeShard();
      const writer = writerOn(shard, { timeoutMs: 5000 });
      await writer.init();
      // Each copy takes the leader 3 s, one after the other: a copy sent again waits behind the one before.
      shard.slowMs = 3000;
      const { results, done } = append(writer, 'A');
      let settled = false;
      void done.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(4000);
      expect(settled).toBe(true);
      await done;
      expect(results[0]).toEqual({ ok: true, shardId: 'shardId-000000000000', sequenceNumber: formatPosition(shardPrefix(0), positionOf(1, 0)), duplicate: false });
      expect(shard.stored).toHaveLength(1);
    });
  });
});

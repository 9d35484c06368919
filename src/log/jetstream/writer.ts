/**
 * The writer of one shard in this process: appends become JetStream messages here.
 *
 * Every publish carries `Nats-Expected-Last-Sequence` = the last message this writer knows of, so a message
 * is stored only if nothing reached the shard since the writer last looked. That one check gives:
 * - exact producer dedupe across nodes for records of one shard: a node decides which records are repeats
 *   from a window that holds every message up to the expected sequence; if another node wrote meanwhile,
 *   the publish fails, the writer reads the new messages into its window, decides again and retries;
 * - a linearizable shard close: a reshard appends an end marker the same way, and a writer whose publish
 *   fails behind it finds the marker and hands its records back for routing to the children;
 * - arrival times that never go backwards within a shard.
 * Publishing waits for JetStream's ack, which comes once a quorum of the stream's replicas stored the message.
 * While a publish is in flight, later appends queue and go out together as the next message (group commit).
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import { encodeBatch, RecordCursor } from '../batch.ts';
import type { EncodableRecord } from '../batch.ts';
import { KEY_BYTES, KEY_TEXT } from '../dedupe.ts';
import type { DedupeWindow, FieldExtractor } from '../dedupe.ts';
import { formatShardId } from '../hashkey.ts';
import type { AppendResult } from '../types.ts';
import { isApiError, WRONG_LAST_SEQUENCE } from './metadata.ts';
import { isLeaderless, type ShardMessage, type ShardMessages } from './messages.ts';
import { formatPosition, positionOf, shardPrefix } from './sequence.ts';

/** Records of a job whose shard was closed by a reshard: route them again. */
export class ShardClosed extends Error {
  constructor(readonly shardId: string) {
    super(`shard ${shardId} was closed by a reshard`);
  }
}

export interface StreamDedupe {
  readonly window: DedupeWindow;
  readonly extractor: FieldExtractor | undefined;
}

/** Records of one append call bound for one shard, in the call's order. */
export interface WriteJob {
  readonly records: readonly EncodableRecord[];
  /** Where each record's result goes in `results`. */
  readonly indexes: readonly number[];
  readonly results: AppendResult[];
  readonly bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

export interface ShardCounters {
  recordsIn: number;
  bytesIn: number;
  duplicatesDropped: number;
  storedBytes: number;
}

export interface WriterOptions {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly messages: ShardMessages;
  readonly shardIndex: number;
  readonly wakeSubject: string;
  readonly now: () => number;
  readonly timeoutMs: number;
  /** Messages are filled up to about this many bytes. */
  readonly messageBytes: number;
  /**
   * Unique to this writer: message ids are `<producerId>.<n>`, and JetStream drops a message whose id it saw
   * within its duplicate window, so no two writers (even of one process, over time) may share it.
   */
  readonly producerId: string;
  readonly dedupe: StreamDedupe | undefined;
  /** The writers of the stream's other shards, caught up before a dedupe decision (keys may sit in any shard). */
  readonly siblings: () => Iterable<ShardWriter>;
  readonly counters: ShardCounters;
}

const MAX_CONFLICTS = 50;
/** How long JetStream remembers a message id, in ms: a copy of a stored message sent again within it is not stored again. */
export const DUPLICATE_WINDOW_MS = 120_000;
/**
 * How long a publish without an answer that stored it keeps being sent, in ms, at least. When a nats-server dies,
 * the streams it led have no leader until a follower campaigns, which nats-server (2.9 to 2.11, raft.go) does after a
 * random 4 to 9 s without hearing from the leader, and that is no setting of its. Failing at once would hand that
 * wait to every producer's own retry and backoff; waiting here lets the append go through as soon as there is a leader.
 * A `requestTimeoutMs` above it waits that long instead, up to half the duplicate window, so that every copy sent
 * falls within it.
 */
const LEADERLESS_WAIT_MS = 12_000;
/** Pauses between publishes while the stream has no leader, in ms; the last one repeats. */
const LEADERLESS_RETRY_MS = [20, 50, 100, 200];
/**
 * How long one copy of a publish waits for its answer before the same message (same id) is sent again, in ms; the
 * last one repeats, and none waits longer than `requestTimeoutMs`. A copy can go unanswered without any error:
 * JetStream announces a stream's new leader before that leader subscribes to the stream's subject (nats-server 2.9,
 * `processStreamLeaderChange`), so a publish sent on the announcement can still be routed to the leader before, which
 * drops it unanswered as it is no leader any more, and no later announcement comes to send it again.
 */
const RESEND_AFTER_MS = [1000, 2000, 4000];
const MAX_RECORDS_PER_MESSAGE = 100_000;
/** Loading more messages than this goes through a consumer (`ShardMessages.scan`). */
const SCAN_ABOVE = 16;

export class ShardWriter {
  /** The last message sequence whose records (and keys) this writer has accounted for; undefined before `init`. */
  lastSeq: number | undefined;
  /** The highest sequence other nodes announced for this shard. */
  announcedSeq = 0;
  lastTime = 0;
  /** The position of the newest record this writer knows of (0: none). */
  lastPosition = 0;
  /** Set once the end marker was seen. */
  closed = false;
  private queue: WriteJob[] = [];
  private running = false;
  private catching: Promise<void> | undefined;
  private initializing: Promise<void> | undefined;
  private counter = 0;
  /** Settles when the publish in flight (if any) settled. */
  private flushing: Promise<void> | undefined;
  private readonly shardId: string;
  private readonly prefix: string;
  /** Publishes waiting for an answer, told when the shard's stream elects a leader (the one they went to may be gone). */
  private readonly electionWaiters = new Set<() => void>();

  constructor(private readonly o: WriterOptions) {
    this.shardId = formatShardId(o.shardIndex);
    this.prefix = shardPrefix(o.shardIndex);
  }

  get shardIndex(): number {
    return this.o.shardIndex;
  }

  /** The JetStream stream holding this shard. */
  get jsStream(): string {
    return this.o.messages.loc.jsStream;
  }

  /** The shard's stream elected a leader: a publish sent to the one before gets no answer, so it is sent again now. */
  leaderElected(): void {
    for (const wake of this.electionWaiters) wake();
    this.electionWaiters.clear();
  }

  /** Reads the shard's state: its last message, and with dedupe every record within the window. */
  init(): Promise<void> {
    this.initializing ??= (async () => {
      try {
        await this.load();
      } catch (err) {
        this.initializing = undefined; // a later call tries again
        throw err;
      }
    })();
    return this.initializing;
  }

  private async load(): Promise<void> {
    if (this.o.dedupe) {
      const from = await this.o.messages.seqAtTime(this.o.now() - this.o.dedupe.window.windowMs);
      this.lastSeq = Math.max(this.lastSeq ?? 0, from - 1);
      // The window may span thousands of messages: streamed by a consumer, not fetched one request each.
      const { lastSeq } = await this.o.messages.state();
      if (lastSeq - this.lastSeq > SCAN_ABOVE) await this.o.messages.scan(this.lastSeq + 1, lastSeq, (m) => this.apply(m));
      await this.readNew(false);
    } else {
      this.lastSeq = this.lastSeq ?? 0;
      await this.readNew(true);
    }
  }

  /** Catches up with messages other nodes stored (one reader at a time). */
  catchUp(): Promise<void> {
    this.catching ??= (async () => {
      try {
        await this.init();
        await this.readNew(!this.o.dedupe);
      } finally {
        this.catching = undefined;
      }
    })();
    return this.catching;
  }

  private async readNew(lastOnly: boolean): Promise<void> {
    if (lastOnly) {
      const m = await this.o.messages.last();
      if (m && seqOf(m) > (this.lastSeq ?? 0)) this.apply(m);
      return;
    }
    for (;;) {
      const m = await this.o.messages.next((this.lastSeq ?? 0) + 1);
      if (!m) return;
      this.apply(m);
    }
  }

  private apply(m: ShardMessage): void {
    const seq = seqOf(m);
    this.lastSeq = Math.max(this.lastSeq ?? 0, seq);
    this.announcedSeq = Math.max(this.announcedSeq, seq);
    if (m.kind === 'end') {
      this.closed = true;
      return;
    }
    const { buf, header } = m.message;
    this.lastTime = Math.max(this.lastTime, header.maxTimestamp);
    this.lastPosition = Math.max(this.lastPosition, positionOf(seq, header.recordCount - 1));
    const dedupe = this.o.dedupe;
    if (!dedupe) return;
    const cursor = new RecordCursor();
    cursor.reset(buf, 0, header);
    const { window, extractor } = dedupe;
    let k = 0;
    while (cursor.next()) {
      const position = positionOf(seq, k++);
      let seen = -2;
      if (extractor) {
        const data = buf.subarray(cursor.dataStart, cursor.dataEnd);
        const kind = extractor.locate(data);
        if (kind === KEY_BYTES) seen = window.find(data, extractor.start, extractor.end, cursor.arrivalTime);
        else if (kind === KEY_TEXT) seen = window.findText(extractor.text, cursor.arrivalTime);
      } else if (cursor.idempotencyStart >= 0) {
        seen = window.find(buf, cursor.idempotencyStart, cursor.idempotencyEnd, cursor.arrivalTime);
      }
      if (seen === -1) window.insertFound(this.o.shardIndex, position, cursor.arrivalTime);
      // The key waits in a publish in flight (a placeholder): the stored record is the first one. If that
      // publish was this very message, the position is the same; if not, the publish fails its expected
      // sequence and decides again, and must then find the key here rather than a placeholder it forgets.
      else if (seen >= 0 && window.offsetOf(seen) < 0) window.update(seen, this.o.shardIndex, position, cursor.arrivalTime);
    }
  }

  submit(job: WriteJob): void {
    if (this.closed) {
      job.reject(new ShardClosed(this.shardId));
      return;
    }
    this.queue.push(job);
    if (!this.running) void this.run();
  }

  /** Resolves once every queued job settled. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const jobs = this.take();
        const flushing = this.flush(jobs);
        this.flushing = flushing.then(noop, noop);
        try {
          await flushing;
          for (const j of jobs) j.resolve();
        } catch (err) {
          if (err instanceof ShardClosed) {
            for (const j of [...jobs, ...this.queue.splice(0)]) j.reject(err);
            continue;
          }
          const errorMessage = `JetStream did not store the records: ${err instanceof Error ? err.message : String(err)}`;
          for (const j of jobs) {
            for (const i of j.indexes) j.results[i] = { ok: false, errorCode: 'InternalFailure', errorMessage };
            j.resolve();
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private take(): WriteJob[] {
    const jobs = [this.queue.shift()!];
    let bytes = jobs[0]!.bytes;
    let records = jobs[0]!.records.length;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (bytes + next.bytes > this.o.messageBytes || records + next.records.length > MAX_RECORDS_PER_MESSAGE) break;
      jobs.push(this.queue.shift()!);
      bytes += next.bytes;
      records += next.records.length;
    }
    return jobs;
  }

  private async flush(jobs: readonly WriteJob[]): Promise<void> {
    await this.init();
    const dedupe = this.o.dedupe;
    for (let conflicts = 0; ; conflicts++) {
      if (this.closed) throw new ShardClosed(this.shardId);
      if (dedupe) {
        // Keys may sit in any shard: every shard's window part must be loaded and current.
        for (const w of this.o.siblings()) {
          if (w === this) continue;
          await w.init();
          if (w.announcedSeq > w.lastSeq!) await w.catchUp();
        }
      }
      const now = this.o.now();
      const time = Math.max(now, this.lastTime);
      const window = dedupe?.window;
      window?.expire(now);
      const store: EncodableRecord[] = [];
      const storedAt: Array<[WriteJob, number]> = [];
      const placed: number[] = [];
      const repeats: Array<[WriteJob, number, number]> = [];
      let busySibling: ShardWriter | undefined;
      let dropped = 0;
      for (const job of jobs) {
        for (let k = 0; k < job.records.length; k++) {
          const r = job.records[k]!;
          if (window) {
            let seen = -2;
            if (dedupe.extractor) {
              const kind = dedupe.extractor.locate(r.data);
              if (kind === KEY_BYTES) seen = window.find(r.data, dedupe.extractor.start, dedupe.extractor.end, now);
              else if (kind === KEY_TEXT) seen = window.findText(dedupe.extractor.text, now);
            } else if (r.idempotencyKey !== undefined) {
              seen = window.findText(r.idempotencyKey, now);
            }
            if (seen >= 0) {
              const position = window.offsetOf(seen);
              if (position < 0 && window.shardIndexOf(seen) !== this.o.shardIndex) {
                // The key's first record is in another shard's publish still in flight: decide after it.
                busySibling = [...this.o.siblings()].find((w) => w.shardIndex === window.shardIndexOf(seen));
                continue;
              }
              if (position < 0) repeats.push([job, k, -1 - position]);
              else {
                const shardIndex = window.shardIndexOf(seen);
                job.results[job.indexes[k]!] = { ok: true, shardId: formatShardId(shardIndex), sequenceNumber: formatPosition(shardPrefix(shardIndex), position), duplicate: true };
                dropped++;
              }
              continue;
            }
            if (seen === -1) {
              const slot = window.insertFound(this.o.shardIndex, -1 - store.length, time);
              if (slot >= 0) placed.push(slot);
            }
          }
          store.push(r);
          storedAt.push([job, k]);
        }
      }
      if (busySibling) {
        forgetPlaceholders(window!, placed);
        for (const job of jobs) for (const i of job.indexes) delete job.results[i];
        await busySibling.flushing;
        continue;
      }
      if (store.length === 0) {
        this.o.counters.duplicatesDropped += dropped;
        return;
      }
      const batch = encodeBatch(store, time);
      const expected = this.lastSeq!;
      let seq: number;
      try {
        seq = await this.publish(batch, expected, `${this.o.producerId}.${++this.counter}`);
      } catch (err) {
        forgetPlaceholders(window, placed);
        for (const job of jobs) for (const i of job.indexes) delete job.results[i];
        if (isApiError(err, WRONG_LAST_SEQUENCE) && conflicts < MAX_CONFLICTS) {
          await this.catchUp();
          continue;
        }
        // The message may have been stored all the same (a lost ack): read from before it again next time,
        // so its keys reach the window and the expected sequence check sees it.
        this.lastSeq = Math.min(this.lastSeq!, expected);
        throw err;
      }
      this.lastSeq = Math.max(this.lastSeq!, seq);
      this.announcedSeq = Math.max(this.announcedSeq, seq);
      this.lastTime = time;
      this.lastPosition = Math.max(this.lastPosition, positionOf(seq, store.length - 1));
      for (let k = 0; k < storedAt.length; k++) {
        const [job, at] = storedAt[k]!;
        job.results[job.indexes[at]!] = { ok: true, shardId: this.shardId, sequenceNumber: formatPosition(this.prefix, positionOf(seq, k)), duplicate: false };
      }
      for (const slot of placed) {
        const offset = window!.offsetOf(slot);
        // Already the stored position when a catch-up read this message before its ack arrived.
        if (offset < 0) window!.update(slot, this.o.shardIndex, positionOf(seq, -1 - offset), time);
      }
      for (const [job, at, k] of repeats) {
        const first = storedAt[k]!;
        const r = first[0].results[first[0].indexes[first[1]]!]!;
        job.results[job.indexes[at]!] = r.ok ? { ...r, duplicate: true } : r;
      }
      this.o.counters.duplicatesDropped += dropped + repeats.length;
      this.o.counters.recordsIn += store.length;
      this.o.counters.bytesIn += batch.length;
      this.o.nc.publish(this.o.wakeSubject, String(seq));
      return;
    }
  }

  /**
   * Publishes one message, sent again with the same message id (so it is stored once) until an answer says where it
   * is stored: at once when the shard's stream elects a leader (the one it went to answers no more), after
   * `RESEND_AFTER_MS` without an answer, and every 20 to 200 ms while the stream has no leader (nothing stored).
   * Every copy's answer counts, the first that says where the message is wins: a copy sent again does not make a
   * slow answer to an earlier one wasted. Throws SHARD_UNAVAILABLE once no answer came for `LEADERLESS_WAIT_MS`
   * (or `timeoutMs`, if longer).
   */
  private async publish(batch: Uint8Array, expectedLastSeq: number, msgID: string): Promise<number> {
    const started = performance.now();
    const giveUpAfter = Math.min(Math.max(this.o.timeoutMs, LEADERLESS_WAIT_MS), DUPLICATE_WINDOW_MS / 2);
    const answers: Array<{ ack: PubAck } | { err: unknown }> = [];
    let arrived = noop;
    let sends = 0;
    let leaderless = 0;
    let lastProblem = 'no answer';
    for (;;) {
      const left = started + giveUpAfter - performance.now();
      if (sends > 0 && left <= 0) {
        const { stream, shardId, jsStream } = this.o.messages.loc;
        throw new TollstreamError('SHARD_UNAVAILABLE', `shard ${shardId} of stream '${stream}' had no JetStream leader that answered within ${giveUpAfter} ms (${sends} sends, the last: ${lastProblem}); the records may or may not be stored`, {
          context: { stream, shardId, jsStream, waitedMs: Math.round(performance.now() - started), sends },
        });
      }
      const copyTimeout = Math.max(1, sends > 0 ? left : giveUpAfter);
      this.o.js.publish(this.o.messages.loc.subject, batch, { msgID, expect: { lastSequence: expectedLastSeq }, timeout: copyTimeout }).then(
        (ack) => (answers.push({ ack }), arrived()),
        (err: unknown) => (answers.push({ err }), arrived()),
      );
      const wait = Math.min(this.o.timeoutMs, RESEND_AFTER_MS[Math.min(sends, RESEND_AFTER_MS.length - 1)]!, copyTimeout);
      sends++;
      // Until an answer, the stream's next leader, or the time to send a copy again.
      let timer: ReturnType<typeof setTimeout> | undefined;
      let wake = noop;
      let elected = false;
      const woken = new Promise<void>((resolve) => {
        wake = () => {
          elected = true;
          resolve();
        };
        arrived = resolve;
        timer = setTimeout(resolve, wait);
      });
      this.electionWaiters.add(wake);
      if (answers.length === 0) await woken;
      clearTimeout(timer);
      this.electionWaiters.delete(wake);
      arrived = noop;
      if (answers.length === 0) {
        lastProblem = elected ? 'a new leader was elected' : `no answer within ${wait} ms`;
        continue;
      }
      let again = false;
      for (const answer of answers.splice(0)) {
        if ('ack' in answer) {
          // A copy sent again while the first is still being stored is answered as a duplicate without its sequence
          // (nats-server before 2.11 answers 0): ask again once it is stored.
          if (!(answer.ack.duplicate && !(answer.ack.seq > 0))) return answer.ack.seq;
          lastProblem = 'a duplicate still being stored';
          again = true;
          continue;
        }
        const err = answer.err;
        if (err instanceof natsErrors.TimeoutError) {
          lastProblem = 'no answer';
          again = true;
        } else if (isLeaderless(err)) {
          lastProblem = 'no leader';
          again = true;
        } else {
          throw err;
        }
      }
      if (again) await new Promise((r) => setTimeout(r, LEADERLESS_RETRY_MS[Math.min(leaderless++, LEADERLESS_RETRY_MS.length - 1)]));
    }
  }
}

const noop = (): void => undefined;

/** Forgets the keys a failed publish was to store, except those a catch-up found stored meanwhile. */
function forgetPlaceholders(window: DedupeWindow | undefined, slots: readonly number[]): void {
  if (!window) return;
  for (const slot of slots) if (window.offsetOf(slot) < 0) window.forget(slot);
}

function seqOf(m: ShardMessage): number {
  return m.kind === 'end' ? m.seq : m.message.seq;
}

/**
 * One shard's JetStream stream as the log sees it: messages that each hold a batch of records (the embedded
 * log's batch framing, `src/log/batch.ts`), and at most one end marker written when a reshard closes the
 * shard. Reads go through the stream leader's message API (`STREAM.MSG.GET`), so a record is readable from
 * any node as soon as its append was acknowledged.
 */
import { JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { errors as natsErrors, headers } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import { TollstreamError } from '../../core/errors.ts';
import { checkBatch } from '../batch.ts';
import type { BatchHeader } from '../batch.ts';

/** The header of the end marker; its value is the position of the shard's last record (0 when none). */
export const END_HEADER = 'Tollstream-Shard-End';

export interface ShardLocation {
  readonly stream: string;
  readonly shardId: string;
  /** The JetStream stream of the shard. */
  readonly jsStream: string;
  readonly subject: string;
}

/** A data message, checked and ready to walk with a RecordCursor. */
export interface BatchMessage {
  readonly seq: number;
  readonly buf: Buffer;
  readonly header: BatchHeader;
}

export type ShardMessage = { readonly kind: 'batch'; readonly message: BatchMessage } | { readonly kind: 'end'; readonly seq: number; readonly endPosition: number };

export function endMarkerHeaders(endPosition: number): MsgHdrs {
  const h = headers();
  h.set(END_HEADER, String(endPosition));
  return h;
}

/** What `toShardMessage` needs of a message, whether fetched by sequence or delivered by a consumer. */
interface RawMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly endHeader: string | undefined;
}

function fromStored(m: StoredMsg): RawMessage {
  return { seq: m.seq, data: m.data, endHeader: m.header.get(END_HEADER) || undefined };
}

export function toShardMessage(loc: ShardLocation, m: RawMessage): ShardMessage {
  const end = m.endHeader;
  if (end) return { kind: 'end', seq: m.seq, endPosition: Number(end) };
  const data = m.data;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const check = checkBatch(buf, 0, buf.length, false);
  if (!check.ok) {
    throw new TollstreamError('LOG_CORRUPT', `message ${m.seq} of shard ${loc.shardId} of stream ${loc.stream} is not a batch: ${check.detail}`, {
      context: { stream: loc.stream, shardId: loc.shardId, messageSeq: m.seq },
    });
  }
  return { kind: 'batch', message: { seq: m.seq, buf, header: check.header } };
}

/** JetStream's answer while a stream's replicas or the meta group are between leaders. */
const STREAM_NOT_FOUND = 10059;
const TEMPORARILY_UNAVAILABLE = 10008;
const RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1000, 1500];
/** Messages a scan asks its consumer for at once. */
const SCAN_BATCH = 256;

/**
 * Whether a request to a stream met no responders: nothing serves the stream's subject, which for a stream that
 * exists means its replicas are between leaders (the client calls it `JetStreamNotEnabled`, a class it does not export).
 * Nothing was stored, so the same message may be sent again.
 */
export function isLeaderless(err: unknown): boolean {
  return err instanceof Error && err.name === 'JetStreamNotEnabled';
}

/**
 * Runs a read, again after errors a failover causes for a few seconds (a restarted server that has not caught
 * up says the stream does not exist; a stream without a leader does not answer): the caller knows the stream
 * exists from its metadata.
 */
export async function withFailoverRetry<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const transient =
        err instanceof natsErrors.TimeoutError ||
        isLeaderless(err) ||
        (err instanceof JetStreamApiError && (err.code === STREAM_NOT_FOUND || err.code === TEMPORARILY_UNAVAILABLE));
      if (!transient || attempt >= RETRY_DELAYS_MS.length) throw err;
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
    }
  }
}

export class ShardMessages {
  constructor(
    private readonly jsm: JetStreamManager,
    readonly loc: ShardLocation,
  ) {}

  /** The first message at or after `seq`, or undefined when there is none. */
  async next(seq: number): Promise<ShardMessage | undefined> {
    const m = await withFailoverRetry(() => this.jsm.streams.getMessage(this.loc.jsStream, { seq: Math.max(seq, 1), next_by_subj: this.loc.subject } as never));
    return m ? toShardMessage(this.loc, fromStored(m)) : undefined;
  }

  async last(): Promise<ShardMessage | undefined> {
    const m = await withFailoverRetry(() => this.jsm.streams.getMessage(this.loc.jsStream, { last_by_subj: this.loc.subject }));
    return m ? toShardMessage(this.loc, fromStored(m)) : undefined;
  }

  /**
   * Visits every message from `from` to `to` in order, streamed by an ordered consumer in batches rather than
   * fetched one request each: what loading a dedupe window reads (an hour of a busy shard is thousands of
   * messages). Messages removed meanwhile by retention are skipped.
   */
  async scan(from: number, to: number, visit: (m: ShardMessage) => void): Promise<void> {
    const consumer = await withFailoverRetry(() => this.jsm.jetstream().consumers.get(this.loc.jsStream, { opt_start_seq: Math.max(from, 1), filter_subjects: this.loc.subject }));
    try {
      let next = Math.max(from, 1);
      while (next <= to) {
        const batch = await consumer.fetch({ max_messages: Math.min(SCAN_BATCH, to - next + 1), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          visit(toShardMessage(this.loc, { seq: m.seq, data: m.data, endHeader: m.headers?.get(END_HEADER) || undefined }));
          next = m.seq + 1;
          if (m.seq >= to) break;
        }
        if (got === 0) return;
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
  }

  /** The stream sequences of the oldest and newest messages held (0, lastSeq when empty), and the bytes held. */
  async state(): Promise<{ firstSeq: number; lastSeq: number; messages: number; bytes: number }> {
    const info = await withFailoverRetry(() => this.jsm.streams.info(this.loc.jsStream));
    return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, messages: info.state.messages, bytes: info.state.bytes };
  }

  /**
   * The sequence of the first message whose records arrived at or after `time` (one past the last message
   * when none did): a binary search over the batches' arrival times, which grow along the shard.
   */
  async seqAtTime(time: number): Promise<number> {
    const { firstSeq, lastSeq } = await this.state();
    let lo = Math.max(firstSeq, 1);
    let hi = lastSeq;
    let answer = lastSeq + 1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.next(mid);
      if (!m || (m.kind === 'batch' ? m.message.seq : m.seq) > hi) {
        hi = mid - 1;
        continue;
      }
      if (m.kind === 'end' || m.message.header.firstTimestamp >= time) {
        answer = m.kind === 'end' ? m.seq : m.message.seq;
        hi = mid - 1;
      } else {
        lo = m.message.seq + 1;
      }
    }
    return answer;
  }
}

/**
 * `GET /v1/streams/{name}/tail`: Server-Sent Events, one event per record, following every shard of the
 * stream and, after a reshard, the children once all their parents are read to the end. The client's
 * disconnect (or the gateway closing) aborts every subscription.
 */
import type { Logger } from '../../core/logger.ts';
import { TollstreamError, toTollstreamError } from '../../core/errors.ts';
import { deaggregate, isKplAggregate, type ShardDescription, type StartPosition, type StoredRecord, type StreamLog } from '../../log/index.ts';
import { asResponse, writeChunk, type Request, type Response } from '../http.ts';

/** A comment line keeps idle connections (and proxies) open and lets a dead client be noticed. */
const HEARTBEAT_MS = 15_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a tail starts: the newest, the oldest, a time, or (in one shard) a sequence number. */
export type TailStart =
  | { readonly type: 'LATEST' | 'TRIM_HORIZON' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

/** Which records a tail shows; every one set must hold. */
export interface TailFilter {
  /** Only this shard (and, after a reshard, its children). Required with AT_SEQUENCE_NUMBER. */
  readonly shardId?: string;
  /** Only records with exactly this partition key. */
  readonly partitionKey?: string;
  /** Only JSON records whose top-level `field` has this value (compared as text: `2` matches 2 and "2"). */
  readonly field?: { readonly name: string; readonly value: string };
}

export interface TailOptions {
  readonly log: StreamLog;
  readonly logger: Logger;
  readonly stream: string;
  readonly from: TailStart;
  readonly filter?: TailFilter;
  /** Aborted when the gateway closes. */
  readonly shutdown: AbortSignal;
}

/** Answers a tail request until the client disconnects. Throws (before any byte is sent) if the stream does not exist. */
export async function tail(req: Request, res: Response, options: TailOptions): Promise<void> {
  const { log, stream, from } = options;
  const filter = options.filter ?? {};
  const description = await log.describeStream(stream);
  if (filter.shardId !== undefined && !description.shards.some((s) => s.shardId === filter.shardId)) {
    throw new TollstreamError('SHARD_NOT_FOUND', `stream '${stream}' has no shard '${filter.shardId}'`, { context: { stream, shardId: filter.shardId } });
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  if (options.shutdown.aborted) return;
  options.shutdown.addEventListener('abort', stop, { once: true });
  // The response's 'close' means the client is gone (the request's fires once its empty body is read).
  res.once('close', stop);

  const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  if (req.httpVersionMajor === 1) headers['x-accel-buffering'] = 'no';
  asResponse(res).writeHead(200, headers);
  await writeChunk(res, `: tailing ${stream} from ${from.type}\n\n`);
  const heartbeat = setInterval(() => void writeChunk(res, ': keepalive\n\n'), HEARTBEAT_MS);

  const started = new Set<string>();
  const finished = new Set<string>();
  // Shards whose end must be seen before their children start. From the oldest or a time every described shard
  // is read; with LATEST only the open ones, so closed parents do not hold their children back.
  const fromThePast = from.type === 'TRIM_HORIZON' || from.type === 'AT_TIMESTAMP';
  const expected = new Set<string>(fromThePast ? description.shards.map((s) => s.shardId) : []);
  // Children of a shard read from a time start at that time too; otherwise from their beginning.
  const childStart: StartPosition = from.type === 'AT_TIMESTAMP' ? from : { type: 'TRIM_HORIZON' };
  const running = new Set<Promise<void>>();

  const start = (shardId: string, position: StartPosition) => {
    started.add(shardId);
    expected.add(shardId);
    const run = follow(shardId, position).finally(() => running.delete(run));
    running.add(run);
  };

  const follow = async (shardId: string, position: StartPosition): Promise<void> => {
    const subscription = log.subscribe(stream, shardId, position, { signal: abort.signal });
    try {
      for await (const batch of subscription) {
        if (batch.records.length > 0) {
          const events = recordEvents(shardId, batch.records, filter);
          if (events !== '') await writeChunk(res, events);
        }
        if (batch.next === null) {
          finished.add(shardId);
          await startChildren(batch.childShardIds ?? []);
          return;
        }
        if (abort.signal.aborted) return;
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      const error = toTollstreamError(err);
      options.logger.warn('tail stopped', { stream, shardId, err: error });
      await writeChunk(res, `event: error\ndata: ${JSON.stringify(error.toJSON())}\n\n`);
      stop();
    } finally {
      subscription.close();
    }
  };

  const startChildren = async (childIds: readonly string[]) => {
    if (childIds.length === 0 || abort.signal.aborted) return;
    const shards = (await log.describeStream(stream)).shards;
    for (const child of shards) {
      if (!childIds.includes(child.shardId) || started.has(child.shardId)) continue;
      if (parentsDone(child)) start(child.shardId, childStart);
    }
  };
  const parentsDone = (shard: ShardDescription) => shard.parentShardIds.every((p) => finished.has(p) || !expected.has(p));

  const present = new Set(description.shards.map((s) => s.shardId));
  if (filter.shardId !== undefined) {
    // One shard: from where asked, whatever its parents; its children follow once it ends.
    start(filter.shardId, from);
  } else {
    for (const shard of description.shards) {
      if (from.type === 'LATEST') {
        if (shard.endingSequenceNumber === undefined) start(shard.shardId, { type: 'LATEST' });
      } else if (shard.parentShardIds.every((p) => !present.has(p))) {
        start(shard.shardId, from);
      }
    }
  }

  await new Promise<void>((resolve) => {
    if (abort.signal.aborted) resolve();
    else abort.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(heartbeat);
  options.shutdown.removeEventListener('abort', stop);
  await Promise.allSettled([...running]);
  const r = asResponse(res);
  if (!r.writableEnded && !r.destroyed) r.end();
}

function recordEvents(shardId: string, records: readonly StoredRecord[], filter: TailFilter): string {
  let out = '';
  // One record (or KPL user record) through the filters, as one event.
  const emit = (r: StoredRecord, extra: string) => {
    if (filter.partitionKey !== undefined && r.partitionKey !== filter.partitionKey) return;
    const parsed = parseJson(r.data);
    if (filter.field !== undefined && !fieldMatches(parsed, filter.field)) return;
    out += recordEvent(shardId, r, extra, parsed === NOT_JSON ? base64Json(r.data) : JSON.stringify(parsed));
  };
  for (const r of records) {
    if (!isKplAggregate(r.data)) {
      emit(r, '');
      continue;
    }
    // A KPL aggregate: one event per user record, or one naming the aggregate as malformed (with its bytes).
    const expanded = deaggregate(r);
    if (expanded.ok) {
      for (const u of expanded.records) emit(u, `,"subSequenceNumber":${u.subSequenceNumber}`);
    } else if (filter.partitionKey === undefined && filter.field === undefined) {
      out += recordEvent(shardId, r, `,"error":${JSON.stringify(`malformed KPL aggregated record: ${expanded.reason}`)}`, base64Json(r.data));
    }
  }
  return out;
}

const NOT_JSON = Symbol('not JSON');

/** The record's data parsed, if it is UTF-8 JSON. */
function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(data));
  } catch {
    return NOT_JSON;
  }
}

function fieldMatches(parsed: unknown, field: { readonly name: string; readonly value: string }): boolean {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
  const value = (parsed as Record<string, unknown>)[field.name];
  return value !== undefined && value !== null && typeof value !== 'object' && String(value) === field.value;
}

function recordEvent(shardId: string, r: StoredRecord, extra: string, data: string): string {
  const id = r.subSequenceNumber === undefined ? `${shardId}:${r.sequenceNumber}` : `${shardId}:${r.sequenceNumber}:${r.subSequenceNumber}`;
  return `event: record\nid: ${id}\ndata: {"shardId":${JSON.stringify(shardId)},"sequenceNumber":"${r.sequenceNumber}"${extra},"partitionKey":${JSON.stringify(r.partitionKey)},"arrivalTime":${r.arrivalTime},"data":${data}}\n\n`;
}

function base64Json(data: Uint8Array): string {
  return JSON.stringify({ base64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') });
}



/**
 * `GET /v1/streams/{name}/tail`: Server-Sent Events, one event per record, following every shard of the
 * stream and, after a reshard, the children once all their parents are read to the end. The client's
 * disconnect (or the gateway closing) aborts every subscription.
 */
import type { Logger } from '../../core/logger.ts';
import { toTollstreamError } from '../../core/errors.ts';
import { deaggregate, isKplAggregate, type ShardDescription, type StartPosition, type StoredRecord, type StreamLog } from '../../log/index.ts';
import { asResponse, writeChunk, type Request, type Response } from '../http.ts';

/** A comment line keeps idle connections (and proxies) open and lets a dead client be noticed. */
const HEARTBEAT_MS = 15_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface TailOptions {
  readonly log: StreamLog;
  readonly logger: Logger;
  readonly stream: string;
  readonly from: 'LATEST' | 'TRIM_HORIZON';
  /** Aborted when the gateway closes. */
  readonly shutdown: AbortSignal;
}

/** Answers a tail request until the client disconnects. Throws (before any byte is sent) if the stream does not exist. */
export async function tail(req: Request, res: Response, options: TailOptions): Promise<void> {
  const { log, stream, from } = options;
  const description = await log.describeStream(stream);
  const abort = new AbortController();
  const stop = () => abort.abort();
  if (options.shutdown.aborted) return;
  options.shutdown.addEventListener('abort', stop, { once: true });
  // The response's 'close' means the client is gone (the request's fires once its empty body is read).
  res.once('close', stop);

  const headers: Record<string, string> = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  if (req.httpVersionMajor === 1) headers['x-accel-buffering'] = 'no';
  asResponse(res).writeHead(200, headers);
  await writeChunk(res, `: tailing ${stream} from ${from}\n\n`);
  const heartbeat = setInterval(() => void writeChunk(res, ': keepalive\n\n'), HEARTBEAT_MS);

  const started = new Set<string>();
  const finished = new Set<string>();
  // Shards whose end must be seen before their children start. With TRIM_HORIZON every described shard is
  // read; with LATEST only the open ones, so closed parents do not hold their children back.
  const expected = new Set<string>(from === 'TRIM_HORIZON' ? description.shards.map((s) => s.shardId) : []);
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
        if (batch.records.length > 0) await writeChunk(res, recordEvents(shardId, batch.records));
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
      if (parentsDone(child)) start(child.shardId, { type: 'TRIM_HORIZON' });
    }
  };
  const parentsDone = (shard: ShardDescription) => shard.parentShardIds.every((p) => finished.has(p) || !expected.has(p));

  const present = new Set(description.shards.map((s) => s.shardId));
  for (const shard of description.shards) {
    if (from === 'LATEST') {
      if (shard.endingSequenceNumber === undefined) start(shard.shardId, { type: 'LATEST' });
    } else if (shard.parentShardIds.every((p) => !present.has(p))) {
      start(shard.shardId, { type: 'TRIM_HORIZON' });
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

function recordEvents(shardId: string, records: readonly StoredRecord[]): string {
  let out = '';
  for (const r of records) {
    if (!isKplAggregate(r.data)) {
      out += recordEvent(shardId, r, '', dataJson(r.data));
      continue;
    }
    // A KPL aggregate: one event per user record, or one naming the aggregate as malformed (with its bytes).
    const expanded = deaggregate(r);
    if (expanded.ok) for (const u of expanded.records) out += recordEvent(shardId, u, `,"subSequenceNumber":${u.subSequenceNumber}`, dataJson(u.data));
    else out += recordEvent(shardId, r, `,"error":${JSON.stringify(`malformed KPL aggregated record: ${expanded.reason}`)}`, base64Json(r.data));
  }
  return out;
}

function recordEvent(shardId: string, r: StoredRecord, extra: string, data: string): string {
  const id = r.subSequenceNumber === undefined ? `${shardId}:${r.sequenceNumber}` : `${shardId}:${r.sequenceNumber}:${r.subSequenceNumber}`;
  return `event: record\nid: ${id}\ndata: {"shardId":${JSON.stringify(shardId)},"sequenceNumber":"${r.sequenceNumber}"${extra},"partitionKey":${JSON.stringify(r.partitionKey)},"arrivalTime":${r.arrivalTime},"data":${data}}\n\n`;
}

function base64Json(data: Uint8Array): string {
  return JSON.stringify({ base64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') });
}

/** The record as JSON if it is UTF-8 JSON (re-serialized, so it fits on one SSE line), else its base64. */
function dataJson(data: Uint8Array): string {
  try {
    return JSON.stringify(JSON.parse(utf8.decode(data)));
  } catch {
    return base64Json(data);
  }
}

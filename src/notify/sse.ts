/**
 * Server-Sent Events onto a Node response: HTTP/1.1 `ServerResponse`, HTTP/2 compatibility
 * `Http2ServerResponse`, or a raw `ServerHttp2Stream`. Each write that fills the socket buffer waits for
 * `drain` (a slow client slows the source instead of growing memory), idle connections get a comment
 * every `keepAliveMs` so proxies keep them open, and a client disconnect aborts the source's signal.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import type { InboxEntry } from './types.ts';

export interface SseEvent {
  /** Sent as `id:`; the browser returns the last one as `Last-Event-ID` when it reconnects. */
  readonly id?: string | number;
  /** Sent as `event:`; listeners subscribe by this name. Omitted means `message`. */
  readonly event?: string;
  /** The payload; newlines are split into several `data:` lines as the format requires. */
  readonly data: string;
}

export type SseTarget = ServerResponse | Http2ServerResponse | ServerHttp2Stream;

export interface SseOptions {
  /** A comment line is written after this long without an event, in ms. @default 15000 */
  readonly keepAliveMs?: number;
  /** Sent once as `retry:`, the client's reconnect delay in ms. @default not sent */
  readonly retryMs?: number;
  /** Stops the stream from the server side (shutdown). */
  readonly signal?: AbortSignal;
  /** Extra response headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Writes the head and then every event of `source(signal)` until the source ends, the client disconnects
 * or `options.signal` aborts; `signal` is aborted in the last two cases, so the source should stop on it.
 * Resolves once the response is finished or torn down.
 */
export async function writeSse(target: SseTarget, source: (signal: AbortSignal) => AsyncIterable<SseEvent>, options: SseOptions = {}): Promise<void> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const signal = controller.signal;
  options.signal?.addEventListener('abort', abort, { once: true });
  target.on('close', abort);
  target.on('error', abort);
  if (options.signal?.aborted || isGone(target)) abort();

  const headers = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    ...options.headers,
  };
  let waitingForDrain = false;
  // The three target types share this surface, but their `write` overloads do not unify in TypeScript.
  const sink = target as unknown as { write(chunk: string): boolean };
  const write = (chunk: string): boolean => (isGone(target) ? true : sink.write(chunk));
  const drained = () =>
    new Promise<void>((resolve) => {
      waitingForDrain = true;
      const done = () => {
        waitingForDrain = false;
        target.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      target.on('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });

  let lastWrite = Date.now();
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const keepAlive = setInterval(() => {
    if (signal.aborted || waitingForDrain || Date.now() - lastWrite < keepAliveMs) return;
    lastWrite = Date.now();
    write(': keep-alive\n\n');
  }, Math.max(1, Math.floor(keepAliveMs / 2)));

  try {
    if (signal.aborted) return;
    if (isStream(target)) target.respond({ ':status': 200, ...headers });
    else {
      target.writeHead(200, headers);
      if ('flushHeaders' in target) target.flushHeaders();
    }
    // An opening comment gets the head and first bytes through buffering proxies right away.
    if (!write(options.retryMs !== undefined ? `retry: ${options.retryMs}\n\n` : ': connected\n\n')) await drained();
    for await (const event of source(signal)) {
      if (signal.aborted) break;
      lastWrite = Date.now();
      if (!write(formatSseEvent(event))) await drained();
    }
  } finally {
    clearInterval(keepAlive);
    options.signal?.removeEventListener('abort', abort);
    target.off('close', abort);
    target.off('error', abort);
    if (!isGone(target)) target.end();
  }
}

export function formatSseEvent(event: SseEvent): string {
  let frame = '';
  if (event.id !== undefined) frame += `id: ${singleLine(String(event.id))}\n`;
  if (event.event !== undefined) frame += `event: ${singleLine(event.event)}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return frame + '\n';
}

/** Inbox entries as SSE events: id = entry id (for Last-Event-ID resume), event `notification`, data = the entry as JSON. */
export async function* inboxToSse(entries: AsyncIterable<InboxEntry>): AsyncIterable<SseEvent> {
  for await (const entry of entries) yield { id: entry.id, event: 'notification', data: JSON.stringify(entry) };
}

/** The `Last-Event-ID` a reconnecting client sent (header, or `lastEventId` query parameter for clients that cannot set headers). */
export function lastEventIdOf(headers: IncomingHttpHeaders, url?: string): string | undefined {
  const header = headers['last-event-id'];
  if (typeof header === 'string' && header !== '') return header;
  if (url) return new URL(url, 'http://localhost').searchParams.get('lastEventId') ?? undefined;
  return undefined;
}

function singleLine(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}

function isStream(target: SseTarget): target is ServerHttp2Stream {
  return typeof (target as ServerHttp2Stream).respond === 'function';
}

function isGone(target: SseTarget): boolean {
  return target.destroyed || target.writableEnded;
}

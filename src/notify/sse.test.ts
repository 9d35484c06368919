import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, constants as http2Constants, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSseEvent, inboxToSse, lastEventIdOf, writeSse, type SseEvent } from './index.ts';
import { openFixture, waitFor, type NotifyFixture } from './test-helpers.ts';

let f: NotifyFixture | undefined;
let server: Server | undefined;

afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server?.close(r));
  }
  await f?.close();
  server = undefined;
  f = undefined;
});

interface Frame {
  id?: string;
  event?: string;
  data: string;
}

/** Reads SSE frames from a fetch body until `until` is satisfied; returns frames and comment lines. */
async function readFrames(body: ReadableStream<Uint8Array>, until: (frames: Frame[], comments: string[]) => boolean) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  const comments: string[] = [];
  let buffer = '';
  while (!until(frames, comments)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: Frame = { data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line);
        else if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) frames.push({ ...frame, data: data.join('\n') });
    }
  }
  reader.releaseLock();
  return { frames, comments };
}

describe('SSE', () => {
  it('streams the inbox to fetch, resumes by Last-Event-ID, keeps alive, and stops on disconnect', async () => {
    const fixture = openFixture();
    f = fixture;
    fixture.notify.createTopic('alerts', { kind: 'inbox' });
    fixture.notify.start();
    for (let i = 1; i <= 3; i++) fixture.notify.publish('alerts', { customer_id: 'c-1', n: i }, { idempotencyKey: `k-${i}` });
    await waitFor('three entries', () => fixture.notify.listInbox('c-1').length === 3);
    const firstId = fixture.notify.listInbox('c-1')[0]?.id;

    const handlersDone: Promise<void>[] = [];
    server = createServer((req, res) => {
      const lastEventId = lastEventIdOf(req.headers, req.url);
      handlersDone.push(
        writeSse(res, (signal) => inboxToSse(fixture.notify.inboxEvents('c-1', { lastEventId, signal })), { keepAliveMs: 20 }),
      );
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;

    const client = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/inbox/c-1/events`, {
      headers: { 'last-event-id': String(firstId) },
      signal: client.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const body = response.body as ReadableStream<Uint8Array>;

    const replay = await readFrames(body, (frames) => frames.length === 2);
    expect(replay.frames.map((x) => [x.event, JSON.parse(x.data).message.n])).toEqual([
      ['notification', 2],
      ['notification', 3],
    ]);
    fixture.notify.publish('alerts', { customer_id: 'c-1', n: 4 }, { idempotencyKey: 'k-4' });
    const live = await readFrames(body, (frames, comments) => frames.length === 1 && comments.includes(': keep-alive'));
    expect(JSON.parse(live.frames[0]?.data ?? '{}').message.n).toBe(4);
    expect(Number(live.frames[0]?.id)).toBeGreaterThan(Number(replay.frames[1]?.id));

    client.abort();
    // The handler finishes by itself once the client is gone: the feed saw the abort.
    await Promise.all(handlersDone);
  });

  it('does not write past a full socket buffer until it drains', async () => {
    class SlowResponse extends EventEmitter {
      chunks: string[] = [];
      destroyed = false;
      writableEnded = false;
      full = false;
      writeHead() {
        return this;
      }
      flushHeaders() {}
      write(chunk: string) {
        this.chunks.push(chunk);
        return !this.full;
      }
      end() {
        this.writableEnded = true;
        this.emit('close');
      }
    }
    const target = new SlowResponse();
    let pulled = 0;
    async function* source(): AsyncIterable<SseEvent> {
      for (let i = 1; i <= 3; i++) {
        pulled = i;
        yield { id: i, data: `event ${i}` };
      }
    }
    target.full = true;
    const done = writeSse(target as unknown as ServerResponse, source, { keepAliveMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    // The opening comment filled the buffer: nothing was pulled from the source yet.
    expect(pulled).toBe(0);
    target.full = false;
    target.emit('drain');
    await done;
    expect(pulled).toBe(3);
    expect(target.chunks.slice(1)).toEqual(['id: 1\ndata: event 1\n\n', 'id: 2\ndata: event 2\n\n', 'id: 3\ndata: event 3\n\n']);
    expect(target.writableEnded).toBe(true);
  });

  it('streams over a raw HTTP/2 stream and stops when the client cancels it', async () => {
    const h2 = createHttp2Server();
    const handlerDone = new Promise<void>((resolve) => {
      h2.on('stream', (stream) => {
        async function* ticks(signal: AbortSignal): AsyncIterable<SseEvent> {
          for (let i = 1; !signal.aborted; i++) {
            yield { id: i, data: `tick ${i}` };
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        void writeSse(stream, ticks, { keepAliveMs: 60_000 }).then(resolve);
      });
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const { port } = h2.address() as AddressInfo;
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const request = session.request({ ':path': '/events' });
      const status = await new Promise<unknown>((r) => request.once('response', (headers) => r(headers[':status'])));
      expect(status).toBe(200);
      let text = '';
      request.setEncoding('utf8');
      await new Promise<void>((resolve) =>
        request.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('data: tick 3')) resolve();
        }),
      );
      expect(text).toContain('id: 1\ndata: tick 1\n\n');
      request.close(http2Constants.NGHTTP2_CANCEL);
      await handlerDone;
    } finally {
      session.destroy();
      await new Promise((r) => h2.close(r));
    }
  });

  it('formats multi-line data as several data lines and keeps ids on one line', () => {
    expect(formatSseEvent({ id: 'a\nb', event: 'x', data: 'one\ntwo' })).toBe('id: a b\nevent: x\ndata: one\ndata: two\n\n');
  });
});

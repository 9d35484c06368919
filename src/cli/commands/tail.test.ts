import { describe, expect, it } from 'vitest';
import { serverSentEvents, type ServerSentEvent } from './tail.ts';

function streamOf(chunks: readonly string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function collect(chunks: readonly string[]): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  for await (const e of serverSentEvents(streamOf(chunks))) events.push(e);
  return events;
}

describe('server-sent events', () => {
  it('yields each event with its type, id and data, whatever the chunk boundaries', async () => {
    const text = ': hello\n\nevent: record\nid: shard-1:001\ndata: {"a":1}\n\nevent: record\r\nid: shard-1:002\r\ndata: {"a":2}\r\n\r\n';
    const whole = await collect([text]);
    expect(whole).toEqual([
      { type: 'record', id: 'shard-1:001', data: '{"a":1}' },
      { type: 'record', id: 'shard-1:002', data: '{"a":2}' },
    ]);
    const byteByByte = await collect([...text]);
    expect(byteByByte).toEqual(whole);
  });

  it('joins multi-line data and drops an event cut off by the end of the stream', async () => {
    expect(await collect(['data: a\ndata: b\n\ndata: never finished'])).toEqual([{ type: 'message', data: 'a\nb' }]);
  });
});

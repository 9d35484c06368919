/**
 * Server-Sent Events parsing as the HTML standard defines it, for streams read with `fetch` (which, unlike
 * `EventSource`, can send an `Authorization` header). Plain TypeScript, so the tests import it under Node.
 */

export interface SseEvent {
  /** `message` unless the event named another type. */
  readonly event: string;
  readonly data: string;
  /** The last event id seen on the stream so far (ids persist across events, as in EventSource). */
  readonly lastEventId: string;
}

/** Feed it text as it arrives, in chunks of any size; it returns the events each chunk completes. */
export class SseParser {
  private buffer = '';
  private lastCarriageReturn = false;
  private eventType = '';
  private data: string[] = [];
  private lastEventId = '';
  /** The `retry:` value last received, in ms. */
  retryMs: number | undefined;
  /** Comment lines (`: keepalive`) seen so far, without the colon; only the last 20 are kept. */
  readonly comments: string[] = [];

  push(chunk: string): SseEvent[] {
    let text = chunk;
    // A CR ending the previous chunk and an LF starting this one are one line break, not two.
    if (this.lastCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.lastCarriageReturn = text.endsWith('\r');
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end may be the first half of a CRLF split across chunks: it still ends the line.
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      if (this.comments.length > 20) this.comments.shift();
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const type = this.eventType;
    const data = this.data;
    this.eventType = '';
    this.data = [];
    if (data.length === 0) return undefined;
    return { event: type === '' ? 'message' : type, data: data.join('\n'), lastEventId: this.lastEventId };
  }
}

/**
 * Reads an event stream body to its end (or until `signal` aborts), calling `onEvent` for each event.
 * Resolves when the stream ends; rejects when reading fails, except for the abort the caller asked for.
 */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (event: SseEvent) => void, signal?: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const abort = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

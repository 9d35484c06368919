/** Reads Server-Sent Events from a fetch response, for tests of the tail endpoint. */

export interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: string;
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  /** Comment lines seen so far (`: ...`), e.g. the tail's opening line. */
  readonly comments: string[] = [];

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next event, or undefined when the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event = parseBlock(block, this.comments);
        if (event) return event;
        continue;
      }
      const { value, done } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Waits until a comment line containing `text` arrived (events before it are kept). */
  async waitForComment(text: string): Promise<void> {
    while (!this.comments.some((c) => c.includes(text))) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0 && this.buffer.startsWith(':')) {
        this.comments.push(this.buffer.slice(1, end).trim());
        this.buffer = this.buffer.slice(end + 2);
        continue;
      }
      const { value, done } = await this.reader.read();
      if (done) throw new Error(`the stream ended before the comment '${text}'`);
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string, comments: string[]): SseEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  let hasField = false;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    hasField = true;
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  return hasField ? { event, ...(id !== undefined ? { id } : {}), data: data.join('\n') } : undefined;
}

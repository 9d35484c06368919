import { TollstreamError } from '../../core/errors.ts';
import { NativeClient } from '../client.ts';
import { CLIENT_OPTIONS, stringFlag, UsageError, type Command } from '../command.ts';

export const tail: Command = {
  name: 'tail',
  summary: 'Follow a stream: print each record as one JSON line on stdout, until Ctrl-C.',
  args: 'STREAM',
  positionals: { min: 1, max: 1 },
  stoppable: true,
  description:
    'Each line is {"shardId","sequenceNumber","partitionKey","arrivalTime","data"}; data is the record parsed as JSON,\n' +
    'or {"base64": "..."} when it is not JSON. All shards are followed, children after parents on a reshard.\n' +
    'A KPL aggregated record is printed as its user records, each with its own partitionKey and a "subSequenceNumber";\n' +
    'one that cannot be read is one line with an "error" naming it and its bytes in base64.',
  options: {
    from: { type: 'string', value: 'POSITION', description: 'LATEST (only new records, the default) or TRIM_HORIZON (everything kept)' },
    ...CLIENT_OPTIONS,
  },
  examples: ['tollstream tail toll_transactions', "tollstream tail toll_transactions --from TRIM_HORIZON | jq '.data.amount'"],
  async run(input) {
    const { values, positionals, io } = input;
    const from = (stringFlag(values, 'from') ?? 'LATEST').toUpperCase();
    if (from !== 'LATEST' && from !== 'TRIM_HORIZON') {
      throw new UsageError(`--from must be LATEST or TRIM_HORIZON, got '${stringFlag(values, 'from')}'`, "run 'tollstream tail --help' for usage");
    }
    const abort = new AbortController();
    const onStop = () => abort.abort();
    io.signal.addEventListener('abort', onStop, { once: true });
    try {
      const body = await NativeClient.fromInput(input).tail(positionals[0]!, from, abort.signal);
      for await (const event of serverSentEvents(body)) {
        if (event.type === 'record') io.stdout.write(event.data + '\n');
      }
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    } finally {
      io.signal.removeEventListener('abort', onStop);
    }
    if (abort.signal.aborted) return 0;
    throw new TollstreamError('INTERNAL', 'the server ended the tail (was it stopped?)');
  },
};

export interface ServerSentEvent {
  readonly type: string;
  readonly id?: string;
  readonly data: string;
}

/** The event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html), enough of it for the tail. */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let type = 'message';
  let id: string | undefined;
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        if (buffer[newline] === '\r' && newline === buffer.length - 1) break; // maybe the first half of \r\n
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { type, ...(id === undefined ? {} : { id }), data: data.join('\n') };
          type = 'message';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') id = value;
      }
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

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
    from: { type: 'string', value: 'POSITION', description: 'LATEST (only new records, the default), TRIM_HORIZON (everything kept), AT_TIMESTAMP (with --at) or AT_SEQUENCE_NUMBER (with --sequence-number and --shard)' },
    at: { type: 'string', value: 'TIME', description: 'with --from AT_TIMESTAMP: ISO 8601 (2026-12-07T08:00:00Z) or ms since the epoch; alone, implies AT_TIMESTAMP' },
    'sequence-number': { type: 'string', value: 'SEQ', description: 'with --from AT_SEQUENCE_NUMBER: a sequence number of the --shard' },
    shard: { type: 'string', value: 'SHARD_ID', description: 'only this shard (and its children after a reshard)' },
    key: { type: 'string', value: 'PARTITION_KEY', description: 'only records with this partition key' },
    where: { type: 'string', value: 'FIELD=VALUE', description: "only JSON records whose top-level FIELD equals VALUE (as text: 'vehicle_class=2')" },
    ...CLIENT_OPTIONS,
  },
  examples: [
    'tollstream tail toll_transactions',
    "tollstream tail toll_transactions --from TRIM_HORIZON | jq '.data.amount'",
    'tollstream tail toll_transactions --at 2026-12-07T08:00:00Z --where plaza_id=P01',
  ],
  async run(input) {
    const { values, positionals, io } = input;
    const at = stringFlag(values, 'at');
    const from = (stringFlag(values, 'from') ?? (at !== undefined ? 'AT_TIMESTAMP' : 'LATEST')).toUpperCase();
    if (!['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP', 'AT_SEQUENCE_NUMBER'].includes(from)) {
      throw new UsageError(`--from must be LATEST, TRIM_HORIZON, AT_TIMESTAMP or AT_SEQUENCE_NUMBER, got '${stringFlag(values, 'from')}'`, "run 'tollstream tail --help' for usage");
    }
    const query: Record<string, string> = { from };
    if (from === 'AT_TIMESTAMP') {
      if (at === undefined) throw new UsageError('--from AT_TIMESTAMP needs --at TIME', "run 'tollstream tail --help' for usage");
      query.timestamp = at;
    }
    const seq = stringFlag(values, 'sequence-number');
    if (from === 'AT_SEQUENCE_NUMBER') {
      if (seq === undefined || stringFlag(values, 'shard') === undefined) throw new UsageError('--from AT_SEQUENCE_NUMBER needs --sequence-number and --shard', "run 'tollstream tail --help' for usage");
      query.sequenceNumber = seq;
    }
    const shard = stringFlag(values, 'shard');
    if (shard !== undefined) query.shard = shard;
    const key = stringFlag(values, 'key');
    if (key !== undefined) query.key = key;
    const where = stringFlag(values, 'where');
    if (where !== undefined) {
      const eq = where.indexOf('=');
      if (eq <= 0) throw new UsageError(`--where must be FIELD=VALUE, got '${where}'`, "run 'tollstream tail --help' for usage");
      query.field = where.slice(0, eq);
      query.value = where.slice(eq + 1);
    }
    const abort = new AbortController();
    const onStop = () => abort.abort();
    io.signal.addEventListener('abort', onStop, { once: true });
    try {
      const body = await NativeClient.fromInput(input).tail(positionals[0]!, query, abort.signal);
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

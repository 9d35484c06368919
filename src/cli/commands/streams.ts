import type { StreamDescription } from '../../log/index.ts';
import { NativeClient, type CreateStreamRequest } from '../client.ts';
import { CLIENT_OPTIONS, intFlag, stringFlag, type Command, type Io } from '../command.ts';
import { keyValues, table, timestamp } from '../format.ts';

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON instead of a table' } } as const;

export const streamsCreate: Command = {
  name: 'streams create',
  summary: 'Create a stream.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    shards: { type: 'string', value: 'N', description: 'number of shards (default 1)' },
    'retention-hours': { type: 'string', value: 'H', description: "hours records are kept (default the server's storage.retentionHours)" },
    'dedupe-field': { type: 'string', value: 'F', description: 'drop records whose JSON field F repeats a value seen in the last hour' },
    ...CLIENT_OPTIONS,
    ...JSON_OPTION,
  },
  examples: ['tollstream streams create plaza_events --shards 4 --retention-hours 48', 'tollstream streams create toll_transactions --shards 2 --dedupe-field transaction_id'],
  async run({ values, positionals, io }) {
    const shardCount = intFlag(values, 'shards', { min: 1, max: 1024 });
    const retentionHours = intFlag(values, 'retention-hours', { min: 1, max: 8760 });
    const dedupeField = stringFlag(values, 'dedupe-field');
    const request: CreateStreamRequest = {
      name: positionals[0]!,
      ...(shardCount === undefined ? {} : { shardCount }),
      ...(retentionHours === undefined ? {} : { retentionHours }),
      ...(dedupeField === undefined ? {} : { dedupe: { mode: 'field', field: dedupeField } }),
    };
    const description = await NativeClient.fromInput({ values, positionals, io }).createStream(request);
    if (values.json) printJson(io, description);
    else io.stdout.write(`created stream ${description.name}\n\n${describe(description)}`);
  },
};

export const streamsList: Command = {
  name: 'streams list',
  summary: 'List the streams.',
  positionals: { min: 0, max: 0 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream streams list', 'tollstream streams list --json'],
  async run(input) {
    const { streams } = await NativeClient.fromInput(input).listStreams();
    if (input.values.json) return printJson(input.io, streams);
    if (streams.length === 0) return void input.io.stdout.write('no streams\n');
    const rows = [...streams]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => [s.name, s.status, String(s.openShardCount), timestamp(s.createdAt)]);
    input.io.stdout.write(table(['NAME', 'STATUS', 'SHARDS', 'CREATED'], rows));
  },
};

export const streamsDescribe: Command = {
  name: 'streams describe',
  summary: 'Show a stream: status, retention, deduplication and shards.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream streams describe toll_transactions'],
  async run(input) {
    const description = await NativeClient.fromInput(input).describeStream(input.positionals[0]!);
    if (input.values.json) printJson(input.io, description);
    else input.io.stdout.write(describe(description));
  },
};

export const streamsDelete: Command = {
  name: 'streams delete',
  summary: 'Delete a stream and all its records.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream streams delete plaza_events'],
  async run(input) {
    const name = input.positionals[0]!;
    await NativeClient.fromInput(input).deleteStream(name);
    if (input.values.json) printJson(input.io, { deleted: name });
    else input.io.stdout.write(`deleted stream ${name}\n`);
  },
};

function describe(d: StreamDescription): string {
  const dedupe = d.dedupe
    ? `${d.dedupe.mode === 'field' ? `field ${d.dedupe.field}` : 'idempotency key'}, ${d.dedupe.windowSeconds ?? 3600} s window`
    : 'off';
  const head = keyValues([
    ['name', d.name],
    ['status', d.status],
    ['created', timestamp(d.createdAt)],
    ['retention', `${d.retentionHours} h${d.retentionBytes === undefined ? '' : `, ${d.retentionBytes} bytes per shard`}`],
    ['dedupe', dedupe],
    ['open shards', String(d.openShardCount)],
  ]);
  const rows = d.shards.map((s) => [
    s.shardId,
    s.endingSequenceNumber === undefined ? 'open' : 'closed',
    s.parentShardIds.join(',') || '-',
    `${s.hashKeyRange.startingHashKey}..${s.hashKeyRange.endingHashKey}`,
  ]);
  return `${head}\n${table(['SHARD', 'STATE', 'PARENTS', 'HASH KEY RANGE'], rows)}`;
}

function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

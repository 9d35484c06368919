import fs from 'node:fs';
import path from 'node:path';
import type { QueryInfo } from '../../queries/index.ts';
import { NativeClient } from '../client.ts';
import { CLIENT_OPTIONS, readUserFile, stringFlag, UsageError, type Command, type CommandInput } from '../command.ts';
import { keyValues, table } from '../format.ts';

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON instead of a table' } } as const;

export const queriesList: Command = {
  name: 'queries list',
  summary: 'List the continuous queries running on the server.',
  positionals: { min: 0, max: 0 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  examples: ['tollstream queries list'],
  async run(input) {
    const { queries } = await NativeClient.fromInput(input).listQueries();
    if (input.values.json) return print(input, queries);
    if (queries.length === 0) return void input.io.stdout.write('no queries\n');
    const rows = queries.map((q) => [
      q.name,
      q.state,
      q.inputs.map((i) => i.stream).join(','),
      q.outputs.map((o) => o.stream).join(','),
      q.stats.rowsInPerSecond.toFixed(0),
      q.stats.rowsOutPerSecond.toFixed(0),
      String(q.stats.lateRows),
      q.stats.watermark ?? '-',
    ]);
    input.io.stdout.write(table(['NAME', 'STATE', 'INPUT', 'OUTPUT', 'IN/S', 'OUT/S', 'LATE', 'WATERMARK'], rows));
  },
};

export const queriesCreate: Command = {
  name: 'queries create',
  summary: 'Start a continuous query on the server from a SQL file.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    sql: { type: 'string', value: 'FILE', description: "the SQL statements ('-' reads stdin)" },
    input: { type: 'string', value: 'STREAM', description: 'the stream behind a Kinesis Analytics app\'s SOURCE_SQL_STREAM_001' },
    output: { type: 'string', value: 'SQL=STREAM', description: 'write the SQL output stream SQL to the log stream STREAM (repeat with commas)' },
    'start-position': { type: 'string', value: 'POSITION', description: 'where to start reading the inputs: TRIM_HORIZON (every record kept, the default), LATEST (records from now on) or a time (2026-12-07T08:00:00Z, or ms since the epoch)' },
    ...CLIENT_OPTIONS,
    ...JSON_OPTION,
  },
  examples: [
    'tollstream queries create spend --sql customer_spend.sql',
    'tollstream queries create kda --sql app.sql --input toll_transactions --output DESTINATION_SQL_STREAM=customer_spend',
    'tollstream queries create spend-now --sql customer_spend.sql --start-position LATEST',
  ],
  async run(input) {
    const file = stringFlag(input.values, 'sql');
    if (file === undefined) throw new UsageError('queries create needs --sql FILE', "run 'tollstream queries create --help' for usage");
    const sql = file === '-' ? await readAll(input.io.stdin) : readFile(file);
    const stream = stringFlag(input.values, 'input');
    const outputs = parseOutputs(stringFlag(input.values, 'output'));
    const startPosition = stringFlag(input.values, 'start-position');
    const info = await NativeClient.fromInput(input).createQuery({
      name: input.positionals[0]!,
      sql,
      ...(stream === undefined ? {} : { input: stream }),
      ...(outputs === undefined ? {} : { outputs }),
      ...(startPosition === undefined ? {} : { startPosition }),
    });
    if (input.values.json) print(input, info);
    else input.io.stdout.write(`created query ${info.name}\n\n${describe(info)}`);
  },
};

export const queriesDescribe: Command = {
  name: 'queries describe',
  summary: 'Show a query: state, streams, rates, late rows, watermark and last checkpoint.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  async run(input) {
    const info = await NativeClient.fromInput(input).describeQuery(input.positionals[0]!);
    if (input.values.json) print(input, info);
    else input.io.stdout.write(describe(info));
  },
};

export const queriesExplain: Command = {
  name: 'queries explain',
  summary: "Print a query's physical plan.",
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS },
  async run(input) {
    const { plan } = await NativeClient.fromInput(input).explainQuery(input.positionals[0]!);
    input.io.stdout.write(plan.endsWith('\n') ? plan : plan + '\n');
  },
};

function control(action: 'stop' | 'resume', summary: string): Command {
  return {
    name: `queries ${action}`,
    summary,
    args: 'NAME',
    positionals: { min: 1, max: 1 },
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    async run(input) {
      const info = await NativeClient.fromInput(input).controlQuery(input.positionals[0]!, action);
      if (input.values.json) print(input, info);
      else input.io.stdout.write(`query ${info.name} is ${info.state}\n`);
    },
  };
}

export const queriesStop = control('stop', 'Stop a query after a last checkpoint; it stays stopped across restarts.');
export const queriesResume = control('resume', 'Resume a stopped query from its last checkpoint.');

export const queriesDrop: Command = {
  name: 'queries drop',
  summary: 'Stop a query and forget it (its output streams stay).',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS },
  async run(input) {
    await NativeClient.fromInput(input).dropQuery(input.positionals[0]!);
    input.io.stdout.write(`dropped query ${input.positionals[0]}\n`);
  },
};

function describe(q: QueryInfo): string {
  const s = q.stats;
  return keyValues([
    ['name', q.name],
    ['state', q.state + (q.error ? ` (${q.error.code}: ${q.error.message})` : '')],
    ['inputs', q.inputs.map((i) => `${i.name} <- ${i.stream}`).join(', ')],
    ['outputs', q.outputs.map((o) => `${o.name} -> ${o.stream}`).join(', ')],
    ['error stream', q.errorStream],
    ['started at', q.startAt ?? 'the beginning of the inputs'],
    ['rows in', `${s.rowsInTotal} (${s.rowsInPerSecond.toFixed(0)}/s)`],
    ['rows out', `${s.rowsOutTotal} (${s.rowsOutPerSecond.toFixed(0)}/s)`],
    ['late rows', String(s.lateRows)],
    ['errors', String(s.errors)],
    ['watermark', s.watermark ?? '-'],
    ['lag', `${s.lagMs} ms`],
    ['last checkpoint', s.lastCheckpoint ? `#${s.lastCheckpoint.id} at ${s.lastCheckpoint.at} (${s.lastCheckpoint.bytes} bytes)` : '-'],
  ]) + `\n${q.sql.trim()}\n`;
}

function parseOutputs(spec: string | undefined): Record<string, string> | undefined {
  if (spec === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const [name, stream, extra] = pair.split('=');
    if (!name || !stream || extra !== undefined) throw new UsageError(`--output must look like SQL_STREAM=LOG_STREAM, got '${pair}'`, "run 'tollstream queries create --help' for usage");
    out[name] = stream;
  }
  return out;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, 'give the path of a SQL file, or - to read it from stdin');
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

function print(input: CommandInput, value: unknown): void {
  input.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export const referencePut: Command = {
  name: 'reference put',
  summary: "Copy a file into the server's reference directory, where continuous queries may join to it.",
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  description:
    "A query's file reference table ('path' = 'NAME') may only read files of the server's reference directory\n" +
    '(queries.referenceDir); this puts one there, replacing a file of that name whole. Running queries that read it\n' +
    'reload it at their next check.',
  options: { ...CLIENT_OPTIONS, name: { type: 'string', value: 'NAME', description: 'the name on the server (default: the file name)' } },
  examples: ['tollstream reference put plazas.csv', 'tollstream reference put ./data/p.csv --name plazas.csv --endpoint http://tolls.internal:4566'],
  async run(input) {
    const file = input.positionals[0]!;
    const body = await readUserFile(file);
    const stored = await NativeClient.fromInput(input).putReferenceFile(stringFlag(input.values, 'name') ?? path.basename(file), body);
    input.io.stdout.write(`stored ${stored.name} (${stored.bytes} bytes) in the reference directory; name it in SQL as 'path' = '${stored.name}'\n`);
  },
};

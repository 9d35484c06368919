/**
 * Warehouse commands: named reports, read-only SQL and station reference loading. They are clients of the
 * running server (the warehouse has one writer, the server), so they work against a remote server too.
 */
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApiError, NativeClient, type ReportSummary, type WarehouseAnswer } from '../client.ts';
import { CLIENT_OPTIONS, readUserFile, stringFlag, UsageError, type Command, type CommandInput, type Io } from '../command.ts';
import { table } from '../format.ts';

const FORMATS = ['table', 'csv', 'json'] as const;
type Format = (typeof FORMATS)[number];

const FORMAT_OPTION = {
  format: { type: 'string', value: 'F', description: 'table (default, with a freshness line), csv or json' },
} as const;

/** Report flags and the HTTP parameters they become. */
const REPORT_FLAGS = ['from', 'to', 'plaza', 'class', 'limit'] as const;

export const report: Command = {
  name: 'report',
  summary: 'Run a named report over the warehouse, or list the reports.',
  args: '[NAME]',
  positionals: { min: 0, max: 1 },
  description:
    'Times are ISO 8601 (2026-11-26T10:00:00Z) or a day (2026-11-26); --from is inclusive, --to exclusive, over event time\n' +
    '(default: the 24 hours before now). Money is in integer cents. Every answer says how fresh the warehouse is.',
  options: {
    list: { type: 'boolean', description: 'list the reports with their parameters' },
    from: { type: 'string', value: 'TIME', description: 'start of the event-time range (inclusive)' },
    to: { type: 'string', value: 'TIME', description: 'end of the event-time range (exclusive)' },
    plaza: { type: 'string', value: 'ID', description: 'only this plaza, e.g. P07' },
    class: { type: 'string', value: 'N', description: 'only this vehicle class, 1 to 5' },
    limit: { type: 'string', value: 'N', description: 'rows of top_customers, 1 to 10000 (default 10)' },
    ...FORMAT_OPTION,
    ...CLIENT_OPTIONS,
  },
  examples: [
    'tollstream report --list',
    'tollstream report revenue_by_plaza_hour --from 2026-11-26 --to 2026-11-27 --plaza P07',
    'tollstream report top_customers --limit 20 --format csv > top.csv',
  ],
  async run(input) {
    const format = formatFlag(input, 'report', FORMATS);
    const client = NativeClient.fromInput(input);
    const name = input.positionals[0];
    if (input.values.list) {
      if (name !== undefined) throw new UsageError(`--list takes no report name (got '${name}')`, "run 'tollstream report --help' for usage");
      return printReportList(input.io, (await client.listReports()).reports, format);
    }
    if (name === undefined) throw new UsageError('missing NAME: usage: tollstream report NAME [options]', "run 'tollstream report --list' for the reports");
    const params: Record<string, string> = {};
    for (const flag of REPORT_FLAGS) {
      const value = stringFlag(input.values, flag);
      if (value !== undefined) params[flag] = value;
    }
    const answer = await client.runReport(name, params);
    await print(input.io, answer.report, answer, format);
  },
};

export const sql: Command = {
  name: 'sql',
  summary: 'Run one read-only SQL statement (SELECT or EXPLAIN) on the warehouse.',
  args: 'SQL',
  positionals: { min: 1, max: 1 },
  description:
    "Statements that write are refused (WAREHOUSE_READ_ONLY). '-' reads the statement from stdin. Values go in --params\n" +
    'and are bound by name: $plaza in the SQL is {"plaza": ...}. Tables: toll_transactions, station_reference (docs/warehouse.md).\n' +
    'table and json hold at most warehouse.maxResultRows rows (WAREHOUSE_RESULT_TOO_LARGE past it); csv and ndjson stream\n' +
    'from the server as the rows come, any number of them.',
  options: {
    params: { type: 'string', value: 'JSON', description: 'named parameters as a JSON object, e.g. \'{"plaza":"P07"}\'' },
    format: { type: 'string', value: 'F', description: 'table (default, with a freshness line), json, or csv / ndjson (streamed: any number of rows)' },
    ...CLIENT_OPTIONS,
  },
  examples: [
    'tollstream sql "SELECT plaza_id, count(*) AS trips FROM toll_transactions GROUP BY ALL ORDER BY trips DESC"',
    'tollstream sql "SELECT sum(amount_cents) FROM toll_transactions WHERE plaza_id = $plaza" --params \'{"plaza":"P07"}\'',
    'tollstream sql - --format csv < query.sql',
    'tollstream sql "SELECT * FROM toll_transactions" --format ndjson > all.ndjson',
  ],
  async run(input) {
    const format = formatFlag(input, 'sql', SQL_FORMATS);
    const text = input.positionals[0] === '-' ? await readAll(input.io.stdin) : input.positionals[0]!;
    if (text.trim() === '') throw new UsageError('the SQL statement is empty', "run 'tollstream sql --help' for usage");
    const params = paramsFlag(input);
    const client = NativeClient.fromInput(input);
    if (format === 'csv' || format === 'ndjson') return copyStream(await client.queryStream(text, params, format), input.io);
    const answer = await client.query(text, params);
    await print(input.io, 'sql', answer, format);
  },
};

export const referenceLoad: Command = {
  name: 'reference load',
  summary: "Replace an app's reference data in the warehouse (the station reference by default) with a CSV or JSON file.",
  args: 'FILE',
  positionals: { min: 1, max: 1 },
  description:
    'The reference data --name names is declared by an app; the shipped one is stations (the station alerts\'):\n' +
    'CSV with the header plaza_id,day_of_week,slot,expected_count,alert_threshold, or a JSON array of such objects\n' +
    '(day_of_week 0 Sunday to 6 Saturday, UTC; slot 0-47, the 30-minute slot of the UTC day). The file replaces the\n' +
    'reference as a whole; a bad row is refused, naming it, and the previous reference stays. The station rows also go to\n' +
    'the stream station_reference, which the running station alerts follow: the change counts from the next window.',
  options: { ...CLIENT_OPTIONS, name: { type: 'string', value: 'NAME', description: 'the reference data to replace (default stations)' } },
  examples: ['tollstream reference load stations.csv', 'tollstream reference load stations.json --endpoint http://tolls.internal:4566', 'tollstream reference load lanes.csv --name lanes'],
  async run(input) {
    const file = input.positionals[0]!;
    const name = stringFlag(input.values, 'name') ?? 'stations';
    const ext = path.extname(file).toLowerCase();
    if (ext !== '.csv' && ext !== '.json') {
      throw new UsageError(`the reference file must end in .csv or .json: ${file}`, "run 'tollstream reference load --help' for the format");
    }
    const body = await readUserFile(file);
    const { rows } = await NativeClient.fromInput(input).replaceReference(name, body, ext === '.csv' ? 'text/csv' : 'application/json');
    input.io.stdout.write(`loaded ${rows} ${name === 'stations' ? 'station reference' : `'${name}' reference`} row${rows === 1 ? '' : 's'} from ${file}\n`);
  },
};

/** `tollstream sql` also takes `ndjson`, which the server streams. */
const SQL_FORMATS = [...FORMATS, 'ndjson'] as const;

function formatFlag<F extends string>(input: CommandInput, command: string, formats: readonly F[]): F {
  const value = stringFlag(input.values, 'format') ?? 'table';
  if (!(formats as readonly string[]).includes(value)) {
    throw new UsageError(`--format must be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1)}, got '${value}'`, `run 'tollstream ${command} --help' for usage`);
  }
  return value as F;
}

/** Copies a streamed answer to stdout as it comes, waiting while stdout is full; a cut-off answer is an error. */
async function copyStream(body: ReadableStream<Uint8Array>, io: Io): Promise<void> {
  try {
    for await (const chunk of body) {
      if (!io.stdout.write(chunk)) await once(io.stdout, 'drain');
    }
  } catch (err) {
    throw new ApiError(0, 'ANSWER_CUT_OFF', `the server cut the answer off before its end (${(err as Error).message}); the server log says why (often warehouse.queryTimeoutMs)`, undefined, err);
  }
}

function paramsFlag(input: CommandInput): Record<string, unknown> | undefined {
  const raw = stringFlag(input.values, 'params');
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--params must be a JSON object: ${(err as Error).message}`, `e.g. --params '{"plaza":"P07"}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('--params must be a JSON object', `e.g. --params '{"plaza":"P07"}'`);
  return value as Record<string, unknown>;
}

async function print(io: Io, name: string, answer: WarehouseAnswer, format: Format): Promise<void> {
  // Loaded here, not at start: the other commands do not pay for it.
  const { formatReport } = await import('../../reports/index.ts');
  io.stdout.write(formatReport({ report: name, columns: answer.columns, rows: answer.rows, freshnessSeconds: answer.freshnessSeconds }, format));
}

function printReportList(io: Io, reports: readonly ReportSummary[], format: Format): void {
  if (format === 'json') return void io.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  if (format === 'csv') {
    const field = (t: string) => (/[",\r\n]/.test(t) ? `"${t.replaceAll('"', '""')}"` : t);
    const lines = ['name,parameters,description', ...reports.map((r) => [r.name, r.parameters.join(' '), r.description].map(field).join(','))];
    return void io.stdout.write(lines.join('\r\n') + '\r\n');
  }
  io.stdout.write(table(['NAME', 'PARAMETERS', 'DESCRIPTION'], reports.map((r) => [r.name, r.parameters.join(', '), r.description])));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  return text;
}

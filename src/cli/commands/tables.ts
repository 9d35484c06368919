/**
 * `tollstream tables ...`: read what functions wrote (docs/functions.md, "Reading tables"): list the tables,
 * get an item, query one partition key by sort key prefix, scan a table. Items print as JSON lines.
 */
import type { QueryResult } from '../../tables/index.ts';
import { NativeClient } from '../client.ts';
import { CLIENT_OPTIONS, intFlag, stringFlag, type Command, type CommandInput } from '../command.ts';
import { table } from '../format.ts';

const PAGE_OPTIONS = {
  limit: { type: 'string', value: 'N', description: 'at most N items, 1 to 1000 (default 100)' },
  cursor: { type: 'string', value: 'CURSOR', description: 'continue after the page that printed this cursor' },
} as const;

export const tablesList: Command = {
  name: 'tables list',
  summary: 'List the tables.',
  positionals: { min: 0, max: 0 },
  options: { ...CLIENT_OPTIONS, json: { type: 'boolean', description: 'print JSON instead of a table' } },
  async run(input) {
    const { tables } = await NativeClient.fromInput(input).listTables();
    if (input.values.json) return void input.io.stdout.write(JSON.stringify(tables, null, 2) + '\n');
    input.io.stdout.write(table(['NAME', 'SORT KEY', 'CREATED'], tables.map((t) => [t.name, t.sortKey ? 'yes' : 'no', new Date(t.createdAt).toISOString()])));
  },
};

export const tablesGet: Command = {
  name: 'tables get',
  summary: 'Print one item as JSON (exit code 1 when there is none).',
  args: 'TABLE PK',
  positionals: { min: 2, max: 2 },
  options: { sk: { type: 'string', value: 'SK', description: 'the sort key (tables with one)' }, ...CLIENT_OPTIONS },
  examples: ['tollstream tables get balances C0000042'],
  async run(input) {
    const [name, pk] = input.positionals as [string, string];
    const item = await NativeClient.fromInput(input).getItem(name, pk, stringFlag(input.values, 'sk'));
    input.io.stdout.write(JSON.stringify(item) + '\n');
  },
};

export const tablesQuery: Command = {
  name: 'tables query',
  summary: 'Print the items of one partition key as JSON lines, optionally by sort key prefix.',
  args: 'TABLE PK',
  positionals: { min: 2, max: 2 },
  options: {
    prefix: { type: 'string', value: 'P', description: 'only sort keys that begin with P' },
    desc: { type: 'boolean', description: 'newest (highest sort key) first' },
    ...PAGE_OPTIONS,
    ...CLIENT_OPTIONS,
  },
  examples: ['tollstream tables query trips C0000042 --prefix 2026-12'],
  async run(input) {
    const [name, pk] = input.positionals as [string, string];
    const query: Record<string, string> = { pk, ...page(input) };
    const prefix = stringFlag(input.values, 'prefix');
    if (prefix !== undefined) query.prefix = prefix;
    if (input.values.desc) query.order = 'desc';
    printPage(input, await NativeClient.fromInput(input).queryTable(name, query));
  },
};

export const tablesScan: Command = {
  name: 'tables scan',
  summary: 'Print the items of a table in key order as JSON lines, one page at a time.',
  args: 'TABLE',
  positionals: { min: 1, max: 1 },
  options: { ...PAGE_OPTIONS, ...CLIENT_OPTIONS },
  examples: ['tollstream tables scan balances --limit 20'],
  async run(input) {
    printPage(input, await NativeClient.fromInput(input).scanTable(input.positionals[0]!, page(input)));
  },
};

function page(input: CommandInput): Record<string, string> {
  const out: Record<string, string> = {};
  const limit = intFlag(input.values, 'limit', { min: 1, max: 1000 });
  if (limit !== undefined) out.limit = String(limit);
  const cursor = stringFlag(input.values, 'cursor');
  if (cursor !== undefined) out.cursor = cursor;
  return out;
}

/** One item per line; the cursor of a next page goes to stderr, so stdout stays JSON lines. */
function printPage(input: CommandInput, result: QueryResult): void {
  for (const item of result.items) input.io.stdout.write(JSON.stringify(item) + '\n');
  if (result.cursor !== undefined) input.io.stderr.write(`more items: continue with --cursor ${result.cursor}\n`);
}

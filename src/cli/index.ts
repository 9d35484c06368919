/**
 * The `tollstream` command line: a table of commands, each parsed with node:util parseArgs. `runCli` is the
 * whole program minus the process (argv, streams, signals and exit are passed in), so tests can drive it too.
 */
import fs from 'node:fs';
import { isTollstreamError } from '../core/errors.ts';
import { ApiError } from './client.ts';
// The shipped apps' commands (the customers of ABC Tolls): the one list of them, as src/apps/index.ts is of the apps.
import { SHIPPED_COMMAND_GROUPS, SHIPPED_COMMANDS } from '../apps/commands.ts';
import { commandHelp, parseCommandArgs, UsageError, withLoadedOptions, type Command, type Io } from './command.ts';
import { functionsDelete, functionsDeploy, functionsDescribe, functionsList, functionsLogs, functionsPause, functionsResume, functionsUpdate } from './commands/functions.ts';
import { keysHash } from './commands/keys.ts';
import { put } from './commands/put.ts';
import { queriesCreate, queriesDescribe, queriesDrop, queriesExplain, queriesList, queriesResume, queriesStop, referencePut } from './commands/queries.ts';
import { query } from './commands/query.ts';
import { simulate } from './commands/simulate.ts';
import { streamsCreate, streamsDelete, streamsDescribe, streamsList } from './commands/streams.ts';
import { tablesGet, tablesList, tablesQuery, tablesScan } from './commands/tables.ts';
import { tail } from './commands/tail.ts';
import { up } from './commands/up.ts';
import { referenceLoad, report, sql } from './commands/warehouse.ts';

export { UsageError, type Command, type Io } from './command.ts';

export const COMMANDS: readonly Command[] = [up, streamsCreate, streamsList, streamsDescribe, streamsDelete, put, tail, simulate, query, queriesList, queriesCreate, queriesDescribe, queriesExplain, queriesStop, queriesResume, queriesDrop, report, sql, referenceLoad, referencePut, ...SHIPPED_COMMANDS, functionsDeploy, functionsUpdate, functionsList, functionsDescribe, functionsPause, functionsResume, functionsDelete, functionsLogs, tablesList, tablesGet, tablesQuery, tablesScan, keysHash];

const GROUPS: Readonly<Record<string, string>> = {
  streams: 'Manage streams on a running server.',
  reference: 'Reference data of the warehouse.',
  keys: 'API key helpers.',
  queries: 'Manage continuous SQL queries on a running server.',
  ...SHIPPED_COMMAND_GROUPS,
  functions: 'Deploy and manage functions on a running server.',
  tables: 'Read the tables functions write.',
};

export interface CliIo extends Omit<Io, 'signal'> {
  /**
   * Called once by commands that run until stopped; returns a signal that aborts on SIGINT/SIGTERM.
   * Other commands never call it, so Ctrl-C ends them the default way.
   */
  stopSignal(): AbortSignal;
}

/** Runs one command line; resolves to the process exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv, io);
  } catch (err) {
    reportError(err, io, debug);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined) {
    io.stderr.write(topHelp());
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(topHelp());
    return 0;
  }
  if (first === '--version' || first === '-v') {
    io.stdout.write(`tollstream ${version()}\n`);
    return 0;
  }
  const { command: chosen, rest } = findCommand(argv);
  if (chosen.runRaw) return chosen.runRaw(rest, { ...io, signal: new AbortController().signal });
  const command = await withLoadedOptions(chosen);
  const { values, positionals } = parseCommandArgs(command, rest);
  if (values.help) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  let signal: AbortSignal | undefined;
  const commandIo: Io = {
    stdout: io.stdout,
    stderr: io.stderr,
    stdin: io.stdin,
    env: io.env,
    get signal() {
      signal ??= command.stoppable ? io.stopSignal() : new AbortController().signal;
      return signal;
    },
  };
  if (command.stoppable) void commandIo.signal; // install the stop handlers before any work starts
  return (await command.run({ values, positionals, io: commandIo })) ?? 0;
}

function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } {
  const [first, second] = argv;
  const two = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, rest: argv.slice(1) };
  if (first !== undefined && GROUPS[first] !== undefined) {
    const subs = COMMANDS.filter((c) => c.name.startsWith(first + ' ')).map((c) => c.name);
    const what = second === undefined || second.startsWith('-') ? `'tollstream ${first}' needs a subcommand` : `unknown command '${first} ${second}'`;
    throw new UsageError(what, `one of: ${subs.map((s) => `tollstream ${s}`).join(', ')}`);
  }
  if (first?.startsWith('-')) throw new UsageError(`unknown option '${first}'`, "run 'tollstream --help' for the commands");
  const guess = COMMANDS.map((c) => c.name.split(' ')[0]!).find((n) => n.startsWith((first ?? '').slice(0, 3)));
  throw new UsageError(`unknown command '${first}'`, `${guess ? `did you mean 'tollstream ${guess}'? ` : ''}run 'tollstream --help' for the commands`);
}

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length + (c.args ? c.args.length + 1 : 0)));
  const rows = COMMANDS.map((c) => `  ${`${c.name}${c.args ? ' ' + c.args : ''}`.padEnd(width)}  ${c.summary}`);
  return [
    'usage: tollstream <command> [options]',
    '',
    'Tollstream: a durable sharded stream log with Kinesis-compatible, Firehose and native HTTP APIs.',
    '',
    'commands:',
    ...rows,
    '',
    "Run 'tollstream <command> --help' for a command's options.",
    `Groups: ${Object.entries(GROUPS)
      .map(([g, d]) => `${g} (${d.replace(/\.$/, '')})`)
      .join(', ')}.`,
    '',
  ].join('\n');
}

function reportError(err: unknown, io: CliIo, debug: boolean): void {
  if (err instanceof UsageError) {
    io.stderr.write(`error: ${err.message}\n  ${err.hint}\n`);
  } else if (isTollstreamError(err) || err instanceof ApiError) {
    io.stderr.write(`error: ${err.message} (${err.code})\n`);
  } else {
    io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  if (debug && err instanceof Error && err.cause instanceof Error && err.cause.stack) io.stderr.write(`caused by: ${err.cause.stack}\n`);
}

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

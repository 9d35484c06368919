/**
 * What a command is (a row of the command table), how its arguments are parsed and how its help reads.
 */
import { parseArgs } from 'node:util';
import fsPromises from 'node:fs/promises';
import { TollstreamError } from '../core/errors.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** The placeholder shown in help, e.g. `N` for `--shards N`. */
  readonly value?: string;
  readonly description: string;
}

/** The streams a command reads and writes; tests and `main.ts` pass the process's own. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts on SIGINT/SIGTERM; long-running commands stop cleanly when it fires. */
  readonly signal: AbortSignal;
}

export interface CommandInput {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly io: Io;
}

export interface Command {
  /** The words that select it: `up`, `streams create`. */
  readonly name: string;
  readonly summary: string;
  /** The positional part of the usage line, e.g. `NAME`, `STREAM [FILE]`. */
  readonly args?: string;
  readonly positionals: { readonly min: number; readonly max: number };
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly description?: string;
  readonly examples?: readonly string[];
  /**
   * True for commands that run until stopped (`up`, `tail`, `put`): SIGINT/SIGTERM abort `io.signal` and the
   * command winds down itself. Other commands keep the default, so Ctrl-C ends them at once.
   */
  readonly stoppable?: boolean;
  /**
   * Options known only once something is loaded (the flags of the shipped apps' settings on `up`): asked when the
   * command is chosen, before its arguments are parsed or its help printed, so other commands load none of it.
   * @default none
   */
  loadOptions?(): Promise<Readonly<Record<string, OptionSpec>>>;
  /** For a command that parses its own arguments and prints its own help: gets everything after its name. */
  runRaw?(argv: readonly string[], io: Io): Promise<number>;
  /** Resolves to the exit code (0 when it returns nothing). */
  run(input: CommandInput): Promise<number | void>;
}

/** A mistake in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  debug: { type: 'boolean', description: 'print stack traces of errors' },
};

export const CLIENT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  endpoint: { type: 'string', value: 'URL', description: 'the server (default $TOLLSTREAM_ENDPOINT or http://127.0.0.1:4566)' },
  'api-key': { type: 'string', value: 'KEY', description: 'native API key (default $TOLLSTREAM_API_KEY)' },
};

/** `command` with the options it loads (`loadOptions`) beside its own; an option declared twice is a mistake of the command's. */
export async function withLoadedOptions(command: Command): Promise<Command> {
  if (command.loadOptions === undefined) return command;
  const loaded = await command.loadOptions();
  const twice = Object.keys(loaded).find((name) => name in command.options || name in COMMON_OPTIONS);
  if (twice !== undefined) {
    throw new TollstreamError('INTERNAL', `the option --${twice} of 'tollstream ${command.name}' is declared twice`, { context: { command: command.name, option: twice } });
  }
  return { ...command, options: { ...command.options, ...loaded } };
}

export function parseCommandArgs(command: Command, argv: readonly string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const all = { ...command.options, ...COMMON_OPTIONS };
  const hint = `run 'tollstream ${command.name} --help' for usage`;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(all).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(cleanParseError(err as Error), hint);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { values, positionals: parsed.positionals };
  const { min, max } = command.positionals;
  if (parsed.positionals.length < min) {
    throw new UsageError(`missing ${command.args ?? 'arguments'}: usage: tollstream ${command.name} ${command.args ?? ''}`.trimEnd(), hint);
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, hint);
  }
  return { values, positionals: parsed.positionals };
}

/** Node's parseArgs messages carry advice about `--` that does not fit here; keep the first sentence. */
export function cleanParseError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const m = /^(Unknown option '[^']+')/.exec(err.message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) return m[1]!.replace('Unknown', 'unknown');
  return err.message.split('. ')[0]!.replace(/^Option/, 'option');
}

/** The help of a command: anything with a command's name, summary and options (`simulate` keeps its own table). */
export function commandHelp(command: Pick<Command, 'name' | 'args' | 'summary' | 'description' | 'options' | 'examples'>): string {
  const lines = [`usage: tollstream ${command.name}${command.args ? ' ' + command.args : ''} [options]`, '', command.summary];
  if (command.description) lines.push('', command.description);
  const all = { ...command.options, ...COMMON_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ' ' + o.value : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  lines.push('', 'options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  if (command.examples?.length) lines.push('', 'examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

/** Reads an integer flag, naming the flag when the value is not one. */
export function intFlag(values: CommandInput['values'], name: string, range: { min: number; max: number }): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${range.max}, got '${String(raw)}'`, `run with --help for usage`);
  }
  return n;
}

export function stringFlag(values: CommandInput['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A local file the user named, as text; a file that cannot be read is the user's to fix (UsageError). */
export async function readUserFile(file: string): Promise<string> {
  try {
    return await fsPromises.readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 'check the path');
  }
}


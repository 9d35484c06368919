/**
 * `tollstream functions ...`: deploy a handler module from the user's own folder onto a stream of a running
 * server, and list, describe, update, pause, resume, delete it and read its logs (docs/functions.md).
 * The handler is built here (TypeScript or JavaScript, with what it imports) into one module that is sent.
 */
import type { FunctionInfo, FunctionSettings } from '../../functions/index.ts';
import { NativeClient } from '../client.ts';
import { CLIENT_OPTIONS, intFlag, stringFlag, UsageError, type Command, type CommandInput, type OptionSpec } from '../command.ts';
import { keyValues, table, timestamp } from '../format.ts';

const JSON_OPTION = { json: { type: 'boolean', description: 'print JSON instead of text' } } as const;

/** Each setting's flag; the server checks the values (docs/functions.md lists ranges and defaults). */
const SETTING_FLAGS: Readonly<Record<string, { readonly key: keyof FunctionSettings; readonly spec: OptionSpec }>> = {
  'batch-size': { key: 'batchSize', spec: { type: 'string', value: 'N', description: 'records per invocation, 1 to 10000 (default 100)' } },
  'batching-window-ms': { key: 'batchingWindowMs', spec: { type: 'string', value: 'MS', description: 'gather records this long before invoking with fewer (default 0)' } },
  'starting-position': { key: 'startingPosition', spec: { type: 'string', value: 'POS', description: 'LATEST (default), TRIM_HORIZON, or an ISO time' } },
  'parallelization-factor': { key: 'parallelizationFactor', spec: { type: 'string', value: 'N', description: 'concurrent invocations per shard, 1 to 10 (default 1)' } },
  'maximum-retry-attempts': { key: 'maximumRetryAttempts', spec: { type: 'string', value: 'N', description: 'retries of a failing batch before it is given up; -1 forever (default)' } },
  'maximum-record-age-seconds': { key: 'maximumRecordAgeSeconds', spec: { type: 'string', value: 'S', description: 'give up on records older than this; -1 never (default)' } },
  'bisect-batch-on-function-error': { key: 'bisectBatchOnFunctionError', spec: { type: 'boolean', description: 'split a failing batch in two to isolate a bad record' } },
  'on-failure': { key: 'onFailure', spec: { type: 'string', value: 'STREAM', description: 'stream that receives the details of batches given up on' } },
  'retry-base-delay-ms': { key: 'retryBaseDelayMs', spec: { type: 'string', value: 'MS', description: 'first retry delay, doubling (default 100)' } },
  'retry-max-delay-ms': { key: 'retryMaxDelayMs', spec: { type: 'string', value: 'MS', description: 'longest retry delay (default 10000)' } },
  'timeout-seconds': { key: 'timeoutSeconds', spec: { type: 'string', value: 'S', description: 'an invocation running longer is stopped and fails, 1 to 900 (default 3)' } },
  'memory-mib': { key: 'memoryMiB', spec: { type: 'string', value: 'MIB', description: "the handler's memory limit (heap plus Buffers), 16 to 4096 (default 128)" } },
};

const SETTING_OPTIONS = Object.fromEntries(Object.entries(SETTING_FLAGS).map(([flag, { spec }]) => [flag, spec]));

function settingsFrom(values: CommandInput['values']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, { key }] of Object.entries(SETTING_FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    if (key === 'bisectBatchOnFunctionError') out[key] = raw === true;
    else if (key === 'onFailure') out[key] = { stream: raw };
    else if (key === 'startingPosition') out[key] = startingPosition(String(raw));
    else {
      if (!/^-?\d+$/.test(String(raw))) throw new UsageError(`--${flag} must be an integer, got '${String(raw)}'`, 'run with --help for usage');
      out[key] = Number(raw);
    }
  }
  return out;
}

function startingPosition(raw: string): FunctionSettings['startingPosition'] {
  if (raw === 'LATEST' || raw === 'TRIM_HORIZON') return raw;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`--starting-position must be LATEST, TRIM_HORIZON or an ISO time, got '${raw}'`, 'run with --help for usage');
  return { timestamp: t };
}

async function build(file: string): Promise<string> {
  const { bundleHandler } = await import('../../functions/index.ts');
  return bundleHandler(file);
}

export const functionsDeploy: Command = {
  name: 'functions deploy',
  summary: 'Deploy a handler module (TypeScript or JavaScript) onto a stream of the server.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    stream: { type: 'string', value: 'STREAM', description: 'the stream whose records the handler gets' },
    handler: { type: 'string', value: 'FILE', description: 'the handler module: exports `handler` (or a default function)' },
    ...SETTING_OPTIONS,
    ...CLIENT_OPTIONS,
    ...JSON_OPTION,
  },
  examples: ['tollstream functions deploy balance-alerts --stream toll_transactions --handler ./functions/balance.ts --batch-size 500 --starting-position TRIM_HORIZON'],
  async run(input) {
    const stream = stringFlag(input.values, 'stream');
    const handler = stringFlag(input.values, 'handler');
    if (stream === undefined || handler === undefined) throw new UsageError('functions deploy needs --stream STREAM and --handler FILE', "run 'tollstream functions deploy --help' for usage");
    const settings = settingsFrom(input.values);
    const info = await NativeClient.fromInput(input).deployFunction({ name: input.positionals[0]!, stream, code: await build(handler), settings });
    if (input.values.json) print(input, info);
    else input.io.stdout.write(`deployed function ${info.name} (version ${info.version})\n\n${describe(info)}`);
  },
};

export const functionsUpdate: Command = {
  name: 'functions update',
  summary: 'Deploy a new version (code, settings or both); it takes over at the checkpoint of the one running.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: {
    handler: { type: 'string', value: 'FILE', description: 'the new handler module (default: keep the code)' },
    reset: { type: 'string', value: 'SETTING', description: 'put settings back to their defaults (comma-separated, e.g. batchSize,timeoutSeconds)' },
    ...SETTING_OPTIONS,
    ...CLIENT_OPTIONS,
    ...JSON_OPTION,
  },
  examples: ['tollstream functions update balance-alerts --handler ./functions/balance.ts', 'tollstream functions update balance-alerts --batch-size 100 --reset timeoutSeconds'],
  async run(input) {
    const handler = stringFlag(input.values, 'handler');
    const settings: Record<string, unknown> = settingsFrom(input.values);
    for (const key of (stringFlag(input.values, 'reset') ?? '').split(',').filter((k) => k !== '')) settings[key.trim()] = null;
    if (handler === undefined && Object.keys(settings).length === 0) throw new UsageError('functions update needs --handler FILE or a setting to change', "run 'tollstream functions update --help' for usage");
    const info = await NativeClient.fromInput(input).updateFunction(input.positionals[0]!, {
      ...(handler === undefined ? {} : { code: await build(handler) }),
      ...(Object.keys(settings).length > 0 ? { settings } : {}),
    });
    if (input.values.json) print(input, info);
    else input.io.stdout.write(`updated function ${info.name} to version ${info.version}\n\n${describe(info)}`);
  },
};

export const functionsList: Command = {
  name: 'functions list',
  summary: 'List the deployed functions.',
  positionals: { min: 0, max: 0 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  async run(input) {
    const { functions } = await NativeClient.fromInput(input).listFunctions();
    if (input.values.json) return print(input, functions);
    if (functions.length === 0) return void input.io.stdout.write('no functions\n');
    const rows = functions.map((f) => [f.name, f.stream, f.state, String(f.version), String(f.stats?.recordsProcessed ?? '-'), String(f.stats?.errors ?? '-'), f.stats ? `${(f.stats.iteratorAgeMs / 1000).toFixed(1)}s` : '-']);
    input.io.stdout.write(table(['NAME', 'STREAM', 'STATE', 'VERSION', 'RECORDS', 'ERRORS', 'ITERATOR AGE'], rows));
  },
};

export const functionsDescribe: Command = {
  name: 'functions describe',
  summary: 'Show a function: state, version, settings, counters, iterator age and last failure.',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
  async run(input) {
    const info = await NativeClient.fromInput(input).describeFunction(input.positionals[0]!);
    if (input.values.json) print(input, info);
    else input.io.stdout.write(describe(info));
  },
};

function control(action: 'pause' | 'resume', summary: string): Command {
  return {
    name: `functions ${action}`,
    summary,
    args: 'NAME',
    positionals: { min: 1, max: 1 },
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    async run(input) {
      const info = await NativeClient.fromInput(input).controlFunction(input.positionals[0]!, action);
      if (input.values.json) print(input, info);
      else input.io.stdout.write(`function ${info.name} is ${info.state}\n`);
    },
  };
}

export const functionsPause = control('pause', 'Stop invoking a function after its batch in flight; it stays paused across restarts.');
export const functionsResume = control('resume', 'Resume a paused function from its checkpoint.');

export const functionsDelete: Command = {
  name: 'functions delete',
  summary: 'Stop a function and forget it and its checkpoints (what it wrote to tables stays).',
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { ...CLIENT_OPTIONS },
  async run(input) {
    await NativeClient.fromInput(input).deleteFunction(input.positionals[0]!);
    input.io.stdout.write(`deleted function ${input.positionals[0]}\n`);
  },
};

export const functionsLogs: Command = {
  name: 'functions logs',
  summary: "Print a function's recent log lines: what its handler logged or printed, and its failures.",
  args: 'NAME',
  positionals: { min: 1, max: 1 },
  options: { limit: { type: 'string', value: 'N', description: 'the last N lines, 1 to 1000 (default 100)' }, ...CLIENT_OPTIONS, ...JSON_OPTION },
  async run(input) {
    const limit = intFlag(input.values, 'limit', { min: 1, max: 1000 }) ?? 100;
    const { lines } = await NativeClient.fromInput(input).functionLogs(input.positionals[0]!, limit);
    if (input.values.json) return print(input, lines);
    for (const l of lines) {
      const fields = l.fields && Object.keys(l.fields).length > 0 ? ` ${JSON.stringify(l.fields)}` : '';
      input.io.stdout.write(`${l.time} ${l.level.toUpperCase().padEnd(5)} ${l.source.padEnd(7)} ${l.msg}${fields}\n`);
    }
  },
};

function describe(f: FunctionInfo): string {
  const pairs: [string, string][] = [
    ['name', f.name],
    ['stream', f.stream],
    ['state', f.state],
    ['version', `${f.version} (sha256 ${f.codeSha256.slice(0, 12)}, from ${f.source})`],
    ['settings', Object.keys(f.settings).length === 0 ? 'defaults' : JSON.stringify(f.settings)],
    ['updated', timestamp(Date.parse(f.updatedAt))],
  ];
  if (f.stats) {
    pairs.push(['records', `${f.stats.recordsProcessed} processed, ${f.stats.recordsSkippedAsDone} skipped as done, ${f.stats.recordsSentToOnFailure} given up`]);
    pairs.push(['invocations', `${f.stats.invocations} (${f.stats.errors} errors, ${f.stats.retries} retries)`]);
    pairs.push(['iterator age', `${(f.stats.iteratorAgeMs / 1000).toFixed(1)}s`]);
  }
  pairs.push(['workers', String(f.workers)]);
  if (f.lastFailure) pairs.push(['last failure', `${timestamp(Date.parse(f.lastFailure.at))} ${f.lastFailure.code ? `${f.lastFailure.code}: ` : ''}${f.lastFailure.message}`]);
  if (f.startError) pairs.push(['start error', f.startError]);
  return keyValues(pairs);
}

function print(input: CommandInput, value: unknown): void {
  input.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

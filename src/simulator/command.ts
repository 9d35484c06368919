/**
 * `tollstream simulate`: realistic ABC Tolls traffic to the Kinesis API, the native API or NDJSON files.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMON_OPTIONS, commandHelp } from '../cli/command.ts';
import { populationFor, TrafficGenerator, type PlantedDrop, type PlantedSpend } from './generator.ts';
import { runSimulation, type SimulationStats } from './run.ts';
import { SIMULATE_DESCRIPTION, SIMULATE_EXAMPLES, SIMULATE_OPTIONS, SIMULATE_SUMMARY } from './options.ts';
import { fileSink, kinesisSink, nativeSink, type Sink } from './sinks.ts';

/** `tollstream simulate --help`, in the layout of every other command's help. */
export const SIMULATE_HELP = commandHelp({ name: 'simulate', summary: SIMULATE_SUMMARY, description: SIMULATE_DESCRIPTION, options: SIMULATE_OPTIONS, examples: SIMULATE_EXAMPLES });

/** The options for node:util parseArgs: the command's own table and the options every command takes. */
const PARSE_OPTIONS = Object.fromEntries(
  Object.entries({ ...SIMULATE_OPTIONS, ...COMMON_OPTIONS }).map(([name, o]) => [
    name,
    { type: o.type, ...(o.short ? { short: o.short } : {}), ...('multiple' in o && o.multiple ? { multiple: true } : {}), ...('default' in o && o.default !== undefined ? { default: o.default } : {}) },
  ]),
) as ParseArgsConfig['options'];

/** What the command line around the simulator supplies: its own way to check and to explain a server. */
export interface SimulateCommandHooks {
  /** Checks the server at `endpoint` answers before any traffic is generated; throws an error fit to show. */
  readonly preflight?: (endpoint: string) => Promise<void>;
  /** Turns a failure of the traffic (e.g. the server went away) into an error fit to show. */
  readonly explain?: (err: unknown, endpoint: string) => unknown;
}

interface SimulateValues {
  readonly to: string;
  readonly endpoint?: string;
  readonly stream: string;
  readonly out: string;
  readonly 'api-key'?: string;
  readonly rate?: string;
  readonly fast: boolean;
  readonly start?: string;
  readonly count?: string;
  readonly duration?: string;
  readonly batch: string;
  readonly concurrency: string;
  readonly seed: string;
  readonly customers?: string;
  readonly plazas: string;
  readonly 'out-of-order': string;
  readonly late: string;
  readonly duplicates: string;
  readonly drop: string[];
  readonly plant: string[];
  readonly help?: boolean;
  readonly debug?: boolean;
}

export async function runSimulateCommand(argv: readonly string[], hooks: SimulateCommandHooks = {}): Promise<number> {
  // --debug is read by the command line around this (it prints stack traces); it is parsed here only to be accepted.
  const values = parseArgs({ args: [...argv], strict: true, options: PARSE_OPTIONS }).values as SimulateValues;
  if (values.help) {
    process.stdout.write(SIMULATE_HELP);
    return 0;
  }
  if (values.fast && values.rate !== undefined) throw new UsageError('--rate and --fast contradict each other: pick one');
  const rate = values.fast ? undefined : number('--rate', values.rate ?? '1000', { min: 1 });
  const start = values.start !== undefined ? time('--start', values.start) : Date.now();
  if (!values.fast && values.start !== undefined) throw new UsageError('--start needs --fast (paced traffic follows the wall clock)');
  const count = values.count !== undefined ? number('--count', values.count, { min: 1, integer: true }) : undefined;
  let durationMs = values.duration !== undefined ? number('--duration', values.duration, { min: 0.001 }) * 1000 : undefined;
  if (values.fast && count === undefined && durationMs === undefined) durationMs = 10_000;

  const generator = new TrafficGenerator({
    seed: number('--seed', values.seed, { integer: true }),
    customers: values.customers !== undefined ? number('--customers', values.customers, { min: 1, integer: true }) : populationFor(rate ?? 1000),
    plazas: number('--plazas', values.plazas, { min: 1, integer: true }),
    startTime: start,
    eventsPerSecond: rate ?? 1000,
    dailyProfile: values.fast,
    outOfOrderShare: number('--out-of-order', values['out-of-order'], { min: 0, max: 1 }),
    lateShare: number('--late', values.late, { min: 0, max: 1 }),
    duplicateShare: number('--duplicates', values.duplicates, { min: 0, max: 1 }),
    drops: values.drop.map(parseDrop),
    plantedSpends: values.plant.map(parsePlant),
  });

  const endpoint = values.endpoint ?? process.env.TOLLSTREAM_ENDPOINT ?? 'http://127.0.0.1:4566';
  let sink: Sink;
  switch (values.to) {
    case 'kinesis':
      sink = kinesisSink({ endpoint, stream: values.stream });
      break;
    case 'native':
      sink = nativeSink({ endpoint, stream: values.stream, apiKey: values['api-key'] ?? process.env.TOLLSTREAM_API_KEY });
      break;
    case 'file':
      sink = fileSink(values.out);
      break;
    default:
      throw new UsageError(`--to must be kinesis, native or file, got '${values.to}'`);
  }

  if (values.to !== 'file') await hooks.preflight?.(endpoint);

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  const tty = process.stderr.isTTY;
  let last: SimulationStats | undefined;
  const summary = (s: SimulationStats) => runSummary(s, rate);
  try {
    const stats = await runSimulation({
      generator,
      sink,
      rate,
      count,
      durationMs,
      batchSize: number('--batch', values.batch, { min: 1, max: 500, integer: true }),
      concurrency: number('--concurrency', values.concurrency, { min: 1, max: 64, integer: true }),
      signal: controller.signal,
      onProgress: (s) => {
        last = { ...s };
        if (tty) process.stderr.write(`\r${s.accepted} accepted, ${Math.round((s.accepted * 1000) / s.elapsedMs)} records/s   `);
      },
    }).catch((err: unknown) => {
      // The server stopped (or refused) mid-run: say how far the traffic got before the error.
      if (tty) process.stderr.write('\n');
      if (last) process.stderr.write(`stopped: ${summary(last)}`);
      throw hooks.explain?.(err, endpoint) ?? err;
    });
    if (tty) process.stderr.write('\n');
    process.stderr.write(summary(stats));
    return stats.failed > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    await sink.close();
  }
}

/**
 * The line that ends a run. With a rate asked (`--rate`) and fewer than nine tenths of it accepted, it says so:
 * the traffic was then lighter than the run was meant to be, and the event times sparser.
 */
export function runSummary(s: SimulationStats, askedPerSecond: number | undefined): string {
  const perSecond = s.elapsedMs > 0 ? Math.round((s.accepted * 1000) / s.elapsedMs) : s.accepted;
  const short = askedPerSecond !== undefined && perSecond < askedPerSecond * 0.9 ? ` (asked for ${askedPerSecond}: the server or this machine could not keep up)` : '';
  return `sent ${s.sent} records (${s.duplicatesSent} retries) in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.accepted} accepted, ${s.failed} failed, ${perSecond} records/s${short}\n`;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function number(flag: string, raw: string, limits: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (limits.integer && !Number.isInteger(n)) || (limits.min !== undefined && n < limits.min) || (limits.max !== undefined && n > limits.max)) {
    const range = [limits.min !== undefined ? `>= ${limits.min}` : '', limits.max !== undefined ? `<= ${limits.max}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`${flag} must be ${limits.integer ? 'an integer' : 'a number'}${range ? ' ' + range : ''}, got '${raw}'`);
  }
  return n;
}

function time(flag: string, raw: string): number {
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UsageError(`${flag} must be an ISO 8601 time, got '${raw}'`);
  return t;
}

function parseDrop(spec: string): PlantedDrop {
  const m = /^([^@]+)@([^/]+)\/([^*]+)(?:\*([\d.]+))?$/.exec(spec);
  if (!m) throw new UsageError(`--drop must look like P07@2026-11-26T14:00:00Z/2026-11-26T14:30:00Z*0.2, got '${spec}'`);
  return { plazaId: m[1]!, from: time('--drop', m[2]!), to: time('--drop', m[3]!), factor: m[4] === undefined ? 0 : number('--drop factor', m[4], { min: 0, max: 1 }) };
}

function parsePlant(spec: string): PlantedSpend {
  const m = /^([^@]+)@([^=]+)=(\d+)$/.exec(spec);
  if (!m) throw new UsageError(`--plant must look like C0000042@2026-11-26T14:00:00Z=25000, got '${spec}'`);
  return { customerId: m[1]!, at: time('--plant', m[2]!), amountCents: Number(m[3]) };
}

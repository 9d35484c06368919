/**
 * What `tollstream simulate` takes: its options, their defaults and their help, in the table format of the other
 * commands (src/cli/command.ts). Kept apart from the command itself so that the command line can show the help
 * without loading the AWS SDK the sinks need.
 */
import type { OptionSpec } from '../cli/command.ts';

export interface SimulateOptionSpec extends OptionSpec {
  readonly default?: string | boolean | readonly string[];
  readonly multiple?: boolean;
}

export const SIMULATE_SUMMARY = 'Send realistic toll traffic to the Kinesis API, the native API or an NDJSON file.';

export const SIMULATE_DESCRIPTION = `Customers with their vehicles cross plazas along roads, each a few times a month to twice every workday,
paying the toll of their vehicle class, with daily peaks and a share of out-of-order, late and retried records.
The rate comes from many customers, not from a few crossing constantly: without --customers the population is
as large as the rate needs for each customer's month to look like a real bill (see docs/cli.md).`;

export const SIMULATE_EXAMPLES: readonly string[] = [
  'tollstream simulate --rate 2000 --duration 30',
  'tollstream simulate --to file --fast --count 100000 > tolls.ndjson',
  'tollstream simulate --plant C0000042@2026-11-26T14:00:00Z=25000   # push one customer past a threshold',
];

export const SIMULATE_OPTIONS: Readonly<Record<string, SimulateOptionSpec>> = {
  to: { type: 'string', value: 'kinesis|native|file', default: 'kinesis', description: 'the Kinesis API through the AWS SDK (default), the native NDJSON API, or a file' },
  endpoint: { type: 'string', value: 'URL', description: 'the server (default $TOLLSTREAM_ENDPOINT or http://127.0.0.1:4566)' },
  stream: { type: 'string', value: 'NAME', default: 'toll_transactions', description: 'stream to write to (default toll_transactions)' },
  out: { type: 'string', value: 'FILE', default: '-', description: "with --to file: the NDJSON file, '-' for stdout (default -)" },
  'api-key': { type: 'string', value: 'KEY', description: 'native API key (default $TOLLSTREAM_API_KEY)' },
  rate: { type: 'string', value: 'N', description: 'records per second, event time following the wall clock (default 1000)' },
  fast: { type: 'boolean', default: false, description: 'as fast as the receiver accepts; event time runs on a simulated clock' },
  start: { type: 'string', value: 'TIME', description: 'with --fast: event time of the first record (ISO 8601, default now)' },
  count: { type: 'string', value: 'N', description: 'stop after N records' },
  duration: { type: 'string', value: 'SECONDS', description: 'stop after this long (default: until Ctrl-C, or 10 s with --fast and no --count)' },
  batch: { type: 'string', value: 'N', default: '500', description: 'records per request (default 500)' },
  concurrency: { type: 'string', value: 'N', default: '4', description: 'requests in flight (default 4)' },
  seed: { type: 'string', value: 'N', default: '1', description: 'repeatable traffic for a seed (default 1)' },
  customers: { type: 'string', value: 'N', description: 'customers of the simulated world (default: enough for the rate, see above)' },
  plazas: { type: 'string', value: 'N', default: '20', description: 'toll plazas (default 20)' },
  'out-of-order': { type: 'string', value: 'SHARE', default: '0.02', description: 'share of records up to 20 s out of order (default 0.02)' },
  late: { type: 'string', value: 'SHARE', default: '0.001', description: 'share of records 5-60 minutes late (default 0.001)' },
  duplicates: { type: 'string', value: 'SHARE', default: '0.005', description: 'share of records sent twice, as a producer retry (default 0.005)' },
  drop: { type: 'string', value: 'PLAZA@FROM/TO[*F]', multiple: true, default: [], description: "plant a traffic drop: only share F (default 0, an outage) of PLAZA's traffic between FROM and TO (ISO 8601); repeatable" },
  plant: { type: 'string', value: 'CUSTOMER@TIME=CENTS', multiple: true, default: [], description: 'plant extra spend for a customer at a time, e.g. to pass a threshold at once; repeatable' },
};

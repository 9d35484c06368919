import { isNetworkError, NativeClient, unreachable } from '../client.ts';
import { UsageError, type Command } from '../command.ts';

/** The simulator parses its own flags and prints its own help; this row only routes to it. */
export const simulate: Command = {
  name: 'simulate',
  summary: 'Send realistic toll traffic to the Kinesis API, the native API or an NDJSON file.',
  positionals: { min: 0, max: 0 },
  options: {},
  async runRaw(argv) {
    const { runSimulateCommand } = await import('../../simulator/index.ts');
    try {
      return await runSimulateCommand(argv, {
        // The same "cannot reach tollstream" error as every other command, before any traffic is generated.
        preflight: (endpoint) => new NativeClient(endpoint, undefined).reachable(),
        explain: (err, endpoint) => (isNetworkError(err) ? unreachable(endpoint, err) : err),
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((err as Error).name === 'UsageError' || code?.startsWith('ERR_PARSE_ARGS')) {
        throw new UsageError((err as Error).message.split('. ')[0]!, "run 'tollstream simulate --help' for usage");
      }
      throw err;
    }
  },
  async run() {
    throw new Error('simulate runs through runRaw');
  },
};

import { isNetworkError, NativeClient, unreachable } from '../client.ts';
import { cleanParseError, UsageError, type Command } from '../command.ts';
import { SIMULATE_DESCRIPTION, SIMULATE_EXAMPLES, SIMULATE_OPTIONS, SIMULATE_SUMMARY } from '../../simulator/options.ts';

/**
 * The simulator parses its own flags (some repeat, some have defaults) from its own option table, which this
 * and its help (in the shared layout) share with this row; --help and --debug are those of every command.
 */
export const simulate: Command = {
  name: 'simulate',
  summary: SIMULATE_SUMMARY,
  description: SIMULATE_DESCRIPTION,
  examples: SIMULATE_EXAMPLES,
  positionals: { min: 0, max: 0 },
  options: SIMULATE_OPTIONS,
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
      if (code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(cleanParseError(err as Error), "run 'tollstream simulate --help' for usage");
      if ((err as Error).name === 'UsageError') {
        throw new UsageError((err as Error).message, "run 'tollstream simulate --help' for usage");
      }
      throw err;
    }
  },
  async run() {
    throw new Error('simulate runs through runRaw');
  },
};

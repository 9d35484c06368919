import type { Command } from '../command.ts';

/** `tollstream query` runs SQL over NDJSON files in this process; the SQL engine parses its own flags and prints its own help. */
export const query: Command = {
  name: 'query',
  summary: 'Run streaming SQL over NDJSON files and print the output rows (test SQL before deploying it).',
  positionals: { min: 0, max: 0 },
  options: {},
  async runRaw(argv, io) {
    const { runQueryCommand } = await import('../../sql/index.ts');
    return runQueryCommand(argv, { out: (text) => io.stdout.write(text), err: (text) => io.stderr.write(text) });
  },
  async run() {
    throw new Error('query runs through runRaw');
  },
};

/**
 * The `tollstream` commands of the shipped apps, for the command line (`src/cli/index.ts`) to list with its own.
 * Apart from `index.ts` so that a client command loads only the apps' command modules, not the apps themselves.
 */
import type { Command } from '../cli/kit.ts';
import { CUSTOMER_COMMANDS } from './abc-tolls/cli.ts';

export const SHIPPED_COMMANDS: readonly Command[] = [...CUSTOMER_COMMANDS];

/** The help line of each group of the apps' commands (`tollstream customers --help`). */
export const SHIPPED_COMMAND_GROUPS: Readonly<Record<string, string>> = {
  customers: 'Manage the customers of the customer app on a running server.',
};

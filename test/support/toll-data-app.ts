/**
 * An app that only declares the toll data, as the shipped apps do, for tests of the platform that deliver tolls
 * without running the shipped apps: the stream `toll_transactions` (created at start) and its warehouse table.
 */
import type { App } from '../../src/app-contract/index.ts';
import { TOLL_TRANSACTIONS, tollTransactionsStream } from '../../src/simulator/index.ts';

export const tollDataApp: App = {
  name: 'toll-data',
  enabled: () => true,
  streams: (config) => [tollTransactionsStream(config.delivery.stream)],
  warehouseTables: [TOLL_TRANSACTIONS],
  prepare: () => ({ start: async () => ({ routes: [] }) }),
};

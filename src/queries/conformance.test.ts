import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeQueryStoreConformance } from './conformance.ts';
import { QueryStore } from './store.ts';

describeQueryStoreConformance('files', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'query-store-'));
  return {
    open: async ({ checkpointFullEvery }) => new QueryStore(dir, undefined, { checkpointFullEvery }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

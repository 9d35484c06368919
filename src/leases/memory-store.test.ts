import { describeLeaseStoreConformance } from './conformance.ts';
import { memoryLeaseStore } from './memory-store.ts';

describeLeaseStoreConformance('in-memory', async () => {
  const store = memoryLeaseStore();
  // Every owner of one node shares the one table; closing an owner's view closes nothing.
  return { open: async () => ({ ...store, close: async () => undefined }), cleanup: async () => undefined };
});

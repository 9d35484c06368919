import { describe, expect, it } from 'vitest';
import { describeLeaseStoreConformance, WorkLog } from './conformance.ts';
import { memoryLeaseStore } from './memory-store.ts';

describeLeaseStoreConformance('in-memory', async () => {
  const store = memoryLeaseStore();
  // Every owner of one node shares the one table; closing an owner's view closes nothing.
  return { open: async () => ({ ...store, close: async () => undefined }), cleanup: async () => undefined };
});

describe('the work log of the conformance suite', () => {
  it('flags a lease worked on by two owners at once, and not one handed from owner to owner', () => {
    const work = new WorkLog();
    work.start('a', 'k1');
    work.stop('a', 'k1', 'handed-over');
    work.start('b', 'k1');
    expect(work.overlaps).toEqual([]);
    work.start('c', 'k1');
    expect(work.overlaps).toEqual(['c started k1 while b worked on it']);
  });
});

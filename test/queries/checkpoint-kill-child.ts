/**
 * A process the checkpoint kill test kills: it resumes the checkpoint chain of query `spend` under DIR and
 * saves checkpoints after it without pause (deltas, a full one every 3), printing `saved <id>` once each is durable.
 * `node bin/run-ts.mjs test/queries/checkpoint-kill-child.ts DIR`
 */
import { QueryStore } from '../../src/queries/store.ts';
import { checkpointAt } from './checkpoint-kill-data.ts';

// A full checkpoint every 3, so kills also land while one is written.
const store = new QueryStore(process.argv[2]!, undefined, { checkpointFullEvery: 3 });
const restored = await store.loadCheckpoint('spend');
process.stdout.write(`restored ${restored?.id ?? 0}\n`);
for (let id = (restored?.id ?? 0) + 1; ; id++) {
  await store.saveCheckpoint('spend', checkpointAt(id));
  process.stdout.write(`saved ${id}\n`);
}
